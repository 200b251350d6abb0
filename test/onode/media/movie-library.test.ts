import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MovieError, readMovieFile } from '../../../common/media/movie-file.ts';
import { decodeJpegFragment } from '../../../common/wire/rtp-jpeg.ts';
import { loadMovieLibrary } from '../../../onode/media/movie-library.ts';
import { makeSampleMovies, SAMPLE_MOVIES } from '../../../common/samples/sample-movies.ts';

describe('makeSampleMovies + loadMovieLibrary', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'movie-library-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes three 320x240, 100-frame movies in both formats, and keeps them on a second run', () => {
    const first = makeSampleMovies(dir);
    expect(first.written.map((p) => p.slice(dir.length + 1))).toEqual(['bars.mjpeg', 'gradient.mjpeg', 'bounce.mjpeg']);
    for (const sample of SAMPLE_MOVIES) {
      const movie = readMovieFile(join(dir, sample.file));
      expect(movie).toMatchObject({ format: sample.format, width: 320, height: 240 });
      expect(movie.frames).toHaveLength(100);
      // The frame number is drawn on every frame, so no two neighbours are alike.
      expect(movie.frames[0]?.jpeg.equals(movie.frames[1]?.jpeg ?? Buffer.alloc(0))).toBe(false);
    }

    const mtime = statSync(join(dir, 'bars.mjpeg')).mtimeMs;
    const second = makeSampleMovies(dir);
    expect(second.written).toEqual([]);
    expect(second.kept).toHaveLength(3);
    expect(statSync(join(dir, 'bars.mjpeg')).mtimeMs).toBe(mtime);

    const catalogue = loadMovieLibrary(dir, { fps: 30 }).catalogue;
    expect(catalogue).toEqual([
      { name: 'bars.mjpeg', fps: 30, width: 320, height: 240, frames: 100 },
      { name: 'bounce.mjpeg', fps: 30, width: 320, height: 240, frames: 100 },
      { name: 'gradient.mjpeg', fps: 30, width: 320, height: 240, frames: 100 },
    ]);
  });

  it('rewrites existing movies with force', () => {
    writeFileSync(join(dir, 'bars.mjpeg'), 'stale');
    makeSampleMovies(dir, { frames: 2, width: 64, height: 48 });
    expect(readFileSync(join(dir, 'bars.mjpeg'), 'utf8')).toBe('stale');
    const again = makeSampleMovies(dir, { frames: 2, width: 64, height: 48, force: true });
    expect(again.written).toHaveLength(3);
    expect(readMovieFile(join(dir, 'bars.mjpeg')).frames).toHaveLength(2);
  });

  it('refuses sample sizes RTP/JPEG cannot carry', () => {
    expect(() => makeSampleMovies(dir, { width: 100 })).toThrow(RangeError);
    expect(() => makeSampleMovies(dir, { frames: 0 })).toThrow(RangeError);
  });

  it('packetizes every frame once, within maxPayload', () => {
    makeSampleMovies(dir, { frames: 5, width: 160, height: 128 });
    const library = loadMovieLibrary(dir, { maxPayload: 600 });
    expect(library.movies.map((m) => m.name)).toEqual(['bars.mjpeg', 'bounce.mjpeg', 'gradient.mjpeg']);
    for (const movie of library.movies) {
      expect(movie.fps).toBe(25);
      expect(movie.frames).toHaveLength(5);
      for (const payloads of movie.frames) {
        expect(payloads.length).toBeGreaterThan(1);
        expect(payloads.every((p) => p.length <= 600)).toBe(true);
        const first = decodeJpegFragment(payloads[0] ?? Buffer.alloc(0));
        expect(first.ok && [first.value.width, first.value.height, first.value.fragmentOffset]).toEqual([160, 128, 0]);
      }
    }
  });

  it('skips files it cannot serve, saying why, and serves the rest', () => {
    makeSampleMovies(dir, { frames: 2, width: 64, height: 48 });
    writeFileSync(join(dir, 'broken.mjpeg'), 'not a movie');
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    writeFileSync(join(dir, '.hidden.mjpeg'), 'x');
    mkdirSync(join(dir, 'sub.mjpeg'));

    const library = loadMovieLibrary(dir);
    expect(library.catalogue.map((m) => m.name)).toEqual(['bars.mjpeg', 'bounce.mjpeg', 'gradient.mjpeg']);
    expect(library.skipped.map((s) => s.file)).toEqual(['broken.mjpeg', 'notes.txt']);
    expect(library.skipped[0]?.reason).toContain('broken.mjpeg: not an MJPEG movie');
    expect(library.skipped[1]?.reason).toContain('.mjpeg, .mjpg, .mp4, .m4v, .mov or .mkv');
  });

  it('serves any valid movie name up to 255 bytes of UTF-8, and names the files whose names are not', () => {
    makeSampleMovies(dir, { frames: 1, width: 32, height: 32 });
    const movie = readFileSync(join(dir, 'bars.mjpeg'));
    const long = `${'ç'.repeat(123)}.mjpeg`; // 246 + 6 = 252 bytes
    const longest = `${'x'.repeat(249)}.mjpeg`; // 255 bytes, the most a Linux file name has
    const refused = ['back\\slash.mjpeg', 'bell\u0007.mjpeg', 'del\u007f.mjpeg'];
    for (const name of ['my movie.mjpg', 'filme-ação.mjpeg', long, longest, ...refused]) {
      writeFileSync(join(dir, name), movie);
    }
    // A name that is not UTF-8 at all (Latin-1 'é').
    writeFileSync(Buffer.concat([Buffer.from(join(dir, 'caf')), Buffer.from([0xe9]), Buffer.from('.mjpeg')]), movie);

    const library = loadMovieLibrary(dir);
    expect(library.catalogue.map((m) => m.name)).toEqual([
      'bars.mjpeg',
      'bounce.mjpeg',
      'filme-ação.mjpeg',
      'gradient.mjpeg',
      'my movie.mjpg',
      longest,
      long,
    ]);
    const reasons = Object.fromEntries(library.skipped.map((s) => [s.file, s.reason]));
    expect(Object.keys(reasons).sort()).toEqual([...refused.slice(0, 2), 'caf\ufffd.mjpeg', refused[2]]);
    expect(reasons['back\\slash.mjpeg']).toBe(
      `"back\\\\slash.mjpeg" cannot be a movie name: the name contains '\\' (a path separator); rename the file`,
    );
    expect(reasons['bell\u0007.mjpeg']).toBe(
      '"bell\\u0007.mjpeg" cannot be a movie name: the name contains the control character U+0007; rename the file',
    );
    expect(reasons['del\u007f.mjpeg']).toContain('control character U+007F');
    expect(reasons['caf\ufffd.mjpeg']).toBe('"caf\ufffd.mjpeg": the file name is not valid UTF-8; rename the file');
  });

  it('accepts the extensions in any case', () => {
    makeSampleMovies(dir, { frames: 1, width: 32, height: 32 });
    writeFileSync(join(dir, 'movie.Mjpeg'), readFileSync(join(dir, 'bars.mjpeg')));
    writeFileSync(join(dir, 'clip.MJPG'), readFileSync(join(dir, 'bars.mjpeg')));
    const names = loadMovieLibrary(dir).catalogue.map((m) => m.name);
    expect(names).toEqual(['bars.mjpeg', 'bounce.mjpeg', 'clip.MJPG', 'gradient.mjpeg', 'movie.Mjpeg']);
  });

  it('refuses a missing directory, pointing at npm run movies', () => {
    expect(() => loadMovieLibrary(join(dir, 'missing'))).toThrow(MovieError);
    expect(() => loadMovieLibrary(join(dir, 'missing'))).toThrow(/does not exist\. Fix: run 'npm run movies'/);
  });

  it('refuses an unusable fps or maxPayload before reading anything', () => {
    expect(() => loadMovieLibrary(dir, { fps: 0 })).toThrow(RangeError);
    expect(() => loadMovieLibrary(dir, { fps: Number.NaN })).toThrow(RangeError);
    expect(() => loadMovieLibrary(dir, { maxPayload: 100 })).toThrow(RangeError);
  });
});
