/**
 * Failures with real processes on loopback: a topology under the emulator, a viewer in this
 * process (the headless client's playHeadless, so its POP failover is the real one) with a
 * 500 ms jitter buffer, and one failure mid-stream: kill -9 of the relay feeding the viewer's
 * POP, a cut of the POP's uplink (POST /faults at both ends), kill -9 of the POP, SIGSTOP of the
 * POP (it stalls with its connections open), or kill -9 of the stream's server. Also the idle
 * control traffic from the nodes' transport counters.
 */
import { playHeadless } from '../../oclient/net/headless-player.ts';
import { postFaults } from '../../common/net/ops-client.ts';
import type { StreamStatus } from '../../common/wire/status-api.ts';
import { analyseFailure, type Arrival, type FailureOutcome, type FrameIndex } from './frames.ts';
import { type BenchPorts, benchRun } from '../common/emulation.ts';
import type { LoopbackRun } from '../../onode/emulators/loopback-run.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export type FailureKind = 'relay' | 'link' | 'pop' | 'stall' | 'server';
export const FAILURE_KINDS: readonly FailureKind[] = ['relay', 'link', 'pop', 'stall', 'server'];

export interface EmulatedSetup {
  /** A topology file (the lossless mesh). */
  readonly topologyFile: string;
  readonly dist: string;
  readonly moviesDir: string;
  readonly movie: string;
  readonly index: FrameIndex;
  readonly fps: number;
  /** Ports of the first run; run k adds k to each, so a slow exit never collides. */
  readonly basePorts: BenchPorts;
  /** Played before the failure, counted from the first frame (ms). */
  readonly beforeMs: number;
  /** Played after the failure (ms). */
  readonly afterMs: number;
}

/** The viewer's POP and where it fails over to, per failure kind (the mesh's names). */
const VIEWER: Record<FailureKind, { pop: string; fallbacks: string[] }> = {
  relay: { pop: 'p3', fallbacks: ['p2'] },
  link: { pop: 'p3', fallbacks: ['p2'] },
  pop: { pop: 'p2', fallbacks: ['p1', 'p3'] },
  stall: { pop: 'p2', fallbacks: ['p1', 'p3'] },
  server: { pop: 'p1', fallbacks: ['p2'] },
};
/** Allowance for login-free startup (SETUP, join, first frame) within the viewer's fixed duration. */
const STARTUP_ALLOWANCE_MS = 2000;
const JITTER_BUFFER_MS = 500;

export interface EmulatedTrial {
  readonly kind: FailureKind;
  /** What failed: a node name, or "a-b" for a link. */
  readonly target: string;
  readonly outcome: FailureOutcome;
  readonly failovers: number;
  readonly popsUsed: readonly string[];
  /** Frames the client's assembler dropped incomplete (stats.framesLost). */
  readonly assemblerLost: number;
  readonly nacksSent: number;
  /** Played after the failure, ms (less than asked when startup was slow). */
  readonly playedAfterMs: number;
}

function portsFor(base: BenchPorts, k: number): BenchPorts {
  return { bootstrap: base.bootstrap + k, overlay: base.overlay + k, status: base.status + k, rtsp: base.rtsp + k };
}

/** The live runs, so an interrupted benchmark can stop them. */
export const liveRuns = new Set<LoopbackRun>();

/** Starts the topology as run k, waits for routes everywhere, calls `use`, and stops every process. */
export async function withRun<T>(setup: EmulatedSetup, k: number, use: (run: LoopbackRun) => Promise<T>): Promise<T> {
  const run = benchRun(setup.topologyFile, setup.dist, portsFor(setup.basePorts, k), setup.moviesDir);
  liveRuns.add(run);
  try {
    run.start();
    await run.converged(30_000, { catalogue: false });
    return await use(run);
  } finally {
    await run.stop();
    liveRuns.delete(run);
  }
}

async function streamAt(run: LoopbackRun, node: string, movie: string): Promise<StreamStatus | null> {
  return (await run.statusOrNull(node))?.streams?.find((s) => s.movie === movie) ?? null;
}

async function cutLink(run: LoopbackRun, a: string, b: string): Promise<void> {
  const post = async (at: string, other: string): Promise<void> => {
    const out = await postFaults(
      { host: run.address(at), port: run.ports.status },
      run.opsToken,
      { cut: [other] },
      2000,
    );
    if (!out.ok) throw new Error(`POST /faults at ${at}: ${out.status} ${out.error}`);
  };
  await Promise.all([post(a, b), post(b, a)]);
}

/** Whether the nodes accept POST /faults (link cuts); older builds answer 404. */
export async function faultsSupported(run: LoopbackRun): Promise<boolean> {
  const node = run.names('pop')[0] ?? '';
  try {
    const out = await postFaults({ host: run.address(node), port: run.ports.status }, run.opsToken, {}, 2000);
    return out.ok;
  } catch {
    return false;
  }
}

