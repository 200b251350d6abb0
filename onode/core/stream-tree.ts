/**
 * This node's part of every movie's distribution tree.
 *
 * A node that needs movie M (a local viewer, or a neighbour's JOIN) and does not carry it sends
 * JOIN hop by hop toward the nearest neighbour already carrying M, else toward the best route to a
 * server whose catalogue has M. Each node has at most one upstream per movie, and data is accepted
 * only from it, so one copy of a stream crosses any overlay link.
 *
 * Loop freedom by construction: a JOIN carries the requesting chain (`path`), a JOIN_ACK carries
 * the chain from the source (`rootPath`); a node never forwards a join to a node on its path and
 * never accepts a branch whose chain intersects its own root path. Joins and acks are soft state:
 * downstreams refresh, upstreams expire silent branches, and a join that gets no answer moves on
 * to the next candidate.
 *
 * This class routes events to the parts in ./stream/ and forwards data (the hot path):
 * stream-table (streams, their lifetime and lingering), branch-joins (joins from below, branch
 * expiry), upstream-join (joining, refreshing, rerouting), upstream-choice (which neighbour),
 * upstream-switch and switch-policy (make-before-break moves), repair (resending and asking).
 */
import { BranchJoins } from './stream/branch-joins.ts';
import { Repairs } from './stream/repair.ts';
import { isActive, type Stream, takesFrom, upstreamOf } from './stream/stream-state.ts';
import { StreamTable } from './stream/stream-table.ts';
import {
  DEFAULT_TREE,
  type LocalReceiver,
  type StreamSnapshot,
  type TreeCounters,
  type TreeDeps,
  type TreeEvent,
  type TreeMessage,
  type TreeOptions,
} from './stream/tree-api.ts';
import { FaultyNeighbours } from './stream/upstream-choice.ts';
import { UpstreamJoin } from './stream/upstream-join.ts';
import { UpstreamSwitch } from './stream/upstream-switch.ts';

export { REPAIR_RETRY_MS } from './stream/repair.ts';
export { RELAY_LINGER_MS, SOURCE_LINGER_MS } from './stream/stream-table.ts';
export {
  DATA_SILENCE_FRAMES,
  MIN_DATA_SILENCE_MS,
  MIN_SWITCH_GAIN_MS,
  SWITCH_CONFIRMATIONS,
  SWITCH_MARGIN,
  SWITCH_STABLE_MS,
} from './stream/switch-policy.ts';
// The tree's public types and defaults, importable from here as before the split.
export * from './stream/tree-api.ts';
export { FAULTY_UPSTREAM_MS } from './stream/upstream-choice.ts';
export { REROUTE_GRACE_MS, SUSPECT_SILENCE_MS } from './stream/upstream-join.ts';

/** Data of a movie from a neighbour that is not its upstream is answered with LEAVE at most this often (it prunes). */
export const STRAY_LEAVE_INTERVAL_MS = 1000;
/** Movies without a stream here whose stray data was answered (see strayMarker); the map is cleared past this. */
export const MAX_STRAY_MARKERS = 1024;

export class StreamTree {
  private readonly table: StreamTable;
  private readonly faulty = new FaultyNeighbours();
  private readonly repairs: Repairs;
  private readonly switcher: UpstreamSwitch;
  private readonly join: UpstreamJoin;
  private readonly below: BranchJoins;
  /** When a LEAVE last answered stray data of a movie this node has no stream for. */
  private readonly strayMarkers = new Map<string, { lastStrayLeaveAt: number }>();

  constructor(deps: TreeDeps, options: TreeOptions = DEFAULT_TREE) {
    this.table = new StreamTable(deps, options);
    this.repairs = new Repairs(this.table);
    this.switcher = new UpstreamSwitch(this.table, this.repairs, this.faulty);
    this.join = new UpstreamJoin(this.table, this.repairs, this.switcher, this.faulty);
    this.below = new BranchJoins(this.table, this.join);
  }

  get counters(): TreeCounters {
    return this.table.counters;
  }

