/**
 * MJPEG movie files: a sequence of baseline JPEG frames, in one of two layouts.
 *
 * Lab format (the classic `movie.Mjpeg` of the RTSP/RTP lab): every frame is preceded by its
 * length in bytes as exactly 5 ASCII decimal digits, so a frame is at most 99999 bytes.
 *
 *   "01234" <1234 bytes of JPEG> "00987" <987 bytes of JPEG> ...
 *
 * Concatenated format (`ffmpeg -f mjpeg`): complete JPEG files back to back,
 *
 *   FF D8 ... FF D9 FF D8 ... FF D9 ...
 *
 * split by walking each file's marker segments (T.81 Annex B) to its EOI. Inside the
 * entropy-coded data after SOS an FF byte is always followed by 00 (stuffing) or a restart
 * marker, so the first other marker there ends the scan.
 *
 * Every frame must be one RTP/JPEG (RFC 2435) can carry, checked by parseJpeg, and all frames
 * of a movie must have the same size (a catalogue entry has one). A file that fails is refused
 * with a MovieError that names the file and the frame and says how to convert it.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { parseJpeg, type JpegImage, type JpegRejection } from './jpeg.ts';
import { EOI, isRst, markerHex, SOI, SOS, TEM } from './jpeg-markers.ts';

/** Largest movie file we read into memory (256 MiB); frames are kept in memory, twice once packetized. */
export const MAX_MOVIE_FILE_BYTES = 256 * 1024 * 1024;
/** Most frames in one movie: over an hour at 25 fps. */
export const MAX_MOVIE_FRAMES = 100_000;
/** Lab format: digits of the length prefix. */
export const LAB_LENGTH_DIGITS = 5;
/** Lab format: the largest frame a 5-digit prefix can describe. */
export const LAB_MAX_FRAME_BYTES = 10 ** LAB_LENGTH_DIGITS - 1;

export type MovieFileFormat = 'lab' | 'concatenated';

export interface MovieFrame {
  /** The complete JPEG file of this frame (a view into the movie file). */
  readonly jpeg: Buffer;
  /** What RTP/JPEG sends of it. */
  readonly image: JpegImage;
}

export interface LoadedFrames {
  /** As given to splitMovie (the file name, for readMovieFile). */
  readonly name: string;
  readonly format: MovieFileFormat;
  /** Pixels, the same for every frame. */
  readonly width: number;
  readonly height: number;
  /** At least one. */
  readonly frames: readonly MovieFrame[];
}

export type MovieRejection =
  | JpegRejection
  | 'empty'
  | 'unknown-format'
  | 'oversize'
  | 'too-many-frames'
  | 'mixed-sizes';

export type MovieSplitResult =
  | { readonly ok: true; readonly value: LoadedFrames }
  | {
      readonly ok: false;
      readonly reason: MovieRejection;
      /** 0-based index of the offending frame; null when the problem is the file as a whole. */
      readonly frame: number | null;
      readonly detail: string;
    };

type Refusal = Extract<MovieSplitResult, { ok: false }>;

