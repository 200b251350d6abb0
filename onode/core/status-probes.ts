/**
 * STATUS probe flooding. Servers originate a probe per interval; every node adds the measured
 * one-way latency of the link it arrived on (RTT/2 from hellos), records the route, and forwards
 * to neighbours not yet visited. A node forwards a given probe at most MAX_PROBE_FORWARDS times
 * (the first copy, then only strictly better copies), so flood cost is bounded on any topology.
 * Probes carry the digest of the server's catalogue, never the catalogue: a node whose copy
 * differs fetches it in parts (catalogue-sync.ts).
 */
import type { Clock } from '../../common/core/clock.ts';
import { Interval } from '../../common/core/interval.ts';
import type { CatalogueMessage, CatalogueRequestMessage, MovieInfo, StatusMessage } from '../../common/wire/overlay.ts';
import { catalogueDigest } from './catalogue-digest.ts';
import { type CatalogueCounters, CatalogueSync, NO_CATALOGUE_COUNTERS } from './catalogue-sync.ts';
import { MAX_PATH_LENGTH } from '../../common/wire/overlay.ts';
import { chooseBest } from './route-choice.ts';
import { MAX_SERVERS, type RouteTable } from './route-table.ts';

export const MAX_PROBE_FORWARDS = 3;

export interface ProbeOptions {
  /** Period of a server's probes; default 1000 ms (the report used 30 s: too slow to follow changes). */
  readonly intervalMs: number;
  /** Routes not refreshed for this many intervals are dropped; default 3.5. */
  readonly ttlIntervals: number;
}

export const DEFAULT_PROBES: ProbeOptions = { intervalMs: 2000, ttlIntervals: 3.5 };

export interface ProbeDeps {
  readonly self: string;
  readonly clock: Clock;
  readonly routes: RouteTable;
  /** Alive neighbours. */
  neighbours(): readonly string[];
  rttMs(neighbour: string): number | undefined;
  send(to: string, msg: StatusMessage | CatalogueRequestMessage | CatalogueMessage): void;
  /** Non-null on servers: the movies this server carries. */
  ownCatalogue(): readonly MovieInfo[] | null;
}

export interface ProbeCounters extends CatalogueCounters {
  originated: number;
  received: number;
  forwarded: number;
  droppedLoop: number;
  droppedNoRtt: number;
  droppedStale: number;
}

interface SeenProbe {
  seq: number;
  /** When the current seq was first heard. */
  at: number;
  forwards: number;
  bestLatencyMs: number;
  bestHops: number;
}

export class StatusProbes {
  readonly counters: ProbeCounters = {
    originated: 0,
    received: 0,
    forwarded: 0,
    droppedLoop: 0,
    droppedNoRtt: 0,
    droppedStale: 0,
    ...NO_CATALOGUE_COUNTERS,
  };
  /** Fetches and serves catalogues in parts. */
  readonly catalogues: CatalogueSync;
  private readonly seen = new Map<string, SeenProbe>();
  private seq = 0;
  private readonly ticker: Interval;

  constructor(
    private readonly deps: ProbeDeps,
    private readonly options: ProbeOptions = DEFAULT_PROBES,
  ) {
    this.catalogues = new CatalogueSync(deps, this.counters, options.intervalMs);
    this.ticker = new Interval(deps.clock, options.intervalMs, () => this.tick());
  }

  get ttlMs(): number {
    return this.options.intervalMs * this.options.ttlIntervals;
  }

  /** Originates (servers) and expires routes at once, then every intervalMs. */
  start(): void {
    this.ticker.start(true);
  }

  stop(): void {
    this.ticker.stop();
    this.catalogues.stop();
  }