  /** Whether the branch sweep is scheduled: only while some stream has a branch (an idle node keeps no timer). */
  get sweeping(): boolean {
    return this.below.sweeping;
  }

  get lastEvent(): TreeEvent | null {
    return this.table.lastEvent;
  }

  start(): void {
    if (this.table.running) return;
    this.below.start();
    this.table.running = true;
  }

  /** Leaves every tree and stops sources. */
  stop(): void {
    this.table.running = false;
    this.below.stop();
    this.switcher.stop();
    this.repairs.stop();
    for (const s of this.table.all()) {
      const upstream = upstreamOf(s.feed);
      if (upstream !== null) this.table.deps.send(upstream, { type: 'leave', movie: s.movie });
      this.table.remove(s);
    }
  }

  /** True when some stream flows (or is being joined) over the link to `neighbour`. */
  usesNeighbour(neighbour: string): boolean {
    for (const s of this.table.values()) if (upstreamOf(s.feed) === neighbour || s.branches.has(neighbour)) return true;
    return false;
  }

  carrying(): string[] {
    return this.table.active().map((s) => s.movie);
  }

  /** The root server of each carried movie, in carrying() order. */
  carryingRoots(): string[] {
    return this.table.active().map((s) => s.rootPath[0] ?? this.table.deps.self);
  }

  snapshot(): StreamSnapshot[] {
    return this.table
      .all()
      .sort((a, b) => (a.movie < b.movie ? -1 : 1))
      .map((s) => ({
        movie: s.movie,
        state: isActive(s.feed) ? 'active' : 'joining',
        upstream: upstreamOf(s.feed),
        rootPath: s.rootPath,
        downstream: [...s.branches.downstream.keys()].sort(),
        clients: [...s.local.keys()].sort(),
        counters: { ...s.counters },
      }));
  }

  // ---- local viewers -------------------------------------------------------------------------

  localJoin(movie: string, id: string, receiver: LocalReceiver): void {
    let s = this.table.get(movie);
    const fresh = s === undefined;
    s ??= this.table.create(movie, [this.table.deps.self], (c) => c.local.set(id, receiver));
    s.local.set(id, receiver);
    if (isActive(s.feed)) receiver.joined();
    else if (fresh) this.join.begin(s);
  }

  localLeave(movie: string, id: string): void {
    const s = this.table.get(movie);
    if (s === undefined) return;
    s.local.delete(id);
    this.table.pruneIfUnused(s);
  }

  // ---- messages from neighbours -----------------------------------------------------------

  onMessage(from: string, msg: TreeMessage): void {
    switch (msg.type) {
      case 'join':
        return this.below.onJoin(from, msg);
      case 'join-ack':
        return this.join.onAck(from, msg);
      case 'nak':
        return this.join.onNak(from, msg);
      case 'leave':
        return this.below.onLeave(from, msg.movie);
      case 'repair':
        return this.repairs.onRepair(from, msg);
    }
  }

  /** Data from a neighbour: forwarded only if it comes from our upstream for that movie. */
  onData(from: string, movie: string, rtp: Buffer): void {
    const s = this.table.get(movie);
    if (s === undefined || !takesFrom(s.feed, from)) return this.stray(s, from, movie);
    s.counters.packetsIn++;
    s.counters.bytesIn += rtp.length;
    // Only new packets count as data arriving: an upstream resending old ones is silent all the same.
    if (this.distribute(s, rtp) && from === upstreamOf(s.feed)) s.arrivals.arrived(this.table.now());
  }

  /** True when data of `movie` from `from` would be taken (it is the upstream, or the one being switched to). */
  takesData(from: string, movie: string): boolean {
    const s = this.table.get(movie);
    return s !== undefined && takesFrom(s.feed, from);
  }

  /** Whether a packet of `movie` is one the stream already has (onData would drop it as a duplicate). */
  hasPacket(movie: string, rtp: Buffer): boolean {
    return this.table.get(movie)?.cache.has(rtp) ?? false;
  }

