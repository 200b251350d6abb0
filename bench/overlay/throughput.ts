/**
 * Relay throughput: a relay with 1 upstream and 3 downstreams, each party in its own process:
 *
 *   source (bench-load) ──► relay (bench-relay) ──► 3 sinks (bench-load)
 *
 * Two relays run side by side on CPU 1 (when taskset exists): the real overlay relay (n1, in the
 * movie's tree from s1 to p1..p3) and a bare Node.js UDP relay. The source and sinks share CPU 0,
 * the sinks at lower priority. Rounds alternate between the relays, so both see the same machine
 * (other load on it included); in each, the source sends as fast as it can to one relay, and the
 * relay's forwarding rate is taken in the middle of the round, per sink, as datagrams that reached
 * the sink's socket (read, or dropped by the kernel at its full buffer: a slow sink hides nothing).
 */
import { BenchChild } from '../common/child.ts';
import type { SinkCounts } from './load.ts';
import type { PeerSpec } from './peer.ts';
import type { RelayConfig, RelayStats } from './relay.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ThroughputOptions {
  readonly port: number;
  readonly rtpBytes: number;
  readonly rounds: number;
  readonly roundMs: number;
  /** Give the relays CPU 1 and the load processes CPU 0 (taskset); default true. */
  readonly pin?: boolean;
}

export interface ThroughputRound {
  /** Per sink: datagrams per second that reached its socket. */
  readonly forwardedPps: number;
  /** What the source sent per second. */
  readonly offeredPps: number;
  /** Relay process CPU use, % of one core. */
  readonly cpuPct: number;
  /** Relay CPU time per datagram it received, µs. */
  readonly cpuUsPerPacket: number;
  /** Links the overlay relay declared dead in the round (control traffic lost in the overload). */
  readonly linkFailures: number;
}

export interface RelayThroughput {
  readonly rounds: readonly ThroughputRound[];
  /** The round with the median forwarded rate. */
  readonly median: ThroughputRound;
  /**
   * The round with the highest forwarded rate: the relay's capacity with the least interference
   * (other load on the machine can only lower a round's rate, never raise it).
   */
  readonly best: ThroughputRound;
}

export interface ThroughputResult {
  readonly overlay: RelayThroughput;
  readonly bare: RelayThroughput;
  readonly pinned: boolean;
}

const MOVIE = 'bench.mjpeg';
const OVERLAY_RELAY = { name: 'n1', address: '127.0.200.1' };
const BARE_RELAY = { name: 'bare', address: '127.0.200.2' };
const SOURCE = { name: 's1', address: '127.0.200.10' };
const SINKS = ['p1', 'p2', 'p3'].map((name, i) => ({ name, address: `127.0.200.${21 + i}` }));

