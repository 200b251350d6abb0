import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { decodedFrames, LoopbackRun, matchConsecutive, ROOT } from './loopback-harness.ts';

const movies = mkdtempSync(join(tmpdir(), 'onode-movies-'));

beforeAll(() => {
  makeSampleMovies(movies, { frames: 40 });
});
afterAll(() => rmSync(movies, { recursive: true, force: true }));

describe('the report topology on loopback', () => {
  const run = new LoopbackRun(join(ROOT, 'topologies/report.json5'), movies, {
    bootstrap: 17000,
    overlay: 14444,
    status: 17080,
    rtsp: 18554,
  });
  beforeAll(async () => {
    run.start();
    await run.converged();
  }, 30_000);
  afterAll(() => run.stop());

  it('registers every node at the bootstrapper', async () => {
    const s = await run.status('s1');
    expect(s.registered).toEqual(['o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9', 's1', 's2']);
  });

  it('streams two movies to clients on two POPs, frames pixel-identical to the source', async () => {
    const out1 = join(run.dir, 'c1.mjpeg');
    const out4 = join(run.dir, 'c4.mjpeg');
    const [c1, c4] = await Promise.all([
      run.client([
        '--address',
        '127.0.6.20',
        '--pop',
        run.topology.nodes.get('o5')?.clientAddresses[0] ?? '',
        '--movie',
        'bars.mjpeg',
        '--headless',
        '--duration',
        '3',
        '--output',
        out1,
      ]),
      run.client([
        '--address',
        '127.0.9.20',
        '--pop',
        run.topology.nodes.get('o7')?.clientAddresses[0] ?? '',
        '--movie',
        'gradient.mjpeg',
        '--headless',
        '--duration',
        '3',
        '--output',
        out4,
      ]),
    ]);
    expect(c1.code, c1.stderr).toBe(0);
    expect(c4.code, c4.stderr).toBe(0);
    interface Stats {
      framesReceived: number;
      pop: string;
      framesLost: number;
      framesRejected: number;
      verifying: true;
    }
    const s1 = JSON.parse(c1.stdout) as Stats;
    const s4 = JSON.parse(c4.stdout) as Stats;
    // Every frame was checked against the servers' keys, by the POP and by the client.
    for (const s of [s1, s4]) expect([s.verifying, s.framesRejected]).toEqual([true, 0]);
    for (const pop of ['o5', 'o7']) {
      const verify = (await run.status(pop)).counters?.verify;
      expect(verify?.verified, pop).toBeGreaterThan(100);
      expect([verify?.rejected, verify?.unknownKey], pop).toEqual([0, 0]);
    }
    expect(s1.pop).toBe('o5');
    expect(s4.pop).toBe('o7');
    expect(s1.framesReceived).toBeGreaterThan(40); // 3 s at 25 fps, minus start-up
    expect(s1.framesLost).toBe(0);
    expect(matchConsecutive(decodedFrames(out1), decodedFrames(join(movies, 'bars.mjpeg')))).toBe(s1.framesReceived);
    expect(matchConsecutive(decodedFrames(out4), decodedFrames(join(movies, 'gradient.mjpeg')))).toBe(
      s4.framesReceived,
    );
  }, 40_000);

  it('prunes the tree when the viewers leave', async () => {
    await new Promise((r) => setTimeout(r, 500));
    for (const node of ['o5', 'o7', 'o4', 'o3', 's1', 's2']) {
      const s = await run.status(node);
      expect(s.streams, node).toEqual([]);
    }
  });

  it('answers an unknown movie with a clear refusal', async () => {
    const c = await run.client(['--address', '127.0.6.20', '--movie', 'nope.mjpeg', '--headless', '--duration', '1']);
    expect(c.code).toBe(5);
    expect(c.stderr).toContain('bars.mjpeg');
  }, 20_000);
});

describe('the legacy Figure 4 file on loopback', () => {
  const run = new LoopbackRun(join(ROOT, 'topologies/report-legacy.json'), movies, {
    bootstrap: 17001,
    overlay: 14445,
    status: 17081,
    rtsp: 18555,
  });
  beforeAll(async () => {
    run.start();
    await run.converged();
  }, 30_000);
  afterAll(() => run.stop());

  it('streams to a client', async () => {
    const out = join(run.dir, 'c.mjpeg');
    const c = await run.client([
      '--address',
      '127.0.8.20',
      '--movie',
      'bounce.mjpeg',
      '--headless',
      '--duration',
      '2',
      '--output',
      out,
    ]);
    expect(c.code, c.stderr).toBe(0);
    expect(matchConsecutive(decodedFrames(out), decodedFrames(join(movies, 'bounce.mjpeg')))).toBeGreaterThan(20);
  }, 30_000);
});