  /**
   * `neighbour` sent data of `movie` that fails verification under its server's key: reroute
   * around it and avoid it as an upstream for any movie for FAULTY_UPSTREAM_MS. Make before
   * break where another route to the same server exists (what the faulty upstream sends that
   * passes verification is still good, and the server's channel keeps running for the new
   * branch, so the new path can resend what was dropped); otherwise leave it and look further.
   */
  upstreamFaulty(neighbour: string, movie: string, why: string): void {
    this.faulty.mark(neighbour, this.table.now());
    const s = this.table.get(movie);
    if (s === undefined || s.feed.kind === 'source') return;
    this.switcher.abandonTo(s, neighbour);
    if (upstreamOf(s.feed) !== neighbour || s.feed.kind === 'switching') return;
    if (this.switcher.awayFromFaulty(s, why)) return;
    this.join.rerouteAround(s, neighbour, why);
  }

  /** A packet produced by this server's movie channel. */
  onSourcePacket(movie: string, rtp: Buffer): void {
    const s = this.table.get(movie);
    if (s === undefined || s.feed.kind !== 'source') return;
    this.distribute(s, rtp);
  }

  neighbourDown(neighbour: string): void {
    for (const s of this.table.all()) {
      s.branches.drop(neighbour);
      // Keep the downstream branches attached and look for another way to the source.
      if (upstreamOf(s.feed) === neighbour) this.join.lost(s, neighbour);
      // Branches lost to a failure usually come back through another path within a second,
      // often through this node: keep the stream (same RTP source) a little so they resume.
      else this.table.lingerIfUnused(s);
    }
    this.table.announce();
  }

  /**
   * The newest complete frame of a stream this node carries, for a viewer that starts now; with
   * `startsAt`, everything from the newest packet it accepts (an H.264 stream's last keyframe).
   */
  latestFrame(movie: string, startsAt?: (rtp: Buffer) => boolean): Buffer[] {
    const s = this.table.get(movie);
    if (s === undefined || !isActive(s.feed)) return [];
    return startsAt === undefined ? s.cache.lastFrame() : s.cache.lastFrom(startsAt);
  }

  /** Cached packets of a stream, for a local viewer's retransmission request (RTCP NACK). */
  cached(movie: string, ssrc: number, seqs: readonly number[]): Buffer[] {
    return this.repairs.cached(movie, ssrc, seqs);
  }

  // ---- internals --------------------------------------------------------------------------

  /** Data from a neighbour we do not take it from: a branch we do not want, told once in a while so it prunes. */
  private stray(s: Stream | undefined, from: string, movie: string): void {
    if (s !== undefined) s.counters.strayPackets++;
    const now = this.table.now();
    const marker = s ?? this.strayMarker(movie);
    if (now - marker.lastStrayLeaveAt < STRAY_LEAVE_INTERVAL_MS) return;
    marker.lastStrayLeaveAt = now;
    this.table.deps.send(from, { type: 'leave', movie });
  }

  private strayMarker(movie: string): { lastStrayLeaveAt: number } {
    let m = this.strayMarkers.get(movie);
    if (m === undefined) {
      if (this.strayMarkers.size > MAX_STRAY_MARKERS) this.strayMarkers.clear();
      m = { lastStrayLeaveAt: Number.NEGATIVE_INFINITY };
      this.strayMarkers.set(movie, m);
    }
    return m;
  }

  /** Caches a packet and sends it to every branch and local viewer; false for a duplicate (dropped). */
  private distribute(s: Stream, rtp: Buffer): boolean {
    if (!s.cache.add(rtp)) {
      s.counters.duplicates++;
      return false;
    }
    const targets = s.branches.targets;
    if (targets.length > 0) {
      this.table.deps.sendData(targets, s.movie, rtp);
      s.counters.packetsOut += targets.length;
      s.counters.bytesOut += rtp.length * targets.length;
    }
    for (const r of s.local.values()) r.deliver(rtp);
    return true;
  }
}
