import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import jpegJs from 'jpeg-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeJpeg } from '../../../common/samples/jpeg-encoder.ts';
import {
  LAB_MAX_FRAME_BYTES,
  MovieError,
  convertedName,
  encodeMovie,
  ffmpegFixCommand,
  readMovieFile,
  splitMovie,
} from '../../../common/media/movie-file.ts';
import { renderPattern } from '../../../common/samples/test-pattern.ts';

const FIX_FILTER = '-vf "scale=trunc(iw/16)*16:trunc(ih/16)*16,format=yuvj420p" -q:v 3 -huffman default -f mjpeg';

function frames(count: number, width = 32, height = 16, restartInterval = 0): Buffer[] {
  return Array.from({ length: count }, (_, n) =>
    encodeJpeg(renderPattern('bounce', n, width, height), { quality: 60, restartInterval }),
  );
}

/** The smallest progressive (SOF2) JPEG the splitter walks through: SOI, SOF2, SOS, 1 byte, EOI. */
function progressiveJpeg(): Buffer {
  const sof2 = [0xff, 0xc2, 0x00, 17, 8, 0x00, 16, 0x00, 32, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  const sos = [0xff, 0xda, 0x00, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 0, 0];
  return Buffer.from([0xff, 0xd8, ...sof2, ...sos, 0x2a, 0xff, 0xd9]);
}

describe('splitMovie', () => {
  it('reads back the lab format frame for frame', () => {
    const jpegs = frames(3);
    const result = splitMovie(encodeMovie(jpegs, 'lab'), 'clip.mjpeg');
    if (!result.ok) throw new Error(result.detail);
    expect(result.value).toMatchObject({ name: 'clip.mjpeg', format: 'lab', width: 32, height: 16 });
    expect(result.value.frames.map((f) => f.jpeg)).toEqual(jpegs);
    expect(result.value.frames[0]?.image.type).toBe(1);
  });

  it('reads back concatenated JPEGs frame for frame, restart markers and all', () => {
    const jpegs = frames(4, 48, 32, 2);
    const result = splitMovie(encodeMovie(jpegs, 'concatenated'), 'clip.mjpeg');
    if (!result.ok) throw new Error(result.detail);
    expect(result.value.format).toBe('concatenated');
    expect(result.value.frames.map((f) => f.jpeg)).toEqual(jpegs);
    expect(result.value.frames.every((f) => f.image.restartInterval === 2)).toBe(true);
  });

  it('splits where a scan contains stuffed FF 00 bytes', () => {
    const jpegs = frames(3, 64, 64);
    // Noise-like patterns produce FF data bytes, which the encoder stuffs as FF 00.
    expect(jpegs.some((j) => j.includes(Buffer.from([0xff, 0x00])))).toBe(true);
    const result = splitMovie(Buffer.concat(jpegs), 'x');
    expect(result.ok && result.value.frames.length).toBe(3);
  });

  it('refuses an empty file', () => {
    expect(splitMovie(Buffer.alloc(0), 'x')).toEqual({
      ok: false,
      reason: 'empty',
      frame: null,
      detail: 'the file is empty',
    });
  });

  it('refuses bytes that are no movie', () => {
    expect(splitMovie(Buffer.from('<html>not a movie</html>'), 'x')).toMatchObject({
      ok: false,
      reason: 'unknown-format',
      frame: null,
    });
  });

  it('refuses a lab file cut inside a frame, naming the frame', () => {
    const whole = encodeMovie(frames(3), 'lab');
    expect(splitMovie(whole.subarray(0, whole.length - 10), 'x')).toMatchObject({
      ok: false,
      reason: 'truncated',
      frame: 2,
    });
  });

  it('refuses a lab file cut inside a length prefix', () => {
    const whole = encodeMovie(frames(2), 'lab');
    const cut = Buffer.concat([whole, Buffer.from('012')]);
    expect(splitMovie(cut, 'x')).toMatchObject({ ok: false, reason: 'truncated', frame: 2 });
  });

  it('refuses a lab length prefix that is not 5 digits', () => {
    const jpeg = frames(1)[0] ?? Buffer.alloc(0);
    const bad = Buffer.concat([Buffer.from('12a45'), jpeg]);
    expect(splitMovie(bad, 'x')).toMatchObject({ ok: false, reason: 'malformed', frame: 0 });
  });

  it('refuses a concatenated file cut inside a frame', () => {
    const whole = encodeMovie(frames(2), 'concatenated');
    expect(splitMovie(whole.subarray(0, whole.length - 1), 'x')).toMatchObject({
      ok: false,
      reason: 'truncated',
      frame: 1,
    });
  });

  it('refuses bytes between concatenated frames', () => {
    const [a, b] = frames(2);
    const bad = Buffer.concat([a ?? Buffer.alloc(0), Buffer.from([0x00]), b ?? Buffer.alloc(0)]);
    expect(splitMovie(bad, 'x')).toMatchObject({ ok: false, reason: 'malformed', frame: 1 });
  });

  it('refuses a progressive frame', () => {
    const movie = Buffer.concat([...frames(1), progressiveJpeg()]);
    expect(splitMovie(movie, 'x')).toEqual({
      ok: false,
      reason: 'progressive',
      frame: 1,
      detail: 'progressive JPEG (SOF2)',
    });
  });

  it('refuses 4:4:4 frames (what jpeg-js writes)', () => {
    const image = renderPattern('bars', 0, 32, 16);
    const jpeg = jpegJs.encode({ width: 32, height: 16, data: Buffer.from(image.data) }, 80).data;
    expect(splitMovie(encodeMovie([jpeg], 'lab'), 'x')).toMatchObject({
      ok: false,
      reason: 'unsupported-sampling',
      frame: 0,
    });
  });

  it('refuses frames of different sizes', () => {
    const movie = encodeMovie([...frames(2, 32, 16), ...frames(1, 48, 16)], 'concatenated');
    expect(splitMovie(movie, 'x')).toMatchObject({ ok: false, reason: 'mixed-sizes', frame: 2 });
  });

  it('never throws on random bytes, nor on random bytes after a plausible start', () => {
    const starts = fc.constantFrom(Buffer.alloc(0), Buffer.from('00100'), Buffer.from([0xff, 0xd8]));
    fc.assert(
      fc.property(starts, fc.uint8Array({ maxLength: 400 }), (start, tail) => {
        const result = splitMovie(Buffer.concat([start, Buffer.from(tail)]), 'x');
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});

describe('encodeMovie', () => {
  it('refuses a frame the lab format cannot describe', () => {
    expect(() => encodeMovie([Buffer.alloc(LAB_MAX_FRAME_BYTES + 1)], 'lab')).toThrow(RangeError);
    expect(() => encodeMovie([], 'concatenated')).toThrow(RangeError);
  });

  it('writes 5-digit lengths', () => {
    expect(encodeMovie([Buffer.from([1, 2, 3])], 'lab')).toEqual(Buffer.from([0x30, 0x30, 0x30, 0x30, 0x33, 1, 2, 3]));
  });
});

describe('readMovieFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'movie-file-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function movieError(path: string): MovieError {
    try {
      readMovieFile(path);
    } catch (err) {
      if (err instanceof MovieError) return err;
      throw err;
    }
    throw new Error(`${path} was accepted`);
  }

  it('loads a movie and names it after the file', () => {
    const path = join(dir, 'movie.Mjpeg');
    writeFileSync(path, encodeMovie(frames(2), 'lab'));
    const movie = readMovieFile(path);
    expect(movie).toMatchObject({ name: 'movie.Mjpeg', format: 'lab', width: 32, height: 16 });
    expect(movie.frames).toHaveLength(2);
  });

  it('refuses a progressive frame with the file, the frame, the reason and the ffmpeg command', () => {
    const path = join(dir, 'clip.mjpeg');
    writeFileSync(path, encodeMovie([...frames(2), progressiveJpeg()], 'lab'));
    const err = movieError(path);
    expect(err.file).toBe(path);
    expect(err.frame).toBe(2);
    expect(err.message).toContain(`${path}: frame 3: progressive JPEG (SOF2)`);
    expect(err.message).toContain(`ffmpeg -i ${path} ${FIX_FILTER} ${join(dir, 'clip-rtp.mjpeg')}`);
  });

  it('refuses a truncated file', () => {
    const path = join(dir, 'cut.mjpeg');
    const whole = encodeMovie(frames(2), 'concatenated');
    writeFileSync(path, whole.subarray(0, whole.length - 100));
    const err = movieError(path);
    expect(err.frame).toBe(1);
    expect(err.message).toMatch(/frame 2: the file ends/);
    expect(err.message).toContain(FIX_FILTER);
  });

  it('refuses an empty file and a missing one', () => {
    const empty = join(dir, 'empty.mjpeg');
    writeFileSync(empty, '');
    expect(movieError(empty).message).toContain(`${empty}: the file is empty. Fix: `);
    expect(movieError(join(dir, 'nope.mjpeg')).problem).toBe('no such file');
    expect(movieError(dir).problem).toBe('not a regular file');
  });
});

describe('ffmpegFixCommand', () => {
  it('quotes paths a shell would split', () => {
    expect(ffmpegFixCommand("my movie's.avi", 'out.mjpeg')).toBe(
      `ffmpeg -i 'my movie'\\''s.avi' ${FIX_FILTER} out.mjpeg`,
    );
  });

  it('suggests an output next to the input', () => {
    expect(convertedName('movies/movie.Mjpeg')).toBe('movies/movie-rtp.mjpeg');
    expect(convertedName('clip')).toBe('clip-rtp.mjpeg');
  });
});
