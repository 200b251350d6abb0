/**
 * The report's topology in real, stock CORE 9.2 (npm run setup builds it from the vendored
 * source): `onode core --run` starts a daemon when none runs, loads and starts the scenario with
 * core-cli, five clients play, and everything it made is gone afterwards; and the scenario
 * written for the GUI starts through the GUI's own gRPC calls and plays. Skipped, with the reason
 * printed, only where the machine cannot create network namespaces; anywhere else a missing CORE
 * is a failure, not a skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { deleteSession, ensureDaemon } from '../../onode/emulators/core-daemon.ts';
import type { CoreResult } from '../../onode/emulators/core-runner.ts';
import { hasCommand, namespacesProblem, requireCommands, skippedTitle } from '../capabilities.ts';
import { holdEmulatorLock } from './emulator-lock.ts';
import { expectIdenticalFramesAtThreePops, rootInterfaces, runOnode } from './emulator-checks.ts';
import { ONODE, ROOT } from './loopback-harness.ts';

const problem = namespacesProblem();
const TOOLS = ['core-daemon', 'core-cli', 'vcmd', 'ip', 'ps'];

/** Live processes (zombies are only waiting for their parent to read them). */
function processes(): string[] {
  return spawnSync('ps', ['-eo', 'stat=,args='], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('Z'))
    .map((l) => l.trim().replace(/^\S+\s+/, ''));
}

const sessionDirs = (): string[] => readdirSync('/tmp').filter((f) => /^pycore\.\d+$/.test(f));

interface Stats {
  pop: string;
  movie: string;
  framesReceived: number;
}

