/**
 * One size of `bench/scale/real.ts`: a network made by `onode topology generate` run as real onode
 * processes on loopback (one per place, link delays applied by the nodes), then
 *
 *   registered  wall seconds from starting the processes until the bootstrapper holds every node;
 *   routed      ... until every POP reports (GET /status) a route to every server;
 *   idle        after a settling pause, each process's CPU (utime + stime from /proc/PID/stat) over
 *               an idle window in which nothing polls the nodes, and its memory at the end of it;
 *   streaming   headless oclients, spread over the POPs and the movies, play at once; memory is read
 *               halfway through and each client says how many frames it received.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLE_MOVIES } from '../../common/samples/sample-movies.ts';
import type { LoopbackRun } from '../../onode/emulators/loopback-run.ts';
import { type BenchPorts, benchRun } from '../common/emulation.ts';
import { type Memory, processCpuSeconds, processMemory } from '../common/proc.ts';

export interface RealScaleOptions {
  readonly nodes: number;
  readonly servers: number;
  readonly pops: number;
  readonly clients: number;
  readonly seed: number;
  /** Seconds the idle CPU is measured over. */
  readonly idleSeconds: number;
  /** Seconds each client plays. */
  readonly watchSeconds: number;
  /** Seconds from the start by which the overlay must be routed; past it the run ends unrouted. */
  readonly limitSeconds: number;
  readonly dist: string;
  readonly moviesDir: string;
  /** A directory for the generated topology file (the caller removes it, also on Ctrl-C). */
  readonly scratch: string;
  readonly ports: BenchPorts;
  /** Called with the run once started, and with null once stopped (the caller's Ctrl-C stops it). */
  readonly onRun?: (run: LoopbackRun | null) => void;
}

export type ScaleRole = 'bootstrapper' | 'server' | 'node' | 'pop';

/** Per role: resident set (VmRSS), its anonymous part (RssAnon) and PSS, mean and max, in MB. */
export interface RoleMemory {
  readonly role: ScaleRole;
  readonly count: number;
  readonly rssMeanMb: number;
  readonly rssMaxMb: number;
  readonly anonMeanMb: number;
  readonly anonMaxMb: number;
  /** Proportional set size (PSS): the shared code counted once across the processes. */
  readonly pssMeanMb: number;
  readonly pssMaxMb: number;
  /** Peak resident set (VmHWM) over the run so far, max of the role. */
  readonly peakMaxMb: number;
}

/** Per role: % of one core used while idle, mean and max. */
export interface RoleCpu {
  readonly role: ScaleRole;
  readonly meanPct: number;
  readonly maxPct: number;
}

export interface RealScaleResult {
  readonly nodes: number;
  readonly servers: number;
  readonly pops: number;
  readonly relays: number;
  /** Nodes the bootstrapper held (all of them once registeredSec is set). */
  readonly registered: number;
  readonly registeredSec: number | null;
  readonly routedSec: number | null;
  /** CPU seconds every node process used from its start until routed: what a start costs the machine. */
  readonly startCpuSec: number | null;
  readonly idleMemory: readonly RoleMemory[];
  readonly idleCpu: readonly RoleCpu[];
  readonly streamingMemory: readonly RoleMemory[];
  readonly clients: number;
  readonly clientsWithFrames: number;
  readonly clientFramesMin: number;
  readonly clientFramesMean: number;
  readonly clientFailures: readonly string[];
}

const POLL_MS = 500;
/** Pause between routed and the idle window: catalogues, first RTTs and the start's garbage settle. */
const SETTLE_MS = 5000;
const MB = 1024;
/** Between one client's start and the next. */
const CLIENT_GAP_MS = 250;

