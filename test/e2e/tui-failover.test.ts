/**
 * The terminal player follows the same failover policy as the headless client: started on a POP
 * given by --pop, it moves to another POP when that one is killed, and plays on.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { requireCommands } from '../capabilities.ts';
import { OCLIENT, ROOT, suiteRun } from './loopback-harness.ts';
import { TmuxPanes } from './tmux-harness.ts';

const PORTS = { bootstrap: 17050, overlay: 14490, status: 17060, rtsp: 18590 };

describe('the terminal player when its POP dies', () => {
  const run = suiteRun(join(ROOT, 'topologies/report.json5'), PORTS);
  const panes = new TmuxPanes('oclient-failover', () => run.dir);

  beforeEach(() => requireCommands('tmux'));
  afterAll(() => panes.close());

  const waitFor = (what: string, test: (s: string) => boolean): Promise<string> =>
    panes.waitFor('failover', what, test, 15_000);
  const frames = (s: string): number => Number(/frames\s+(\d+)/.exec(s)?.[1] ?? Number.NaN);

  it('moves to another POP (even one not probed, after --pop) and keeps playing; q exits 0', async () => {
    const o7 = run.topology.nodes.get('o7')?.clientAddresses[0] ?? '';
    const { exitFile } = panes.start(
      [
        process.execPath,
        OCLIENT,
        '--bootstrapper',
        `${run.address(run.topology.bootstrapper)}:${PORTS.bootstrap}`,
        '--rtsp-port',
        String(PORTS.rtsp),
        '--overlay-port',
        String(PORTS.overlay),
        '--address',
        '127.0.9.20',
        '--pop',
        o7,
        '--movie',
        'bars.mjpeg',
      ],
      'failover',
    );
    await waitFor(
      'playing from o7',
      (s) => /state\s+playing/.test(s) && frames(s) > 5 && s.includes('o7 (from --pop)'),
    );

    run.emulator.kill('o7');
    const s = await waitFor('a failover', (x) => x.includes('(after a failover)'));
    const pop = /(o[56]) \(after a failover\)/.exec(s)?.[1];
    expect(pop, s).toBeDefined();
    await waitFor(`playing from ${pop}`, (x) => x.includes(`playing bars.mjpeg from ${pop}`));
    await sleep(1000); // the statistics panel is redrawn every 500 ms
    const before = frames(panes.screen('failover'));
    await waitFor('frames from the new POP', (x) => /state\s+playing/.test(x) && frames(x) >= before + 10);
    // Over both POPs, no frame was shown twice (the next POP's fast start does not repeat the last one).
    expect(panes.screen('failover')).toMatch(/timeline\s+0 repeated/);
    expect(((await run.status(pop ?? '')).sessions as unknown[]).length).toBe(1);

    panes.tmux('send-keys', '-t', 'failover', 'q');
    expect(await panes.exitCode(exitFile)).toBe(0);
  }, 60_000);
});
