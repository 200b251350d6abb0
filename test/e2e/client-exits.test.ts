/**
 * How oclient ends when it cannot do its job: an output it cannot write (refused before it logs
 * in, or failing while it plays) and a movie every POP refuses (one round, then the reasons).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { LoopbackRun, OCLIENT } from './loopback-harness.ts';
import { TmuxPanes } from './tmux-harness.ts';

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
const PORTS = { bootstrap: 17300, overlay: 14700, status: 17410, rtsp: 18800 };
const HAS_TMUX = spawnSync('tmux', ['-V']).status === 0;
writeFileSync(topology, FORK); // now: the run below loads it as the suite is collected

beforeAll(() => {
  makeSampleMovies(movies, { frames: 40 });
});
afterAll(() => rmSync(movies, { recursive: true, force: true }));

describe('oclient exit codes on loopback', () => {
  const run = new LoopbackRun(topology, movies, PORTS);
  const panes = new TmuxPanes('oclient-exits', () => run.dir);
  beforeAll(async () => {
    run.start();
    await run.converged();
  }, 30_000);
  afterAll(async () => {
    if (HAS_TMUX) panes.close();
    await run.stop();
  });

  /** Kills n1 (once) and waits until neither POP has a route: the movie is in the catalogue, no POP can serve it. */
  let isolated = false;
  async function isolatePops(): Promise<void> {
    if (!isolated) run.emulator.kill('n1');
    isolated = true;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const count = async (pop: string): Promise<number> => (await run.status(pop)).routes?.length ?? 0;
      const routes = await Promise.all(['p1', 'p2'].map(count));
      if (routes.every((n) => n === 0)) return;
      if (Date.now() > deadline) throw new Error(`the POPs still have routes: ${routes.join(', ')}`);
      await sleep(200);
    }
  }

  const logins = async (): Promise<number> => {
    return (await run.status('s1')).counters?.bootstrapper?.logins ?? 0;
  };

  it('refuses an unwritable --output or --stats before login: exit 9, one line with flag, path, reason', async () => {
    const before = await logins();
    const missing = join(run.dir, 'missing', 'out.mjpeg');
    const headless = ['--address', CLIENT, '--movie', 'bars.mjpeg', '--headless', '--duration', '5'];
    const out = await run.client([...headless, '--output', missing]);
    expect(out.code).toBe(9);
    // Only this line: no POP was probed, nothing was played.
    const reason = `the directory ${join(run.dir, 'missing')} does not exist`;
    expect(out.stderr).toBe(`oclient: cannot write --output ${missing}: ${reason}\n`);
    expect(out.stdout).toBe('');

    const stats = await run.client([...headless, '--output', join(run.dir, 'ok.mjpeg'), '--stats', run.dir]);
    expect(stats.code).toBe(9);
    expect(stats.stderr).toBe(`oclient: cannot write --stats ${run.dir}: it is a directory\n`);
    expect(readdirSync(run.dir).filter((f) => f.startsWith('ok.mjpeg'))).toEqual([]); // the check left no file
    expect(await logins()).toBe(before);
  }, 20_000);

  it('plays from a POP named with --pop even when its RTT probe goes unanswered (RTSP decides)', async () => {
    const pop = run.topology.nodes.get('p1')?.clientAddresses[0] ?? '';
    // Probes to a port nobody listens on: no answer, as on a host too busy to answer UDP in time.
    const c = await run.client([
      ...['--address', CLIENT, '--pop', pop, '--overlay-port', '9'],
      ...['--movie', 'bars.mjpeg', '--headless', '--duration', '2'],
    ]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toContain('no answer to the RTT probe; trying it anyway (--pop)');
    const stats = JSON.parse(c.stdout) as { pop: string; popRttMs: number | null; framesReceived: number };
    expect(stats).toMatchObject({ pop: 'p1', popRttMs: null });
    expect(stats.framesReceived).toBeGreaterThan(20);
  }, 20_000);

  const hasDevFull = existsSync('/dev/full');
  it.skipIf(!hasDevFull)(
    'ends with exit 9 and a message when the output fails while playing (disk full)',
    async () => {
      // /dev/full opens fine and answers every write with ENOSPC, like a disk that fills up.
      const c = await run.client([
        '--address',
        CLIENT,
        '--movie',
        'bars.mjpeg',
        '--headless',
        '--duration',
        '10',
        '--output',
        '/dev/full',
      ]);
      expect(c.code, c.stderr).toBe(9);
      expect(c.stderr).toContain('oclient: cannot write --output /dev/full: no space left on the device');
      expect(c.stderr).not.toMatch(/\n\s+at /); // no stack trace: handled, not thrown
      const stats = JSON.parse(c.stdout) as { framesReceived: number; popsUsed: string[] };
      expect(stats.framesReceived).toBeGreaterThan(0);
      expect(stats.framesReceived).toBeLessThan(100); // stopped at the failure, not after 10 s (250 frames)
      expect(stats.popsUsed).toHaveLength(1);
    },
    30_000,
  );

  it("asks every POP once for a movie none can serve, then exits 8 with each POP's reason", async () => {
    await isolatePops();
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

  it.skipIf(!HAS_TMUX)(
    "the terminal player shows every POP's refusal, stays open, exits 8 on q",
    async () => {
      await isolatePops();
      const { name, exitFile } = panes.start(
        [
          process.execPath,
          OCLIENT,
          '--bootstrapper',
          `${run.address('s1')}:${PORTS.bootstrap}`,
          '--rtsp-port',
          String(PORTS.rtsp),
          '--overlay-port',
          String(PORTS.overlay),
          '--address',
          CLIENT,
          '--movie',
          'bars.mjpeg',
        ],
        'refused',
      );
      await panes.waitFor(name, 'the refusals', (x) => x.includes('every POP refused bars.mjpeg'), 15_000);
      await sleep(1000); // it must not go on trying
      const s = panes.screen(name);
      expect(s).toMatch(/every POP refused bars\.mjpeg: p[12] (404|503) [\w -]+, p[12] (404|503)/);
      expect(s).toContain('q: quit');
      expect(existsSync(exitFile)).toBe(false);
      panes.tmux('send-keys', '-t', name, 'q');
      expect(await panes.exitCode(exitFile)).toBe(8);
      expect(panes.screen(name)).toContain('oclient: every POP refused bars.mjpeg');
    },
    40_000,
  );
});
