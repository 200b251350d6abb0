/**
 * How oclient ends when it cannot do its job: an output it cannot write (refused before it logs
 * in, or failing while it plays) and a movie every POP refuses (one round, then the reasons).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSampleMovies } from '../../scripts/make-movies.ts';
import { LoopbackRun } from './loopback-harness.ts';

const movies = mkdtempSync(join(tmpdir(), 'onode-movies-'));
const topology = join(movies, 'fork.json5');

// s1 - n1 - { p1, p2 }: killing n1 leaves both POPs alive but without a way to any server.
const FORK = `{
  nodes: {
    s1: { role: 'server', addresses: ['10.31.1.1'] },
    n1: { role: 'node', addresses: ['10.31.1.2', '10.31.2.1', '10.31.3.1'] },
    p1: { role: 'pop', addresses: ['10.31.2.2', '10.31.100.1'], clientAddresses: ['10.31.100.1'] },
    p2: { role: 'pop', addresses: ['10.31.3.2', '10.31.101.1'], clientAddresses: ['10.31.101.1'] },
  },
  links: [ { between: ['s1', 'n1'] }, { between: ['n1', 'p1'] }, { between: ['n1', 'p2'] } ],
}`;
const CLIENT = '127.31.100.20';
writeFileSync(topology, FORK); // now: the run below loads it as the suite is collected

beforeAll(() => {
  makeSampleMovies(movies, { frames: 40 });
});
afterAll(() => rmSync(movies, { recursive: true, force: true }));

describe('oclient exit codes on loopback', () => {
  const run = new LoopbackRun(topology, movies, { bootstrap: 17300, overlay: 14700, status: 17400, rtsp: 18800 });
  beforeAll(async () => {
    run.emulator.start();
    await run.converged();
  }, 30_000);
  afterAll(() => run.stop());

  const logins = async (): Promise<number> => {
    const s = (await run.status('s1')) as { counters: { bootstrapper: { logins: number } } };
    return s.counters.bootstrapper.logins;
  };

  it('refuses an unwritable --output or --stats before logging in: exit 9, one line naming flag, path and reason', async () => {
    const before = await logins();
    const missing = join(run.dir, 'missing', 'out.mjpeg');
    const out = await run.client(['--address', CLIENT, '--movie', 'bars.mjpeg', '--headless', '--duration', '5', '--output', missing]);
    expect(out.code).toBe(9);
    // Only this line: no POP was probed, nothing was played.
    expect(out.stderr).toBe(`oclient: cannot write --output ${missing}: the directory ${join(run.dir, 'missing')} does not exist\n`);
    expect(out.stdout).toBe('');

    const stats = await run.client(['--address', CLIENT, '--movie', 'bars.mjpeg', '--headless', '--duration', '5',
      '--output', join(run.dir, 'ok.mjpeg'), '--stats', run.dir]);
    expect(stats.code).toBe(9);
    expect(stats.stderr).toBe(`oclient: cannot write --stats ${run.dir}: it is a directory\n`);
    expect(readdirSync(run.dir).filter((f) => f.startsWith('ok.mjpeg'))).toEqual([]); // the check left no file
    expect(await logins()).toBe(before);
  }, 20_000);

  it.skipIf(!existsSync('/dev/full'))('ends with exit 9 and a message when the output fails while playing (disk full)', async () => {
    // /dev/full opens fine and answers every write with ENOSPC, like a disk that fills up.
    const c = await run.client(['--address', CLIENT, '--movie', 'bars.mjpeg', '--headless', '--duration', '10', '--output', '/dev/full']);
    expect(c.code, c.stderr).toBe(9);
    expect(c.stderr).toContain('oclient: cannot write --output /dev/full: no space left on the device');
    expect(c.stderr).not.toMatch(/\n\s+at /); // no stack trace: handled, not thrown
    const stats = JSON.parse(c.stdout) as { framesReceived: number; popsUsed: string[] };
    expect(stats.framesReceived).toBeGreaterThan(0);
    expect(stats.framesReceived).toBeLessThan(100); // stopped at the failure, not after 10 s (250 frames)
    expect(stats.popsUsed).toHaveLength(1);
  }, 30_000);

  it('asks every POP once for a movie none can serve, then exits 8 with each POP\'s reason', async () => {
    run.emulator.kill('n1');
    const deadline = Date.now() + 15_000;
    for (;;) {
      const routes = await Promise.all(['p1', 'p2'].map(async (p) => ((await run.status(p)).routes as unknown[]).length));
      if (routes.every((n) => n === 0)) break;
      if (Date.now() > deadline) throw new Error(`the POPs still have routes: ${routes.join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const c = await run.client(['--address', CLIENT, '--movie', 'bars.mjpeg', '--headless', '--duration', '30']);
    expect(c.code, c.stderr).toBe(8);
    const last = c.stderr.trim().split('\n').at(-1) ?? '';
    expect(last).toMatch(/^oclient: every POP refused bars\.mjpeg: p[12] (404|503) [\w -]+, p[12] (404|503) [\w -]+$/);
    expect(last).toContain('p1 ');
    expect(last).toContain('p2 ');
    // One round: the closest POP hands over to the other once, and neither is asked twice.
    expect(c.stderr.match(/switching to/g)).toHaveLength(1);
    expect(c.stdout).toBe('');
  }, 40_000);
});
