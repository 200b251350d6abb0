/**
 * Seamless server failover with real processes: r1 is the only relay towards s2, the POP's
 * nearest server; when r1 dies mid-stream, the tree moves to s1, whose channel plays the same
 * timeline, so the viewer's frames go on with none skipped and none repeated (pixels compared
 * with the source).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { decodedFrames, LoopbackRun, matchConsecutive, untilNearer } from './loopback-harness.ts';

const movies = mkdtempSync(join(tmpdir(), 'onode-movies-'));
const topology = join(movies, 'two-servers.json5');
// s2 - r1 - p1 is 2 ms; s1 - p1 is 12 ms: p1 watches s2's channel until r1 dies.
writeFileSync(
  topology,
  `{
    bootstrapper: 's1',
    nodes: {
      s1: { role: 'server', addresses: ['10.2.1.1'] },
      s2: { role: 'server', addresses: ['10.2.2.1'] },
      r1: { role: 'node', addresses: ['10.2.2.2', '10.2.3.1'] },
      p1: { role: 'pop', addresses: ['10.2.1.2', '10.2.3.2', '10.2.101.1'], clientAddresses: ['10.2.101.1'] },
    },
    links: [
      { between: ['s1', 'p1'], delayMs: 12 },
      { between: ['s2', 'r1'], delayMs: 1 },
      { between: ['r1', 'p1'], delayMs: 1 },
    ],
  }`,
);
beforeAll(() => makeSampleMovies(movies, { frames: 40 }));
afterAll(() => rmSync(movies, { recursive: true, force: true }));

/** A repair delayed by a loaded machine must not count as a frame lost (see failures.test.ts). */
const LOSSLESS_HOLD_MS = 2000;

interface Stats {
  framesReceived: number;
  framesLost: number;
  longestGapMs: number;
}

describe('seamless server failover', () => {
  const run = new LoopbackRun(topology, movies, {
    bootstrap: 17930,
    overlay: 14930,
    status: 17935,
    rtsp: 18935,
  });
  beforeAll(async () => {
    run.start();
    await run.converged();
    // Until p1 has measured its links: s2 through r1 (2 ms) is then clearly nearer than s1 (12 ms).
    await untilNearer(run, 'p1', 's2', 's1');
  }, 30_000);
  afterAll(() => run.stop());

  it('kill -9 of the only relay towards s2: the viewer goes on from s1 with no frame skipped or repeated', async () => {
    const out = join(run.dir, 'c1.mjpeg');
    const client = run.client([
      '--address',
      '127.2.101.20',
      '--pop',
      run.topology.nodes.get('p1')?.clientAddresses[0] ?? '',
      '--movie',
      'bars.mjpeg',
      '--headless',
      '--duration',
      '8',
      '--jitter-buffer',
      String(LOSSLESS_HOLD_MS),
      '--output',
      out,
    ]);
    await new Promise((res) => setTimeout(res, 3000));
    const before = (await run.status('p1')).streams?.find((s) => s.movie === 'bars.mjpeg');
    expect(before?.rootPath).toEqual(['s2', 'r1']);
    run.emulator.kill('r1');
    await new Promise((res) => setTimeout(res, 2500));
    const after = (await run.status('p1')).streams?.find((s) => s.movie === 'bars.mjpeg');
    expect(after?.rootPath).toEqual(['s1']);
    const c = await client;
    expect(c.code, c.stderr).toBe(0);
    const stats = JSON.parse(c.stdout) as Stats;
    expect(stats.framesLost).toBe(0);
    // Consecutive source frames from the first to the last: nothing skipped, nothing twice.
    const frames = decodedFrames(out);
    expect(matchConsecutive(frames, decodedFrames(join(movies, 'bars.mjpeg')))).toBe(stats.framesReceived);
    expect(frames.length).toBeGreaterThan(150);
  }, 60_000);
});
