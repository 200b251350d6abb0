/**
 * A server's movies: every MJPEG file (*.mjpeg, *.mjpg, any case) in one directory, checked and
 * cut into RTP/JPEG payloads once at start-up, so streaming later only copies buffers; and, with
 * withAvMovies (av-library.ts), every H.264 (+ AAC) file (*.mp4, *.m4v, *.mov, *.mkv). The movie
 * name is the file name, so it must be a valid movie name (common/wire/names.ts: UTF-8, at most
 * 255 bytes, no control characters or path separators); clients put it in RTSP URLs %-encoded.
 *
 * A file that cannot be streamed does not stop the server: it is listed in `skipped` with the
 * reason (and the fix), and the other movies are served.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { JpegImage } from '../../common/media/jpeg.ts';
import { convertedName, ffmpegFixCommand, MovieError, readMovieFile } from '../../common/media/movie-file.ts';
import { movieNameProblem, strictUtf8 } from '../../common/wire/names.ts';
import { MAX_CATALOGUE, MAX_DATA_RTP_BYTES, type MovieInfo } from '../../common/wire/overlay.ts';
import { signedPayloadLimit } from '../../common/wire/frame-auth.ts';
import { DEFAULT_MAX_PAYLOAD, packetizeJpeg, packetizeJpegFitted, RtpJpegError } from '../../common/wire/rtp-jpeg.ts';
import type { ChannelMovie, FramePayloads } from '../core/movie-channel.ts';
/**
 * H.264 (+ AAC) movie files, loaded by av-library.ts (withAvMovies): listed here, loaded there, so
 * that a relay, which loads this module too, never loads their demuxer (mp4box).
 */
export const AV_MOVIE_EXTENSION = /\.(mp4|m4v|mov|mkv)$/i;

export { MAX_MOVIE_NAME_BYTES } from '../../common/wire/names.ts';
const MOVIE_EXTENSION = /\.(mjpeg|mjpg)$/i;
/** Frame rates a library accepts; RTP/JPEG timestamps tick at 90 kHz. */
export const MAX_FPS = 120;
export const DEFAULT_FPS = 25;
/**
 * The largest RTP packet a server sends, frame-signature extension included: what every relay can
 * forward in one authenticated DATA datagram whatever its name's length (MAX_DATA_RTP_BYTES).
 */
export const SERVER_RTP_PACKET_BYTES = MAX_DATA_RTP_BYTES;

export interface MovieLibraryOptions {
  /** Frames per second every movie plays at (MJPEG files carry no rate); default 25. */
  readonly fps?: number;
  /**
   * RTP payload bytes per packet at most; default DEFAULT_MAX_PAYLOAD (1400). Packets are cut
   * smaller where needed so that, signed, none exceeds SERVER_RTP_PACKET_BYTES.
   */
  readonly maxPayload?: number;
}

export interface SkippedMovie {
  /** The file name within the directory (invalid UTF-8 shown as U+FFFD). */
  readonly file: string;
  readonly reason: string;
}

export interface MovieLibrary {
  /** The movies' streams, sorted by name (code-unit order, so the same on every machine). */
  readonly movies: readonly ChannelMovie[];
  /** The same movies, as announced to the overlay. */
  readonly catalogue: readonly MovieInfo[];
  readonly skipped: readonly SkippedMovie[];
  /** H.264 (+ AAC) files found, by name, not loaded yet: withAvMovies loads them. */
  readonly avFiles: readonly string[];
}

/**
 * Loads every movie in `dir`.
 * @throws MovieError if `dir` is not a readable directory.
 * @throws RangeError for an fps outside (0, MAX_FPS] or a maxPayload packetizeJpeg refuses.
 */
