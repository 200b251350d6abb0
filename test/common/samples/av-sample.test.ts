/**
 * npm run movies' H.264 + AAC sample: a file a server carries with sound, kept on a second run,
 * skipped without ffmpeg.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AV_SAMPLE_FILE, makeAvSample } from '../../../common/samples/av-sample.ts';
import { withAvMovies } from '../../../onode/media/av-library.ts';
import { loadMovieLibrary } from '../../../onode/media/movie-library.ts';
import { requireAvTools } from '../media/av-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'av-sample-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the H.264 + AAC sample movie', () => {
  it('is a 20 s movie with sound that a server serves, kept on a second run', async () => {
    requireAvTools();
    expect(await makeAvSample(dir)).toEqual({ kind: 'written', path: join(dir, AV_SAMPLE_FILE) });
    const library = await withAvMovies(loadMovieLibrary(dir), dir);
    expect(library.skipped).toEqual([]);
    const info = library.catalogue.find((m) => m.name === AV_SAMPLE_FILE);
    expect(info).toMatchObject({ width: 320, height: 240, fps: 25, frames: 500 });
    expect(info?.av?.audio).toMatchObject({ rate: 48000, channels: 1 });
    expect(await makeAvSample(dir)).toEqual({ kind: 'kept', path: join(dir, AV_SAMPLE_FILE) });
  }, 60_000);

  it('is skipped, with the reason, when ffmpeg is missing', async () => {
    const other = mkdtempSync(join(tmpdir(), 'av-sample-none-'));
    const r = await makeAvSample(other, false, join(other, 'no-ffmpeg'));
    rmSync(other, { recursive: true, force: true });
    expect(r).toEqual({ kind: 'skipped', reason: expect.stringContaining('npm run setup') });
  });
});