/** One failure of `kind` while a viewer plays; the run is fresh and stopped by the caller. */
export async function failureTrial(setup: EmulatedSetup, run: LoopbackRun, kind: FailureKind): Promise<EmulatedTrial> {
  const { pop, fallbacks } = VIEWER[kind];
  const clientAddress = (p: string): string => run.topology.nodes.get(p)?.clientAddresses[0] ?? run.address(p);
  const localAddress = [...run.topology.clients.values()].find((c) => c.pop === pop)?.addresses[0];
  const arrivals: Arrival[] = [];
  let firstFrame: () => void = () => {};
  const started = new Promise<void>((r) => {
    firstFrame = r;
  });
  const playing = playHeadless({
    popAddress: clientAddress(pop),
    fallbacks: fallbacks.map(clientAddress),
    rtspPort: run.ports.rtsp,
    movie: setup.movie,
    durationMs: STARTUP_ALLOWANCE_MS + setup.beforeMs + setup.afterMs,
    jitterBufferMs: JITTER_BUFFER_MS,
    ...(localAddress === undefined ? {} : { localAddress }),
    onFrame: (jpeg) => {
      arrivals.push({ at: performance.now(), index: setup.index.ofJpeg(jpeg) });
      firstFrame();
    },
  });
  const result = await Promise.race([started.then(() => null), playing.then((r) => r)]);
  if (result !== null) throw new Error(`${kind}: the viewer at ${pop} got no frame (${result.framesReceived} frames)`);
  await sleep(setup.beforeMs);

  const stream = await streamAt(run, pop, setup.movie);
  let target: string;
  let failAt: number;
  switch (kind) {
    case 'relay':
    case 'link': {
      const up = stream?.upstream;
      if (up === null || up === undefined) throw new Error(`${kind}: ${pop} has no upstream for ${setup.movie}`);
      failAt = performance.now();
      if (kind === 'relay') {
        run.emulator.kill(up);
        target = up;
      } else {
        await cutLink(run, pop, up);
        target = `${pop}-${up}`;
      }
      break;
    }
    case 'pop':
      failAt = performance.now();
      run.emulator.kill(pop);
      target = pop;
      break;
    case 'stall':
      // Stopped, not killed: its connections stay open, so only the client's stall watch notices.
      failAt = performance.now();
      run.emulator.kill(pop, 'SIGSTOP');
      target = pop;
      break;
    case 'server': {
      const root = stream?.rootPath[0];
      if (root === undefined) throw new Error(`server: ${pop} shows no root path for ${setup.movie}`);
      // Loopback RTTs decide between s1 and s2; if the root is the bootstrapper, its neighbours
      // learn of the death from the silence and the hellos instead of a bootstrapper notice.
      failAt = performance.now();
      run.emulator.kill(root);
      target = root;
      break;
    }
  }
  const played = await playing;
  const endedAt = performance.now();
  if (kind === 'stall') run.emulator.kill(pop, 'SIGCONT');
  return {
    kind,
    target,
    outcome: analyseFailure(arrivals, failAt, setup.index.frames, 1000 / setup.fps),
    failovers: played.failovers,
    popsUsed: played.popsUsed,
    assemblerLost: played.framesLost,
    nacksSent: played.nacksSent,
    playedAfterMs: endedAt - failAt,
  };
}

export interface IdleTraffic {
  readonly seconds: number;
  /** Per node: bytes and datagrams sent per second, divided by its neighbour count. */
  readonly perNode: readonly {
    name: string;
    neighbours: number;
    payloadKbps: number;
    wireKbps: number;
    datagramsPerS: number;
  }[];
}

/** IPv4 (20) + UDP (8) header bytes per datagram. */
export const IP_UDP_HEADER_BYTES = 28;

interface TransportSnapshot {
  bytesOut: number;
  datagramsOut: number;
  neighbours: number;
}

async function transportSnapshot(run: LoopbackRun, node: string): Promise<TransportSnapshot> {
  const s = await run.statusOrNull(node);
  const t = s?.counters?.transport;
  const n = s?.neighbours;
  const bytesOut = t?.bytesOut;
  const datagramsOut = t?.datagramsOut;
  if (bytesOut === undefined || datagramsOut === undefined || n === undefined) {
    throw new Error(`${node}: no transport counters in GET /status`);
  }
  return { bytesOut, datagramsOut, neighbours: n.length };
}

/** Control traffic of an overlay with no viewer: every node's transport counters over `seconds`. */
export async function measureIdleTraffic(run: LoopbackRun, seconds: number): Promise<IdleTraffic> {
  const names = [...run.topology.nodes.keys()];
  const before = await Promise.all(names.map((n) => transportSnapshot(run, n)));
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const after = await Promise.all(names.map((n) => transportSnapshot(run, n)));
  const elapsed = (performance.now() - t0) / 1000;
  return {
    seconds: elapsed,
    perNode: names.map((name, i) => {
      const b = before[i]!;
      const a = after[i]!;
      const links = Math.max(1, a.neighbours);
      const bytes = a.bytesOut - b.bytesOut;
      const datagrams = a.datagramsOut - b.datagramsOut;
      return {
        name,
        neighbours: a.neighbours,
        payloadKbps: (bytes * 8) / 1000 / elapsed / links,
        wireKbps: ((bytes + IP_UDP_HEADER_BYTES * datagrams) * 8) / 1000 / elapsed / links,
        datagramsPerS: datagrams / elapsed / links,
      };
    }),
  };
}