export function loadMovieLibrary(dir: string, options: MovieLibraryOptions = {}): MovieLibrary {
  const fps = options.fps ?? DEFAULT_FPS;
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  if (!Number.isFinite(fps) || fps <= 0 || fps > MAX_FPS)
    throw new RangeError(`fps must be above 0 and at most ${MAX_FPS}, got ${fps}`);
  // Validates maxPayload once, before any file is read, with a tiny well-formed frame.
  checkMaxPayload(maxPayload);

  const loaded: { movie: ChannelMovie; info: MovieInfo }[] = [];
  const skipped: SkippedMovie[] = [];
  const avFiles: string[] = [];
  for (const { file, utf8 } of listFiles(dir)) {
    const problem = utf8 ? nameProblem(file) : notUtf8(file);
    if (problem !== null) {
      skipped.push({ file, reason: problem });
      continue;
    }
    if (loaded.length + avFiles.length >= MAX_CATALOGUE) {
      skipped.push({ file, reason: tooMany(file) });
      continue;
    }
    if (AV_MOVIE_EXTENSION.test(file)) {
      avFiles.push(file);
      continue;
    }
    const path = join(dir, file);
    try {
      const movie = readMovieFile(path);
      const frames = packetize(
        path,
        movie.frames.map((f) => f.image),
        maxPayload,
      );
      loaded.push({
        movie: { name: file, fps, frames },
        info: { name: file, fps, width: movie.width, height: movie.height, frames: frames.length },
      });
    } catch (err) {
      if (!(err instanceof MovieError)) throw err;
      skipped.push({ file, reason: err.message });
    }
  }
  return { movies: loaded.map((l) => l.movie), catalogue: loaded.map((l) => l.info), skipped, avFiles };
}

function tooMany(file: string): string {
  return `${file}: a server offers at most ${MAX_CATALOGUE} movies; move it to another server's directory`;
}

const signedLimit = signedPayloadLimit(SERVER_RTP_PACKET_BYTES);

/** @throws MovieError for a frame RTP/JPEG cannot cut (a scan over MAX_FRAME_BYTES). */
function packetize(path: string, images: readonly JpegImage[], maxPayload: number): FramePayloads[] {
  return images.map((image, i) => {
    try {
      return packetizeJpegFitted(image, (index, count) => Math.min(maxPayload, signedLimit(index, count)));
    } catch (err) {
      if (!(err instanceof RtpJpegError)) throw err;
      throw new MovieError(
        path,
        i,
        err.message,
        `re-encode it at a lower quality, e.g. with: ${ffmpegFixCommand(path, convertedName(path))}`,
      );
    }
  });
}

/** Regular, non-hidden files of `dir`, sorted by name; `utf8` false for a name that is not valid UTF-8. */
function listFiles(dir: string): { file: string; utf8: boolean }[] {
  let names: Buffer[];
  try {
    if (!statSync(dir).isDirectory())
      throw new MovieError(dir, null, 'not a directory', 'give the directory that holds the movies');
    // As bytes: a name that is not UTF-8 would come back with U+FFFD in it, naming no file.
    names = readdirSync(dir, { encoding: 'buffer' });
  } catch (err) {
    if (err instanceof MovieError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const problem =
      code === 'ENOENT' ? 'the movie directory does not exist' : `cannot read the movie directory (${code})`;
    throw new MovieError(
      dir,
      null,
      problem,
      "run 'npm run movies' to create sample movies in movies/, or give the right directory",
    );
  }
  const prefix = Buffer.from(join(dir, '/'));
  return names
    .filter((name) => name[0] !== 0x2e) // '.': hidden
    .filter((name) => {
      try {
        return statSync(Buffer.concat([prefix, name])).isFile();
      } catch {
        return false; // vanished or a dangling link: not a movie
      }
    })
    .map((name) => {
      const file = strictUtf8(name);
      return file === undefined ? { file: name.toString('utf8'), utf8: false } : { file, utf8: true };
    })
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

function notUtf8(file: string): string {
  return `${JSON.stringify(file)}: the file name is not valid UTF-8; rename the file`;
}

/** Why `file` cannot be a movie of the library by its name alone, or null. */
function nameProblem(file: string): string | null {
  const shown = JSON.stringify(file); // control characters visible
  if (!MOVIE_EXTENSION.test(file) && !AV_MOVIE_EXTENSION.test(file))
    return `${shown}: not a movie: only files ending in .mjpeg, .mjpg, .mp4, .m4v, .mov or .mkv are served`;
  const problem = movieNameProblem(file);
  return problem === null ? null : `${shown} cannot be a movie name: ${problem}; rename the file`;
}

/** The smallest frame there is: 8x8 with one byte of scan. */
const PROBE_FRAME = {
  width: 8,
  height: 8,
  type: 1,
  quantTables: Buffer.alloc(128, 1),
  restartInterval: 0,
  scan: Buffer.alloc(1),
} as const;

function checkMaxPayload(maxPayload: number): void {
  try {
    packetizeJpeg(PROBE_FRAME, maxPayload);
  } catch (err) {
    throw new RangeError(`invalid maxPayload: ${(err as Error).message}`);
  }
}