  /** Sends a probe now (servers only); also used when a neighbour comes up so it learns routes at once. */
  originate(only?: string): void {
    const catalogue = this.deps.ownCatalogue();
    if (catalogue === null) return;
    if (only === undefined) this.seq++;
    const msg: StatusMessage = {
      type: 'status',
      server: this.deps.self,
      seq: this.seq,
      latencyMs: 0,
      hops: 0,
      visited: [this.deps.self],
      cv: catalogueDigest(catalogue),
    };
    const targets = only === undefined ? this.deps.neighbours() : [only];
    for (const n of targets) this.deps.send(n, msg);
    this.counters.originated++;
  }

  onStatus(from: string, msg: StatusMessage): void {
    const { self, clock, routes } = this.deps;
    this.counters.received++;
    if (msg.server === self || msg.visited.includes(self)) {
      this.counters.droppedLoop++;
      return;
    }
    const rtt = this.deps.rttMs(from);
    if (rtt === undefined) {
      this.counters.droppedNoRtt++;
      return;
    }
    const latencyMs = msg.latencyMs + rtt / 2;
    const hops = msg.hops + 1;
    const now = clock.now();
    routes.update({ server: msg.server, via: from, latencyMs, hops, seq: msg.seq, updatedAt: now }, msg.cv);
    // A server past MAX_SERVERS is ignored here as in the table: neither remembered nor flooded on.
    if (!routes.has(msg.server)) return;
    // Only the newest announcement is fetched (an older copy may name a catalogue already replaced).
    if (routes.needsCatalogue(msg.server, msg.cv)) this.catalogues.want(from, msg.server, msg.cv);

    let seen = this.seen.get(msg.server);
    // A server silent for a whole TTL may have restarted with its sequence numbers from 1.
    if (seen !== undefined && now - seen.at > this.ttlMs) {
      this.seen.delete(msg.server);
      seen = undefined;
    }
    if (seen !== undefined && msg.seq < seen.seq && seen.seq - msg.seq < 1_000_000) {
      this.counters.droppedStale++;
      return;
    }
    let state = seen;
    if (state === undefined || msg.seq !== state.seq) {
      state = { seq: msg.seq, at: now, forwards: 0, bestLatencyMs: Infinity, bestHops: Infinity };
      // Bounded like the route table: servers it has forgotten are forgotten here too.
      if (seen === undefined && this.seen.size >= MAX_SERVERS) {
        for (const s of this.seen.keys()) if (!routes.has(s)) this.seen.delete(s);
      }
      this.seen.set(msg.server, state);
    }
    if (state.forwards >= MAX_PROBE_FORWARDS) return;
    if (state.forwards > 0 && !improves({ latencyMs, hops }, state)) return;
    if (msg.visited.length >= MAX_PATH_LENGTH) return;
    state.forwards++;
    state.bestLatencyMs = latencyMs;
    state.bestHops = hops;
    const out: StatusMessage = { ...msg, latencyMs, hops, visited: [...msg.visited, self] };
    for (const n of this.deps.neighbours()) {
      if (n === from || msg.visited.includes(n)) continue;
      this.deps.send(n, out);
      this.counters.forwarded++;
    }
  }

  /** A neighbour asks for parts of a server's catalogue. */
  onCatalogueRequest(from: string, msg: CatalogueRequestMessage): void {
    this.catalogues.onRequest(from, msg);
  }

  /** A part of a catalogue; taken only if this node asked `from` for it. */
  onCatalogue(from: string, msg: CatalogueMessage): void {
    this.catalogues.onCatalogue(from, msg);
  }

  private tick(): void {
    this.originate();
    this.deps.routes.expire(this.deps.clock.now(), this.ttlMs);
  }
}

/** A later copy is worth forwarding only if the route metric would now prefer it. */
function improves(candidate: { latencyMs: number; hops: number }, best: SeenProbe): boolean {
  const winner = chooseBest([
    { latencyMs: best.bestLatencyMs, hops: best.bestHops, via: 'a' },
    { latencyMs: candidate.latencyMs, hops: candidate.hops, via: 'b' },
  ]);
  return winner?.via === 'b' && candidate.latencyMs !== best.bestLatencyMs;
}
