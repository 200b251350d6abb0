/**
 * The terminal player follows the same failover policy as the headless client: started on a POP
 * given by --pop, it moves to another POP when that one is killed, and plays on.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { requireCommands } from '../capabilities.ts';
import { OCLIENT, ROOT, suiteRun } from './loopback-harness.ts';

const PORTS = { bootstrap: 17050, overlay: 14490, status: 17060, rtsp: 18590 };
const SOCKET = `oclient-failover-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the terminal player when its POP dies', () => {
  const run = suiteRun(join(ROOT, 'topologies/report.json5'), PORTS);

  beforeEach(() => requireCommands('tmux'));
  afterAll(() => {
    try {
      tmux('kill-server');
    } catch {
      // no session was left
    }
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true });
  });

  const screen = (): string => tmux('capture-pane', '-p', '-t', 'failover');
  async function waitFor(what: string, test: (s: string) => boolean, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = screen();
      if (test(s)) return s;
      if (Date.now() > deadline) throw new Error(`waiting for ${what}; the screen:\n${s}`);
      await sleep(100);
    }
  }
  const frames = (s: string): number => Number(/frames\s+(\d+)/.exec(s)?.[1] ?? Number.NaN);

  it('moves to another POP (even one not probed, after --pop) and keeps playing; q exits 0', async () => {
    const o7 = run.topology.nodes.get('o7')?.clientAddresses[0] ?? '';
    const exitFile = join(run.dir, 'failover.exit');
    const cmd = [
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
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    tmux('new-session', '-d', '-s', 'failover', '-x', '120', '-y', '40', `${cmd}; echo $? > '${exitFile}'; sleep 120`);
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
    const before = frames(screen());
    await waitFor('frames from the new POP', (x) => /state\s+playing/.test(x) && frames(x) >= before + 10);
    expect(((await run.status(pop ?? '')).sessions as unknown[]).length).toBe(1);

    tmux('send-keys', '-t', 'failover', 'q');
    const deadline = Date.now() + 10_000;
    while (!existsSync(exitFile) || readFileSync(exitFile, 'utf8').trim() === '') {
      if (Date.now() > deadline) throw new Error('oclient did not exit');
      await sleep(100);
    }
    expect(Number(readFileSync(exitFile, 'utf8').trim())).toBe(0);
  }, 60_000);
});
