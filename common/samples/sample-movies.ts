/**
 * The sample movies, generated locally from test patterns (no ffmpeg, no downloads):
 *
 *   bars.mjpeg       lab format (5-digit length before each frame, like the lab's movie.Mjpeg)
 *   gradient.mjpeg   concatenated JPEGs (like ffmpeg -f mjpeg)
 *   bounce.mjpeg     lab format
 *
 * 320x240, 100 frames each, 4:2:0 baseline; every frame shows its number. Written by
 * scripts/make-movies.ts (npm run movies), the demo, the benchmarks and the tests.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMovie, type MovieFileFormat } from '../media/movie-file.ts';
import { encodeJpeg } from './jpeg-encoder.ts';
import { renderPattern, type PatternKind } from './test-pattern.ts';

export interface SampleMovie {
  readonly file: string;
  readonly pattern: PatternKind;
  readonly format: MovieFileFormat;
}

/** Both file formats, so a fresh checkout exercises both readers. */
export const SAMPLE_MOVIES: readonly SampleMovie[] = [
  { file: 'bars.mjpeg', pattern: 'bars', format: 'lab' },
  { file: 'gradient.mjpeg', pattern: 'gradient', format: 'concatenated' },
  { file: 'bounce.mjpeg', pattern: 'bounce', format: 'lab' },
];

export interface MakeMoviesOptions {
  /** Overwrite existing files; default false (existing files are kept). */
  readonly force?: boolean;
  /** Frames per movie; default 100. */
  readonly frames?: number;
  /** Pixels; multiples of 16 (whole 4:2:0 blocks) up to 2032; default 320x240. */
  readonly width?: number;
  readonly height?: number;
  /** JPEG quality 1..100; default 75. */
  readonly quality?: number;
}

export interface MakeMoviesResult {
  /** Paths written. */
  readonly written: readonly string[];
  /** Paths that already existed and were kept. */
  readonly kept: readonly string[];
}

/** Most frames a sample may have: enough for a long demo, bounded so a typo cannot fill the disk. */
export const MAX_SAMPLE_FRAMES = 10_000;
const MAX_SAMPLE_DIMENSION = 2032;

/**
 * Writes the sample movies into `dir` (created if missing). Each file is written to a temporary
 * name and renamed, so an interrupted run never leaves a half movie that a later run would keep.
 * @throws RangeError for options outside their documented ranges.
 */
export function makeSampleMovies(dir: string, options: MakeMoviesOptions = {}): MakeMoviesResult {
  const frames = options.frames ?? 100;
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const quality = options.quality ?? 75;
  if (!Number.isInteger(frames) || frames < 1 || frames > MAX_SAMPLE_FRAMES) {
    throw new RangeError(`frames must be an integer from 1 to ${MAX_SAMPLE_FRAMES}, got ${frames}`);
  }
  for (const [what, n] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(n) || n < 16 || n > MAX_SAMPLE_DIMENSION || n % 16 !== 0) {
      throw new RangeError(`${what} must be a multiple of 16 from 16 to ${MAX_SAMPLE_DIMENSION}, got ${n}`);
    }
  }
  if (!Number.isInteger(quality) || quality < 1 || quality > 100)
    throw new RangeError(`quality must be an integer from 1 to 100, got ${quality}`);

  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const kept: string[] = [];
  for (const sample of SAMPLE_MOVIES) {
    const path = join(dir, sample.file);
    if (existsSync(path) && options.force !== true) {
      kept.push(path);
      continue;
    }
    const jpegs: Buffer[] = [];
    for (let n = 0; n < frames; n++) {
      jpegs.push(encodeJpeg(renderPattern(sample.pattern, n, width, height), { quality, sampling: '420' }));
    }
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, encodeMovie(jpegs, sample.format));
      renameSync(temporary, path);
    } catch (err) {
      rmSync(temporary, { force: true });
      throw err;
    }
    written.push(path);
  }
  return { written, kept };
}
