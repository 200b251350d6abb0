/**
 * A server's movies: every MJPEG file (*.mjpeg, *.mjpg, any case) in one directory, checked and
 * cut into RTP/JPEG payloads once at start-up, so streaming later only copies buffers.
 *
 * A file that cannot be streamed does not stop the server: it is listed in `skipped` with the
 * reason (and the fix), and the other movies are served.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { JpegImage } from '../../common/media/jpeg.ts';
import { convertedName, ffmpegFixCommand, MovieError, readMovieFile } from '../../common/media/movie-file.ts';
import { MAX_CATALOGUE, MAX_DATA_RTP_BYTES, type MovieInfo } from '../../common/wire/overlay.ts';
import { RTP_HEADER_BYTES } from '../../common/wire/rtp.ts';
import { packetizeJpeg, RtpJpegError } from '../../common/wire/rtp-jpeg.ts';
import type { ChannelMovie, FramePayloads } from '../core/movie-channel.ts';

/** Movie names travel in every data datagram and in RTSP URLs: short, and safe in a URL path. */
export const MAX_MOVIE_NAME_BYTES = 64;
const MOVIE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MOVIE_EXTENSION = /\.(mjpeg|mjpg)$/i;
/** Frame rates a library accepts; RTP/JPEG timestamps tick at 90 kHz. */
export const MAX_FPS = 120;
export const DEFAULT_FPS = 25;
/** RTP payload bytes per packet: the largest whose RTP packet every relay can forward in one DATA datagram. */
export const SERVER_MAX_PAYLOAD = MAX_DATA_RTP_BYTES - RTP_HEADER_BYTES;

export interface MovieLibraryOptions {
  /** Frames per second every movie plays at (MJPEG files carry no rate); default 25. */
  readonly fps?: number;
  /** RTP payload bytes per packet; default and most SERVER_MAX_PAYLOAD (1356). */
  readonly maxPayload?: number;
}

export interface SkippedMovie {
  /** The file name within the directory. */
  readonly file: string;
  readonly reason: string;
}

export interface MovieLibrary {
  /** Sorted by name (code-unit order, so the same on every machine). */
  readonly movies: readonly ChannelMovie[];
  /** The same movies, as announced to the overlay. */
  readonly catalogue: readonly MovieInfo[];
  readonly skipped: readonly SkippedMovie[];
}

/**
 * Loads every movie in `dir`.
 * @throws MovieError if `dir` is not a readable directory.
 * @throws RangeError for an fps outside (0, MAX_FPS] or a maxPayload packetizeJpeg refuses.
 */
export function loadMovieLibrary(dir: string, options: MovieLibraryOptions = {}): MovieLibrary {
  const fps = options.fps ?? DEFAULT_FPS;
  const maxPayload = options.maxPayload ?? SERVER_MAX_PAYLOAD;
  if (!Number.isFinite(fps) || fps <= 0 || fps > MAX_FPS) throw new RangeError(`fps must be above 0 and at most ${MAX_FPS}, got ${fps}`);
  // Validates maxPayload once, before any file is read, with a tiny well-formed frame.
  checkMaxPayload(maxPayload);

  const loaded: { movie: ChannelMovie; info: MovieInfo }[] = [];
  const skipped: SkippedMovie[] = [];
  for (const file of listFiles(dir)) {
    const problem = nameProblem(file);
    if (problem !== null) {
      skipped.push({ file, reason: problem });
      continue;
    }
    if (loaded.length >= MAX_CATALOGUE) {
      skipped.push({ file, reason: `a server offers at most ${MAX_CATALOGUE} movies; move it to another server's directory` });
      continue;
    }
    const path = join(dir, file);
    try {
      const movie = readMovieFile(path);
      const frames = packetize(path, movie.frames.map((f) => f.image), maxPayload);
      loaded.push({
        movie: { name: file, fps, frames },
        info: { name: file, fps, width: movie.width, height: movie.height, frames: frames.length },
      });
    } catch (err) {
      if (!(err instanceof MovieError)) throw err;
      skipped.push({ file, reason: err.message });
    }
  }
  return { movies: loaded.map((l) => l.movie), catalogue: loaded.map((l) => l.info), skipped };
}

/** @throws MovieError for a frame RTP/JPEG cannot cut (a scan over MAX_FRAME_BYTES). */
function packetize(path: string, images: readonly JpegImage[], maxPayload: number): FramePayloads[] {
  return images.map((image, i) => {
    try {
      return packetizeJpeg(image, maxPayload);
    } catch (err) {
      if (!(err instanceof RtpJpegError)) throw err;
      throw new MovieError(path, i, err.message, `re-encode it at a lower quality, e.g. with: ${ffmpegFixCommand(path, convertedName(path))}`);
    }
  });
}

/** Regular, non-hidden files of `dir`, sorted by name. */
function listFiles(dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new MovieError(dir, null, 'not a directory', 'give the directory that holds the movies');
    names = readdirSync(dir);
  } catch (err) {
    if (err instanceof MovieError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const problem = code === 'ENOENT' ? 'the movie directory does not exist' : `cannot read the movie directory (${code})`;
    throw new MovieError(dir, null, problem, "run 'npm run movies' to create sample movies in movies/, or give the right directory");
  }
  return names
    .filter((name) => !name.startsWith('.'))
    .filter((name) => {
      try {
        return statSync(join(dir, name)).isFile();
      } catch {
        return false; // vanished or a dangling link: not a movie
      }
    })
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Why `file` cannot be a movie of the library by its name alone, or null. */
function nameProblem(file: string): string | null {
  if (!MOVIE_EXTENSION.test(file)) return 'not a movie: only files ending in .mjpeg or .mjpg are served';
  if (Buffer.byteLength(file) > MAX_MOVIE_NAME_BYTES) {
    return `the name is longer than ${MAX_MOVIE_NAME_BYTES} bytes; rename the file`;
  }
  if (!MOVIE_NAME.test(file)) {
    return "the name is not usable in a URL; rename the file using letters, digits, '.', '-' and '_' only";
  }
  return null;
}

/** The smallest frame there is: 8x8 with one byte of scan. */
const PROBE_FRAME = { width: 8, height: 8, type: 1, quantTables: Buffer.alloc(128, 1), restartInterval: 0, scan: Buffer.alloc(1) } as const;

function checkMaxPayload(maxPayload: number): void {
  if (maxPayload > SERVER_MAX_PAYLOAD) {
    throw new RangeError(`invalid maxPayload: ${maxPayload} bytes would not fit a DATA datagram (at most ${SERVER_MAX_PAYLOAD})`);
  }
  try {
    packetizeJpeg(PROBE_FRAME, maxPayload);
  } catch (err) {
    throw new RangeError(`invalid maxPayload: ${(err as Error).message}`);
  }
}
