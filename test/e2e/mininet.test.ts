/**
 * The report's topology in real Mininet (the Debian package, run as root): `onode mininet
 * --duration` builds the network, starts every role with scripts/run.sh, and five clients play.
 * Skipped, with the reason printed, only where the machine cannot create network namespaces;
 * anywhere else a missing Mininet is a failure, not a skip.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DriverResult } from '../../onode/emulators/run-summary.ts';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { hasCommand, namespacesProblem, requireCommands, skippedTitle } from '../capabilities.ts';
import { holdEmulatorLock } from './emulator-lock.ts';
import { expectIdenticalFramesAtThreePops, rootInterfaces, runOnode } from './emulator-checks.ts';
import { ROOT } from './loopback-harness.ts';

const problem = namespacesProblem();
const TOOLS = ['mn', 'ip', 'ps'];

describe.skipIf(problem !== null)(skippedTitle('Mininet: the report topology', problem), () => {
  const movies = mkdtempSync(join(tmpdir(), 'onode-mn-movies-'));
  const out = mkdtempSync(join(tmpdir(), 'onode-mn-out-'));
  let run: { code: number; stdout: string; stderr: string };
  let result: DriverResult;
  const seenInRoot = new Set<string>();
  let before = new Set<string>();
  let leftInterfaces: string[] = [];
  let leftProcesses: string[] = [];

  beforeAll(async () => {
    if (!TOOLS.every(hasCommand)) return; // each test fails in beforeEach, naming what setup installs
    const release = await holdEmulatorLock();
    before = new Set(rootInterfaces());
    makeSampleMovies(movies, { frames: 40 });
    // Sample the machine's own namespace all along: the emulated network must never appear in it.
    const sampler = setInterval(() => {
      for (const i of rootInterfaces()) if (!before.has(i)) seenInRoot.add(i);
    }, 250);
    try {
      run = await runOnode([
        'mininet',
        join(ROOT, 'topologies/report.json5'),
        '--duration',
        '30',
        '--out',
        out,
        '--movies',
        movies,
      ]);
    } finally {
      clearInterval(sampler);
      // What is left is looked at before another emulator test may start.
      leftInterfaces = rootInterfaces().filter((i) => !before.has(i));
      leftProcesses = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout.split('\n');
      await release();
    }
    result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as DriverResult;
  }, 180_000);

  beforeEach(() => requireCommands(...TOOLS));

  afterAll(() => {
    rmSync(movies, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('exits 0 with every node registered', () => {
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(result.ready).toBe(true);
    expect([...(result.registered ?? [])].sort()).toEqual(['o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9', 's1', 's2']);
    expect(run.stdout).toContain('every client received its stream');
  });

  it('three clients on three different POPs receive frames identical to the source', () => {
    expectIdenticalFramesAtThreePops(out, movies);
  });

  it('builds the network in namespaces of its own, with nothing attached to the machine', () => {
    expect([...seenInRoot]).toEqual([]);
    const links = result.hostLinks ?? {};
    // 10 nodes, 2 routers, 5 clients and the switch of c1 and c5's LAN.
    expect(Object.keys(links)).toHaveLength(18);
    const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')) as {
      hosts: { name: string; role: string; interfaces: { name: string }[] }[];
    };
    for (const host of plan.hosts) {
      const expected = ['lo', ...host.interfaces.map((i) => i.name), ...(host.role === 'switch' ? ['br0'] : [])].sort();
      expect(links[host.name], host.name).toEqual(expected);
    }
  });

  it('removes everything when it ends', () => {
    expect(leftInterfaces).toEqual([]);
    // Loopback runs use 127.0.25.10; 10.0.25.10 is only ever the bootstrapper inside an emulator.
    expect(leftProcesses.filter((p) => p.includes('10.0.25.10') || p.includes(out) || p.startsWith('mnexec'))).toEqual(
      [],
    );
  });
});
