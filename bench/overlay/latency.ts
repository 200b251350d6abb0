/**
 * Added latency per hop: timestamped DATA through a chain of real overlay relays, each its own
 * process, from a source to a sink that live in one process (one clock, no synchronisation):
 *
 *   s1 ──► r1 ──► r2 ──► … ──► rN ──► p1        (N = 0: s1 sends straight to p1)
 *
 * The per-hop figure at a percentile is (delay through the long chain − delay through the short
 * one) / (difference in relays), which removes the endpoints' own send and receive costs.
 */
import { BenchChild } from '../common/child.ts';
import type { PeerSpec } from './peer.ts';
import type { RelayConfig, RelayStats } from './relay.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LatencyOptions {
  readonly port: number;
  readonly rtpBytes: number;
  /** Packets per second (a 25 fps MJPEG movie is a few hundred). */
  readonly rate: number;
  readonly ms: number;
}

export interface DelayStats {
  readonly relays: number;
  readonly samples: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  /** Times a relay declared a chain link dead during the run (a starved process misses hellos). */
  readonly linkFailures: number;
}

const MOVIE = 'bench.mjpeg';
const SOURCE = { name: 's1', address: '127.0.201.10' };
const SINK = { name: 'p1', address: '127.0.201.20' };
/** The first packets warm up the JIT and the tree; they are not counted. */
const WARMUP_FRACTION = 0.1;

/** One-way delay from s1 to p1 through `relays` overlay relays. */
export async function measureChain(
  relays: number,
  opts: LatencyOptions,
  mode: RelayConfig['mode'] = 'overlay',
): Promise<DelayStats> {
  const names = Array.from({ length: relays }, (_, i) => ({ name: `r${i + 1}`, address: `127.0.201.${i + 1}` }));
  const children: BenchChild[] = [];
  try {
    const started = names.map((r, i) => {
      const up = i === 0 ? { ...SOURCE, role: 'server' as const } : { ...names[i - 1]!, role: 'node' as const };
      const down = i === relays - 1 ? { ...SINK, role: 'pop' as const } : { ...names[i + 1]!, role: 'node' as const };
      const c = BenchChild.start(r.name, 'overlay/relay', {
        mode,
        ...r,
        port: opts.port,
        neighbours: [up, down],
        forwardTo: [down.address],
      } satisfies RelayConfig);
      c.then(
        (child) => children.push(child),
        () => {},
      );
      return c;
    });
    const relaysUp = await Promise.all(started);
    const first = names[0];
    const last = names[relays - 1];
    const overlay = mode === 'overlay';
    const ends: PeerSpec[] = [
      { ...SOURCE, role: 'source', movie: MOVIE, ...(first && overlay ? { neighbour: first } : {}) },
      { ...SINK, role: 'sink', movie: MOVIE, ...(last && overlay ? { neighbour: last } : {}) },
    ];
    const load = await BenchChild.start('chain ends', 'overlay/load', {
      port: opts.port,
      rtpBytes: opts.rtpBytes,
      peers: ends,
    });
    children.push(load);
    const lastRelay = relaysUp[relays - 1];
    if (lastRelay !== undefined && overlay) await chainJoined(lastRelay);
    await load.request('record', { on: true });
    await load.request('blast', { rate: opts.rate, ms: opts.ms, target: first?.address ?? SINK.address, stamp: true });
    await sleep(50);
    await load.request('record', { on: false });
    const all = await load.request<number[]>('delays');
    const failures = await Promise.all(relaysUp.map((r) => r.request<RelayStats>('stats').then((x) => x.linkFailures)));
    const delays = all.slice(Math.floor(all.length * WARMUP_FRACTION)).sort((a, b) => a - b);
    if (delays.length === 0) throw new Error(`no packets crossed the chain of ${relays} relays`);
    return {
      relays,
      samples: delays.length,
      p50Us: percentile(delays, 0.5),
      p99Us: percentile(delays, 0.99),
      maxUs: delays[delays.length - 1]!,
      linkFailures: failures.reduce((a, b) => a + b, 0),
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

export interface PerHop {
  readonly p50Us: number;
  readonly p99Us: number;
}

/** Added delay per relay between two chains, at p50 and p99. */
export function perHop(short: DelayStats, long: DelayStats): PerHop {
  const hops = long.relays - short.relays;
  return { p50Us: (long.p50Us - short.p50Us) / hops, p99Us: (long.p99Us - short.p99Us) / hops };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** Waits until the relay next to the sink forwards the movie to it (the join went all the way up). */
async function chainJoined(relay: BenchChild, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const stats = await relay.request<RelayStats>('stats');
    const s = stats.streams.find((x) => x.movie === MOVIE);
    if (s !== undefined && s.state === 'active' && s.downstream.includes(SINK.name)) return;
    if (performance.now() > deadline)
      throw new Error(`the chain did not join in ${timeoutMs} ms: ${JSON.stringify(stats.streams)}`);
    await sleep(50);
  }
}