export async function measureThroughput(opts: ThroughputOptions): Promise<ThroughputResult> {
  const children: BenchChild[] = [];
  const start = async (label: string, script: string, config: unknown): Promise<BenchChild> => {
    const c = await BenchChild.start(label, script, config);
    children.push(c);
    return c;
  };
  try {
    const overlayRelay = await start('overlay relay', 'overlay/relay', {
      mode: 'overlay',
      ...OVERLAY_RELAY,
      port: opts.port,
      neighbours: [{ ...SOURCE, role: 'server' }, ...SINKS.map((s) => ({ ...s, role: 'pop' as const }))],
      forwardTo: [],
    } satisfies RelayConfig);
    const bareRelay = await start('bare relay', 'overlay/relay', {
      mode: 'bare',
      ...BARE_RELAY,
      port: opts.port,
      neighbours: [],
      forwardTo: SINKS.map((s) => s.address),
    } satisfies RelayConfig);
    const link = { neighbour: OVERLAY_RELAY };
    const sinks = await start('sinks', 'overlay/load', {
      port: opts.port,
      rtpBytes: opts.rtpBytes,
      peers: SINKS.map((s): PeerSpec => ({ ...s, role: 'sink', movie: MOVIE, ...link })),
    });
    const source = await start('source', 'overlay/load', {
      port: opts.port,
      rtpBytes: opts.rtpBytes,
      peers: [{ ...SOURCE, role: 'source', movie: MOVIE, ...link } satisfies PeerSpec],
    });
    const pinned = (opts.pin ?? true) && overlayRelay.pin(1) && bareRelay.pin(1) && source.pin(0) && sinks.pin(0, 10);
    await treeJoined(overlayRelay);
    // Warm up both relays' JIT before measuring.
    for (const r of [OVERLAY_RELAY, BARE_RELAY])
      await source.request('blast', { rate: 10_000, ms: 400, target: r.address });

    const rounds = { overlay: [] as ThroughputRound[], bare: [] as ThroughputRound[] };
    for (let i = 0; i < opts.rounds; i++) {
      // Alternate which goes first, so neither always follows the other's backlog.
      const order = i % 2 === 0 ? (['bare', 'overlay'] as const) : (['overlay', 'bare'] as const);
      for (const mode of order) {
        const relay = mode === 'overlay' ? overlayRelay : bareRelay;
        if (mode === 'overlay') await treeJoined(overlayRelay);
        rounds[mode].push(
          await round(source, sinks, relay, mode === 'overlay' ? OVERLAY_RELAY.address : BARE_RELAY.address, opts),
        );
        await sleep(150); // let queues drain
      }
    }
    return { overlay: summarise(rounds.overlay), bare: summarise(rounds.bare), pinned };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

async function round(
  source: BenchChild,
  sinks: BenchChild,
  relay: BenchChild,
  target: string,
  opts: ThroughputOptions,
): Promise<ThroughputRound> {
  const t0 = performance.now();
  const blast = source.request<number>('blast', { rate: 0, ms: opts.roundMs, target });
  // Measure the middle of the round: skip the ramp-up, stop before the source stops.
  await sleep(opts.roundMs * 0.25);
  const a = await snapshot(relay, sinks);
  await sleep(opts.roundMs * 0.6);
  const b = await snapshot(relay, sinks);
  const sent = await blast;
  const ms = b.at - a.at;
  return {
    forwardedPps: ((b.reached - a.reached) / SINKS.length / ms) * 1000,
    offeredPps: (sent * 1000) / (performance.now() - t0),
    cpuPct: ((b.relay.cpuMs - a.relay.cpuMs) / ms) * 100,
    cpuUsPerPacket: ((b.relay.cpuMs - a.relay.cpuMs) * 1000) / Math.max(1, b.relay.datagramsIn - a.relay.datagramsIn),
    linkFailures: b.relay.linkFailures - a.relay.linkFailures,
  };
}

async function snapshot(
  relay: BenchChild,
  sinks: BenchChild,
): Promise<{ at: number; reached: number; relay: RelayStats }> {
  const [counts, stats] = await Promise.all([
    sinks.request<SinkCounts[]>('counts'),
    relay.request<RelayStats>('stats'),
  ]);
  return { at: performance.now(), reached: counts.reduce((n, c) => n + c.received + c.drops, 0), relay: stats };
}

function summarise(rounds: readonly ThroughputRound[]): RelayThroughput {
  const sorted = [...rounds].sort((a, b) => a.forwardedPps - b.forwardedPps);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  const best = sorted[sorted.length - 1];
  if (median === undefined || best === undefined) throw new Error('no rounds measured');
  return { rounds, median, best };
}

/** Waits until the overlay relay forwards the movie from s1 to all three sinks. */
async function treeJoined(relay: BenchChild, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const stats = await relay.request<RelayStats>('stats');
    const s = stats.streams.find((x) => x.movie === MOVIE);
    if (s !== undefined && s.state === 'active' && s.upstream === SOURCE.name && s.downstream.length === SINKS.length)
      return;
    if (performance.now() > deadline)
      throw new Error(`the overlay relay did not join the tree in ${timeoutMs} ms: ${JSON.stringify(stats.streams)}`);
    await sleep(50);
  }
}