export async function measureRealScale(opts: RealScaleOptions): Promise<RealScaleResult> {
  const file = join(opts.scratch, `waxman-${opts.nodes}.json5`);
  execFileSync(
    process.execPath,
    [
      join(opts.dist, 'onode/cli/main.js'),
      'topology',
      'generate',
      '--nodes',
      String(opts.nodes),
      '--model',
      'waxman',
      '--servers',
      String(opts.servers),
      '--pops',
      String(opts.pops),
      '--seed',
      String(opts.seed),
      '--out',
      file,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Nodes give up on the bootstrapper after --wait seconds (60): hundreds starting at once on two
  // cores can take longer, and a node that gave up would only make the run fail later.
  const run = benchRun(file, opts.dist, opts.ports, opts.moviesDir, ['--wait', String(opts.limitSeconds)]);
  const roleOf = (name: string): ScaleRole =>
    name === run.topology.bootstrapper ? 'bootstrapper' : (run.topology.nodes.get(name)?.role ?? 'node');
  try {
    const t0 = performance.now();
    run.start();
    opts.onRun?.(run);
    const sec = (): number => (performance.now() - t0) / 1000;
    const everyone = run.topology.nodes.size;
    let registeredSec: number | null = null;
    let routedSec: number | null = null;
    let registered = 0;
    while (sec() < opts.limitSeconds) {
      if (registeredSec === null) {
        const names = (await run.statusOrNull(run.topology.bootstrapper))?.registered;
        registered = Math.max(registered, names?.length ?? 0);
        if (registered >= everyone) registeredSec = sec();
      }
      if (registeredSec !== null && (await run.isConverged({ catalogue: false }))) {
        routedSec = sec();
        break;
      }
      await sleep(POLL_MS);
    }
    const pids = run.emulator.pids();
    const startCpuSec = routedSec === null ? null : sum([...pids.values()].map((p) => processCpuSeconds(p) ?? 0));
    const base = {
      nodes: everyone,
      servers: run.names('server').length,
      pops: run.names('pop').length,
      relays: run.names('node').length,
      registered,
      registeredSec,
      routedSec,
      startCpuSec,
      clients: opts.clients,
    };
    if (routedSec === null) {
      // Still worth knowing what the processes cost while they struggle (not idle: starting up).
      const cpu0 = new Map([...pids].map(([n, p]) => [n, processCpuSeconds(p)]));
      await sleep(opts.idleSeconds * 1000);
      return {
        ...base,
        idleMemory: memoryByRole(pids, roleOf),
        idleCpu: cpuByRole(pids, cpu0, opts.idleSeconds, roleOf),
        streamingMemory: [],
        clientsWithFrames: 0,
        clientFramesMin: 0,
        clientFramesMean: 0,
        clientFailures: [`not routed within ${opts.limitSeconds} s`],
      };
    }
    // Clients need a catalogue at their POP; waiting for it is not part of "routed".
    await run.converged(opts.limitSeconds * 1000, { catalogue: true }).catch(() => {});
    await sleep(SETTLE_MS);

    const cpu0 = new Map([...pids].map(([n, p]) => [n, processCpuSeconds(p)]));
    await sleep(opts.idleSeconds * 1000);
    const idleCpu = cpuByRole(pids, cpu0, opts.idleSeconds, roleOf);
    const idleMemory = memoryByRole(pids, roleOf);

    const plays = startClients(run, opts);
    await sleep((opts.watchSeconds * 1000) / 2 + opts.clients * CLIENT_GAP_MS);
    const streamingMemory = memoryByRole(pids, roleOf);
    const results = await Promise.all(plays);
    const frames = results.map((r) => r.frames);
    return {
      ...base,
      idleMemory,
      idleCpu,
      streamingMemory,
      clientsWithFrames: frames.filter((f) => f > 0).length,
      clientFramesMin: frames.length === 0 ? 0 : Math.min(...frames),
      clientFramesMean: frames.length === 0 ? 0 : sum(frames) / frames.length,
      clientFailures: results.filter((r) => r.frames === 0).map((r) => r.failure),
    };
  } finally {
    await run.stop();
    opts.onRun?.(null);
    rmSync(file, { force: true });
  }
}

interface ClientOutcome {
  readonly frames: number;
  readonly failure: string;
}

/**
 * Client i plays movie i mod 3 from POP i mod P, from its own address on that POP's client LAN,
 * CLIENT_GAP_MS after client i - 1: twenty oclients booting at once take seconds of CPU from the
 * overlay they are about to join.
 */
function startClients(run: LoopbackRun, opts: RealScaleOptions): Promise<ClientOutcome>[] {
  const pops = run.names('pop');
  return Array.from({ length: opts.clients }, async (_, i) => {
    await sleep(i * CLIENT_GAP_MS);
    const pop = run.topology.nodes.get(pops[i % pops.length] ?? '');
    const popAddress = pop?.clientAddresses[0] ?? pop?.addresses[0] ?? '';
    // The POP is .1 of its client /24; clients take .20, .21, ... there.
    const address = popAddress.replace(/\.\d+$/, `.${20 + Math.floor(i / pops.length)}`);
    const movie = SAMPLE_MOVIES[i % SAMPLE_MOVIES.length]?.file ?? 'bars.mjpeg';
    const args = ['--address', address, '--pop', popAddress, '--movie', movie, '--headless'];
    return run.client([...args, '--duration', String(opts.watchSeconds)]).then(({ code, stdout, stderr }) => {
      let frames = 0;
      try {
        frames = Number((JSON.parse(stdout) as { framesReceived?: number }).framesReceived ?? 0);
      } catch {
        // No statistics: the client failed; its exit code and stderr say why.
      }
      const why = stderr.trim().split('\n').slice(-1)[0] ?? '';
      return { frames, failure: `client ${i} (${address} via ${pop?.name ?? '?'}): exit ${code} ${why}` };
    });
  });
}

function memoryByRole(pids: Map<string, number>, roleOf: (n: string) => ScaleRole): RoleMemory[] {
  const by = new Map<ScaleRole, Memory[]>();
  for (const [name, pid] of pids) {
    const m = processMemory(pid);
    if (m === null) continue;
    const role = roleOf(name);
    by.set(role, [...(by.get(role) ?? []), m]);
  }
  return ROLES.flatMap((role) => {
    const ms = by.get(role);
    if (ms === undefined) return [];
    const rss = ms.map((m) => m.rssKb / MB);
    const anon = ms.map((m) => m.anonKb / MB);
    const pss = ms.map((m) => m.pssKb / MB);
    return [
      {
        role,
        count: ms.length,
        rssMeanMb: sum(rss) / rss.length,
        rssMaxMb: Math.max(...rss),
        anonMeanMb: sum(anon) / anon.length,
        anonMaxMb: Math.max(...anon),
        pssMeanMb: sum(pss) / pss.length,
        pssMaxMb: Math.max(...pss),
        peakMaxMb: Math.max(...ms.map((m) => m.hwmKb / MB)),
      },
    ];
  });
}

function cpuByRole(
  pids: Map<string, number>,
  before: Map<string, number | null>,
  seconds: number,
  roleOf: (n: string) => ScaleRole,
): RoleCpu[] {
  const by = new Map<ScaleRole, number[]>();
  for (const [name, pid] of pids) {
    const a = before.get(name);
    const b = processCpuSeconds(pid);
    if (a === null || a === undefined || b === null) continue;
    const role = roleOf(name);
    by.set(role, [...(by.get(role) ?? []), ((b - a) / seconds) * 100]);
  }
  return ROLES.flatMap((role) => {
    const pcts = by.get(role);
    return pcts === undefined ? [] : [{ role, meanPct: sum(pcts) / pcts.length, maxPct: Math.max(...pcts) }];
  });
}

const ROLES: readonly ScaleRole[] = ['bootstrapper', 'server', 'node', 'pop'];
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