/** A movie file that cannot be streamed, phrased for whoever put it there: file, frame, problem, fix. */
export class MovieError extends Error {
  override readonly name = 'MovieError';
  constructor(
    readonly file: string,
    /** 0-based frame index, or null for the file as a whole. */
    readonly frame: number | null,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${file}: ${frame === null ? '' : `frame ${frame + 1}: `}${problem}. Fix: ${fix}`);
  }
}

/**
 * The ffmpeg command that turns any video into a movie this project streams: sizes rounded
 * down to multiples of 16 (whole 4:2:0 MCUs), 4:2:0 sampling, baseline with the standard
 * Huffman tables, one JPEG per frame back to back.
 */
export function ffmpegFixCommand(input: string, output: string): string {
  return (
    `ffmpeg -i ${shellQuote(input)} -vf "scale=trunc(iw/16)*16:trunc(ih/16)*16,format=yuvj420p" ` +
    `-q:v 3 -huffman default -f mjpeg ${shellQuote(output)}`
  );
}

/** Quotes for a POSIX shell only when needed, so ordinary paths read as typed. */
function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Where the converted copy of `file` goes in the suggested command: next to it, "-rtp" added. */
export function convertedName(file: string): string {
  return join(dirname(file), `${basename(file, extname(file))}-rtp.mjpeg`);
}

/**
 * Splits a movie file's bytes into checked frames. Never throws.
 * @param name names the movie in the result (the file name, usually)
 */
export function splitMovie(buf: Buffer, name: string): MovieSplitResult {
  if (buf.length === 0) return refuse('empty', null, 'the file is empty');
  if (buf.length > MAX_MOVIE_FILE_BYTES) {
    return refuse(
      'oversize',
      null,
      `it is ${buf.length} bytes, more than the ${MAX_MOVIE_FILE_BYTES} a movie may have`,
    );
  }
  let format: MovieFileFormat;
  let split: Split;
  if (isDigit(buf[0])) {
    format = 'lab';
    split = splitLab(buf);
  } else if (buf[0] === 0xff && buf[1] === SOI) {
    format = 'concatenated';
    split = splitConcatenated(buf);
  } else {
    return refuse(
      'unknown-format',
      null,
      'not an MJPEG movie (it starts neither with a 5-digit frame length nor with a JPEG start-of-image marker)',
    );
  }
  if (!split.ok) return split;

  const frames: MovieFrame[] = [];
  for (const [i, jpeg] of split.jpegs.entries()) {
    const parsed = parseJpeg(jpeg);
    if (!parsed.ok) return refuse(parsed.reason, i, parsed.detail);
    const first = frames[0]?.image ?? parsed.value;
    if (parsed.value.width !== first.width || parsed.value.height !== first.height) {
      return refuse(
        'mixed-sizes',
        i,
        `it is ${parsed.value.width}x${parsed.value.height} pixels but frame 1 is ${first.width}x${first.height}; ` +
          'all frames of a movie must have one size',
      );
    }
    frames.push({ jpeg, image: parsed.value });
  }
  const first = frames[0];
  if (first === undefined) return refuse('empty', null, 'the file holds no frames');
  return { ok: true, value: { name, format, width: first.image.width, height: first.image.height, frames } };
}

/**
 * Lays complete JPEG files out as a movie file in `format`; splitMovie reads it back.
 * @throws RangeError for no frames, or a frame larger than LAB_MAX_FRAME_BYTES in the lab format.
 */
export function encodeMovie(jpegs: readonly Buffer[], format: MovieFileFormat): Buffer {
  if (jpegs.length === 0) throw new RangeError('a movie needs at least one frame');
  if (format === 'concatenated') return Buffer.concat(jpegs);
  const parts: Buffer[] = [];
  for (const [i, jpeg] of jpegs.entries()) {
    if (jpeg.length === 0 || jpeg.length > LAB_MAX_FRAME_BYTES) {
      throw new RangeError(`frame ${i + 1} is ${jpeg.length} bytes; the lab format holds 1..${LAB_MAX_FRAME_BYTES}`);
    }
    parts.push(Buffer.from(String(jpeg.length).padStart(LAB_LENGTH_DIGITS, '0'), 'ascii'), jpeg);
  }
  return Buffer.concat(parts);
}

function refuse(reason: MovieRejection, frame: number | null, detail: string): Refusal {
  return { ok: false, reason, frame, detail };
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x30 && byte <= 0x39;
}

type Split = { readonly ok: true; readonly jpegs: Buffer[] } | Refusal;
/** Where the frame starting at some byte ends (its JPEG is [start, end)), or why it cannot be read. */
type FrameCut = { readonly ok: true; readonly start: number; readonly end: number } | Refusal;

/** Cuts a movie into frames from the first byte to the last, `cut` reading each frame's extent. */
function splitFrames(buf: Buffer, cut: (pos: number, frame: number) => FrameCut): Split {
  const jpegs: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const frame = jpegs.length;
    if (frame >= MAX_MOVIE_FRAMES)
      return refuse('too-many-frames', null, `it has more than ${MAX_MOVIE_FRAMES} frames`);
    const c = cut(pos, frame);
    if (!c.ok) return c;
    jpegs.push(buf.subarray(c.start, c.end));
    pos = c.end;
  }
  return { ok: true, jpegs };
}

/** Each frame: its length in LAB_LENGTH_DIGITS ASCII digits, then that many bytes of JPEG. */
function splitLab(buf: Buffer): Split {
  return splitFrames(buf, (pos, frame) => {
    if (buf.length < pos + LAB_LENGTH_DIGITS) {
      return refuse(
        'truncated',
        frame,
        `the file ends inside the frame's ${LAB_LENGTH_DIGITS}-digit length (byte ${pos})`,
      );
    }
    let length = 0;
    for (let i = 0; i < LAB_LENGTH_DIGITS; i++) {
      const byte = buf[pos + i];
      if (!isDigit(byte)) {
        return refuse('malformed', frame, `expected a ${LAB_LENGTH_DIGITS}-digit frame length at byte ${pos}`);
      }
      length = length * 10 + ((byte ?? 0x30) - 0x30);
    }
    const start = pos + LAB_LENGTH_DIGITS;
    if (length === 0) return refuse('malformed', frame, `the frame length at byte ${pos} is 0`);
    if (buf.length < start + length) {
      return refuse('truncated', frame, `the file ends after ${buf.length - start} of the frame's ${length} bytes`);
    }
    return { ok: true, start, end: start + length };
  });
}

