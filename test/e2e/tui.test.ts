/**
 * The interactive player for real: oclient in a tmux pane (120 x 40) against the report's
 * topology on loopback, driven with send-keys and read back with capture-pane. tmux runs on a
 * socket of its own, so a user's tmux sessions are neither seen nor touched.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../common/wire/status-api.ts';
import { requireCommands } from '../capabilities.ts';
import { OCLIENT, ROOT, suiteRun } from './loopback-harness.ts';
import { TmuxPanes } from './tmux-harness.ts';

const PORTS = { bootstrap: 17030, overlay: 14474, status: 17110, rtsp: 18584 };

describe('the terminal player in tmux', () => {
  const run = suiteRun(join(ROOT, 'topologies/report.json5'), PORTS);
  const bootstrapper = (): string => `${run.address(run.topology.bootstrapper)}:${PORTS.bootstrap}`;
  const common = (): string[] => [
    '--bootstrapper',
    bootstrapper(),
    '--rtsp-port',
    String(PORTS.rtsp),
    '--overlay-port',
    String(PORTS.overlay),
  ];
  const panes = new TmuxPanes('oclient-e2e', () => run.dir);
  const tmux = (...args: string[]): string => panes.tmux(...args);

  // Without tmux each test fails (not skips), naming what `npm run setup` installs.
  beforeEach(() => requireCommands('tmux'));

  afterAll(() => panes.close());

  /** Starts oclient in a new pane; its exit code lands in the returned file. */
  const start = (args: string[]) => panes.start([process.execPath, OCLIENT, ...common(), ...args]);
  const screen = (name: string): string => panes.screen(name);
  const waitFor = (name: string, what: string, test: (s: string) => boolean, timeoutMs?: number) =>
    panes.waitFor(name, what, test, timeoutMs);
  const exitCode = (file: string, timeoutMs?: number) => panes.exitCode(file, timeoutMs);

  /**
   * Clicks the middle of the first occurrence of label, as an SGR mouse press and release. They
   * go apart: blessed reads one mouse event per input chunk, and a human's click is never that fast.
   */
  async function click(name: string, label: string): Promise<void> {
    const lines = screen(name).split('\n');
    const row = lines.findIndex((l) => l.includes(label));
    if (row < 0) throw new Error(`no ${label} on the screen`);
    const col = (lines[row] ?? '').indexOf(label) + Math.floor(label.length / 2);
    tmux('send-keys', '-t', name, '-l', `\x1b[<0;${col + 1};${row + 1}M`);
    await sleep(100);
    tmux('send-keys', '-t', name, '-l', `\x1b[<0;${col + 1};${row + 1}m`);
  }

  /**
   * Clicks a button until the screen shows its effect: on a loaded machine a mouse event typed into
   * tmux is now and then lost before it reaches the terminal (the same click works on a second try;
   * a button that does nothing fails both).
   */
  async function clickUntil(name: string, label: string, what: string, test: (s: string) => boolean): Promise<void> {
    await click(name, label);
    try {
      await waitFor(name, what, test, 3000);
    } catch {
      await click(name, label);
      await waitFor(name, what, test);
    }
  }

  const frames = (s: string): number => Number(/frames\s+(\d+)/.exec(s)?.[1] ?? NaN);

  /** The frame count once two readings 500 ms apart agree (within timeoutMs). */
  async function steadyFrames(name: string, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = frames(screen(name));
    for (;;) {
      await sleep(500);
      const now = frames(screen(name));
      if (now === last || Date.now() > deadline) return now;
      last = now;
    }
  }
  const chosenPop = (s: string): string => /▶ (\S+)/.exec(s)?.[1] ?? '';

  async function popIdle(pop: string, timeoutMs = 5000): Promise<StatusReport> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await run.status(pop);
      if ((s.streams?.length === 0 && s.sessions?.length === 0) || Date.now() > deadline) return s;
      await sleep(100);
    }
  }

  it('picks a movie from the list, plays, pauses, tears down and quits cleanly', async () => {
    const { name, exitFile } = start(['--address', '127.0.6.20']);
    await waitFor(name, 'the movie list', (s) => s.includes('choose a movie') && s.includes('gradient.mjpeg'));
    tmux('send-keys', '-t', name, 'Down', 'Enter');

    let s = await waitFor(
      name,
      'bounce.mjpeg playing',
      (x) => x.includes('bounce.mjpeg') && /state\s+playing/.test(x) && frames(x) > 0,
    );
    expect(s).toContain('▀'); // the picture, in half blocks
    const pop = chosenPop(s);
    expect(['o5', 'o6', 'o7']).toContain(pop);
    // Frames keep coming (25 fps). Waited for rather than counted over a fixed sleep: on a loaded
    // machine the screen may fall behind for a while, which says nothing about playback.
    const before = frames(s);
    await waitFor(name, 'more frames', (x) => frames(x) > before + 15);
    // It reports its playback to the POP, which lists it in GET /viewers with its own figures.
    await waitFor(name, 'reports on', (x) => x.includes('stats to POP'));
    const reported = async (): Promise<boolean> => {
      const res = await fetch(`http://${run.address(pop)}:${PORTS.status}/viewers`);
      const body = (await res.json()) as { viewers: { player: string; movie: string; fps: number | null }[] };
      return body.viewers.some((r) => r.player === 'oclient' && r.movie === 'bounce.mjpeg' && (r.fps ?? 0) > 0);
    };
    const reportBy = Date.now() + 10_000;
    while (!(await reported()) && Date.now() < reportBy) await sleep(200);
    expect(await reported()).toBe(true);

    tmux('send-keys', '-t', name, 'a');
    s = await waitFor(name, 'paused', (x) => /state\s+paused/.test(x));
    // Packets already in flight may still be drawn: wait until the count holds, then it must stay.
    const paused = await steadyFrames(name);
    await sleep(1500);
    expect(frames(screen(name))).toBe(paused);
    expect((await run.status(pop)).sessions).toHaveLength(1);

    tmux('send-keys', '-t', name, 't');
    await waitFor(name, 'torn down', (x) => /state\s+closed/.test(x) && x.includes('torn down'));
    expect(await popIdle(pop)).toMatchObject({ streams: [], sessions: [] });

    tmux('send-keys', '-t', name, 'q');
    expect(await exitCode(exitFile)).toBe(0);
    s = screen(name);
    expect(s).not.toContain('statistics'); // back on the normal screen
    expect(s).toContain(`POP ${pop}`);
  }, 60_000);

  it('answers mouse clicks on the buttons, and sends TEARDOWN when q quits during playback', async () => {
    const o7 = run.topology.nodes.get('o7')?.clientAddresses[0] ?? '';
    const { name, exitFile } = start(['--address', '127.0.9.20', '--pop', o7, '--movie', 'gradient.mjpeg']);
    await waitFor(name, 'playing', (x) => /state\s+playing/.test(x) && frames(x) > 5);
    await clickUntil(name, 'PAUSE [a]', 'paused by a click', (x) => /state\s+paused/.test(x));
    await clickUntil(name, 'PLAY [p]', 'playing again after a click', (x) => /state\s+playing/.test(x));
    expect((await run.status('o7')).sessions).toHaveLength(1);
    tmux('send-keys', '-t', name, 'q');
    expect(await exitCode(exitFile)).toBe(0);
    expect(await popIdle('o7')).toMatchObject({ streams: [], sessions: [] });
  }, 30_000);

  it('restores the terminal before printing a failure, with the headless exit code', async () => {
    const { name, exitFile } = start([
      '--address',
      '127.0.6.20',
      '--movie',
      'bars.mjpeg',
      '--rtsp-port',
      String(PORTS.rtsp + 1),
    ]);
    expect(await exitCode(exitFile)).toBe(6);
    const s = screen(name);
    expect(s).toContain("oclient: cannot connect to the POP's RTSP");
    expect(s).not.toContain('statistics');
  }, 20_000);

  describe('--player', () => {
    const bin = join(run.dir, 'bin');
    const argsFile = join(run.dir, 'player-args');

    function client(args: string[], path: string): Promise<{ code: number; stderr: string }> {
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          [OCLIENT, ...common(), '--address', '127.0.6.20', ...args],
          { env: { ...process.env, PATH: path }, timeout: 20_000 },
          (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        );
      });
    }

    it('hands the RTSP URL to the player and forwards its exit code', async () => {
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'ffplay'), `#!/bin/sh\necho "$@" > '${argsFile}'\nexit 7\n`);
      chmodSync(join(bin, 'ffplay'), 0o755);
      const c = await client(
        ['--movie', 'bars.mjpeg', '--player', 'ffplay', '--transport', 'tcp'],
        `${bin}:${process.env.PATH ?? ''}`,
      );
      expect(c.code, c.stderr).toBe(7);
      const args = readFileSync(argsFile, 'utf8');
      expect(args).toMatch(
        new RegExp(`-rtsp_transport tcp .*rtsp://127\\.0\\.\\d+\\.2:${PORTS.rtsp}/bars\\.mjpeg$`, 'm'),
      );
    }, 20_000);

    it('says so when the player is not installed', async () => {
      const empty = join(run.dir, 'empty');
      mkdirSync(empty, { recursive: true });
      const c = await client(['--movie', 'bars.mjpeg', '--player', 'mpv'], empty);
      expect(c.code).toBe(127);
      expect(c.stderr).toContain('mpv is not installed');
    }, 20_000);
  });
});