describe.skipIf(problem !== null)(skippedTitle('CORE: the report topology', problem), () => {
  const movies = mkdtempSync(join(tmpdir(), 'onode-core-movies-'));
  const out = mkdtempSync(join(tmpdir(), 'onode-core-out-'));
  let run: { code: number; stdout: string; stderr: string };
  let result: CoreResult;
  let daemonBefore = false;
  let left: { interfaces: string[]; processes: string[]; sessions: string[]; daemon: boolean };

  beforeAll(async () => {
    if (!TOOLS.every(hasCommand)) return; // each test fails in beforeEach, naming what setup installs
    const release = await holdEmulatorLock();
    try {
      makeSampleMovies(movies, { frames: 40 });
      const interfaces = new Set(rootInterfaces());
      const sessions = new Set(sessionDirs());
      daemonBefore = processes().some((p) => p.includes('core-daemon'));
      run = await runOnode([
        'core',
        join(ROOT, 'topologies/report.json5'),
        '--run',
        '--duration',
        '40',
        '--out',
        out,
        '--movies',
        movies,
      ]);
      result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as CoreResult;
      const ours = `/tmp/pycore.${result.session}/`;
      // What is left is looked at before another emulator test may start.
      left = {
        interfaces: rootInterfaces().filter((i) => !interfaces.has(i)),
        processes: processes().filter((p) => p.includes(out) || p.includes('10.0.25.10') || p.includes(ours)),
        sessions: sessionDirs().filter((s) => !sessions.has(s)),
        daemon: processes().some((p) => p.includes('core-daemon')),
      };
    } finally {
      await release();
    }
  }, 180_000);

  beforeEach(() => requireCommands(...TOOLS));

  afterAll(() => {
    rmSync(movies, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('loads the scenario in stock CORE and exits 0 with every node registered', () => {
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(result.ready).toBe(true);
    expect(result.session).toBeGreaterThan(0);
    expect([...(result.registered ?? [])].sort()).toEqual(['o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9', 's1', 's2']);
    expect(run.stdout).toContain('every client received its stream');
    // The scenario names only stock services: nothing of CORE was configured for it.
    const xml = readFileSync(join(out, 'scenario.xml'), 'utf8');
    expect(new Set([...xml.matchAll(/<service name="([^"]+)"/g)].map((m) => m[1]))).toEqual(new Set(['StaticRoute']));
    expect(existsSync('/opt/core/custom_services/userdefined.py')).toBe(false);
  });

  it('three clients on three different POPs receive frames identical to the source', () => {
    expectIdenticalFramesAtThreePops(out, movies);
  });

  it('leaves no CORE session, bridge or process behind', () => {
    expect(run.stdout).toMatch(/CORE session \d+ deleted/);
    expect(left.sessions).toEqual([]);
    expect(left.interfaces).toEqual([]);
    expect(left.processes).toEqual([]);
    // The daemon is stopped only if this run started it.
    expect(left.daemon).toBe(daemonBefore);
  });
});

const CORE_PYTHON = '/opt/core/venv/bin/python';

describe.skipIf(problem !== null)(skippedTitle("CORE: the GUI's open-and-start", problem), () => {
  const movies = mkdtempSync(join(tmpdir(), 'onode-coregui-movies-'));
  const logs = mkdtempSync(join(tmpdir(), 'onode-coregui-logs-'));
  let started: { session: number; opened: boolean; started: boolean; exceptions: string[]; nodes: number };
  let configured: string[] = [];
  let stats: Map<string, Stats | null>;
  const clientLogs = new Map<string, string>();

  beforeAll(async () => {
    if (!TOOLS.every(hasCommand) || !existsSync(CORE_PYTHON)) return; // beforeEach fails, naming it
    const release = await holdEmulatorLock();
    const daemon = await ensureDaemon(join(logs, 'core-daemon.log'));
    let session: number | null = null;
    try {
      makeSampleMovies(movies, { frames: 40 });
      const scenario = spawnSync(
        process.execPath,
        [ONODE, 'core', join(ROOT, 'topologies/report.json5'), '--movies', movies, '--log-dir', logs].concat([
          // CORE starts the nodes one after another, and a POP refuses (404) a movie its catalogue
          // has not learned yet: 4 s was sometimes too soon for c1 on a loaded machine.
          '--client-delay',
          '10',
          '--client-duration',
          '10',
        ]),
        { encoding: 'utf8' },
      );
      if (scenario.status !== 0) throw new Error(`onode core: ${scenario.stderr}`);
      writeFileSync(join(logs, 'scenario.xml'), scenario.stdout);
      const gui = spawnSync(CORE_PYTHON, [join(ROOT, 'test/e2e/core-gui-start.py'), join(logs, 'scenario.xml')], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      const reply = JSON.parse(gui.stdout.trim().split('\n').at(-1) ?? '{}') as typeof started & {
        configuredServices: string[];
      };
      started = reply;
      configured = reply.configuredServices;
      session = reply.session;
      // Clients start 10 s after their node and play 10 s: wait until each has written its final stats.
      const clients = ['c1', 'c2', 'c3', 'c4', 'c5'];
      const read = (c: string): (Stats & { durationS?: number }) | null => {
        try {
          return JSON.parse(readFileSync(join(logs, `${c}.stats.json`), 'utf8')) as Stats & { durationS?: number };
        } catch {
          return null;
        }
      };
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !clients.every((c) => read(c)?.durationS !== undefined)) {
        await new Promise((r) => setTimeout(r, 500));
      }
      stats = new Map(clients.map((c) => [c, read(c)]));
      for (const c of clients) {
        try {
          clientLogs.set(c, readFileSync(join(logs, `${c}.log`), 'utf8').slice(-2000));
        } catch {}
      }
    } finally {
      if (session !== null) await deleteSession(session);
      await daemon.stop();
      await release();
    }
  }, 180_000);

  beforeEach(() => {
    requireCommands(...TOOLS);
    if (!existsSync(CORE_PYTHON)) throw new Error(`no ${CORE_PYTHON}: npm run setup installs CORE`);
  });

  afterAll(() => {
    rmSync(movies, { recursive: true, force: true });
    rmSync(logs, { recursive: true, force: true });
  });

  it('opens without starting, then starts the session the GUI holds, with its StaticRoute templates', () => {
    expect(started).toMatchObject({ opened: true, started: true, exceptions: [], nodes: 18 });
    expect(configured).toEqual(['StaticRoute']);
  });

  it('plays on every client, each from the POP on its LAN', () => {
    const pops = Object.fromEntries([...stats].map(([c, s]) => [c, s?.pop]));
    // A client without stats: what it said (its log) is the clue.
    const silent = [...stats].filter(([, s]) => s === null).map(([c]) => `${c}: ${clientLogs.get(c) ?? '(no log)'}`);
    expect(pops, silent.join('\n')).toEqual({ c1: 'o5', c2: 'o6', c3: 'o6', c4: 'o7', c5: 'o5' });
    // 250 frames in 10 s; a starved host's second of silence and a failover still leave well over 100.
    for (const [c, s] of stats)
      expect(s?.framesReceived ?? 0, `${c}: ${JSON.stringify(s)}\n${clientLogs.get(c) ?? ''}`).toBeGreaterThan(100);
  });
});