/** JPEG files back to back: each frame runs from its SOI to the end of its EOI. */
function splitConcatenated(buf: Buffer): Split {
  return splitFrames(buf, (pos, frame) => {
    if (buf[pos] !== 0xff || buf[pos + 1] !== SOI) {
      return refuse('malformed', frame, `expected the frame's JPEG start-of-image marker (FF D8) at byte ${pos}`);
    }
    const end = findEoi(buf, pos + 2);
    if (!end.ok) return refuse(end.reason, frame, end.detail);
    return { ok: true, start: pos, end: end.next };
  });
}

type EoiSearch =
  | { readonly ok: true; readonly next: number }
  | { readonly ok: false; readonly reason: 'truncated' | 'malformed'; readonly detail: string };

/** Walks the segments of the JPEG whose SOI ends just before `pos`; `next` = the byte after its EOI. */
function findEoi(buf: Buffer, pos: number): EoiSearch {
  const truncated = (where: string): EoiSearch => ({
    ok: false,
    reason: 'truncated',
    detail: `the file ends ${where}`,
  });
  for (;;) {
    if (pos >= buf.length) return truncated('before the end-of-image marker (FF D9)');
    if (buf[pos] !== 0xff) return { ok: false, reason: 'malformed', detail: `expected a JPEG marker at byte ${pos}` };
    while (pos < buf.length && buf[pos] === 0xff) pos++; // fill bytes
    const marker = buf[pos];
    if (marker === undefined) return truncated('inside a marker');
    pos++;
    if (marker === EOI) return { ok: true, next: pos };
    if (marker === 0x00 || marker === SOI || marker === TEM || isRst(marker)) {
      return { ok: false, reason: 'malformed', detail: `unexpected marker FF ${markerHex(marker)} at byte ${pos - 2}` };
    }
    if (buf.length < pos + 2) return truncated('inside a segment length');
    const length = buf.readUInt16BE(pos);
    if (length < 2)
      return {
        ok: false,
        reason: 'malformed',
        detail: `segment FF ${markerHex(marker)} at byte ${pos - 2} has length ${length}`,
      };
    if (buf.length < pos + length) return truncated(`inside the FF ${markerHex(marker)} segment at byte ${pos - 2}`);
    pos += length;
    if (marker !== SOS) continue;
    // Entropy-coded data: skip FF 00 (a stuffed FF) and RSTn; any other marker ends it.
    for (;;) {
      const ff = buf.indexOf(0xff, pos);
      if (ff < 0) return truncated('inside the scan data');
      const code = buf[ff + 1];
      if (code === undefined) return truncated('inside the scan data');
      if (code === 0x00 || isRst(code)) {
        pos = ff + 2;
        continue;
      }
      pos = ff;
      break;
    }
  }
}

/**
 * Reads and checks a movie file.
 * @throws MovieError for a file that cannot be read or streamed, with the ffmpeg command that fixes it.
 */
export function readMovieFile(path: string): LoadedFrames {
  let buf: Buffer;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new MovieError(path, null, 'not a regular file', 'give the path of a movie file');
    if (stat.size > MAX_MOVIE_FILE_BYTES) {
      throw new MovieError(
        path,
        null,
        `it is ${stat.size} bytes, more than the ${MAX_MOVIE_FILE_BYTES} a movie may have`,
        fixFor('oversize', path),
      );
    }
    buf = readFileSync(path);
  } catch (err) {
    if (err instanceof MovieError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new MovieError(path, null, code === 'ENOENT' ? 'no such file' : `cannot read it (${code})`, 'check the path');
  }
  const result = splitMovie(buf, basename(path));
  if (result.ok) return result.value;
  throw new MovieError(path, result.frame, result.detail, fixFor(result.reason, path));
}

/** How to repair a refused file; always ends in the conversion command, which fixes all of them. */
function fixFor(reason: MovieRejection, path: string): string {
  const convert = ffmpegFixCommand(path, convertedName(path));
  switch (reason) {
    case 'empty':
    case 'unknown-format':
      return (
        `convert a video into an MJPEG movie with: ${ffmpegFixCommand('VIDEO', convertedName(path))} ` +
        "(or run 'npm run movies' for samples)"
      );
    case 'truncated':
    case 'malformed':
      return `re-create the file from its source; ffmpeg salvages what it can with: ${convert}`;
    case 'oversize':
    case 'too-many-frames':
      // -t before the output keeps the first 10 minutes.
      return `keep a shorter part of it, e.g. with: ${convert.replace(' -f mjpeg ', ' -t 600 -f mjpeg ')}`;
    default:
      return `re-encode it for RTP/JPEG with: ${convert}`;
  }
}
