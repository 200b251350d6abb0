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
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import type {
  JoinAckMessage,
  JoinMessage,
  LeaveMessage,
  NakMessage,
  NakReason,
  RepairMessage,
} from '../../common/wire/overlay.ts';
import { repairRequests } from '../../common/wire/control-split.ts';
import { MAX_PATH_LENGTH } from '../../common/wire/overlay.ts';
import { CACHE_PACKETS, PacketCache } from './packet-cache.ts';
import type { RouteEntry, RouteTable } from './route-table.ts';

export interface TreeOptions {
  /** Resend an unanswered JOIN this often; default 250 ms. */
  readonly joinRetryMs: number;
  /** Give up on a candidate upstream after this long; default 1500 ms. */
  readonly joinTimeoutMs: number;
  /** Downstreams refresh their join this often; default 1000 ms. */
  readonly refreshMs: number;
  /** A branch not refreshed for this long is pruned; default 3500 ms. */
  readonly branchExpiryMs: number;
  /** Packets of each stream kept for repairs; default CACHE_PACKETS (512, ~3 s of a 25 fps movie). */
  readonly cachePackets?: number;
}

export const DEFAULT_TREE: TreeOptions = {
  joinRetryMs: 250,
  joinTimeoutMs: 1500,
  refreshMs: 1000,
  branchExpiryMs: 3500,
};

/** How long a node that lost its upstream keeps looking for a new one (past the route TTL, so stale routes have expired). */
export const REROUTE_GRACE_MS = 8000;
/** How long a server keeps a channel whose last branch failed (not left) running, for it to come back. */
export const SOURCE_LINGER_MS = 3000;
/** The same for a relay: long enough for a rejoin through it, short enough not to waste the link. */
export const RELAY_LINGER_MS = 1000;
/** Hysteresis: an upstream is replaced only by a route to the same server this much faster… */
export const SWITCH_MARGIN = 0.2;
/** …and by at least this many ms… */
export const MIN_SWITCH_GAIN_MS = 2;
/** …seen on this many refreshes in a row, through a link up for at least SWITCH_STABLE_MS. */
export const SWITCH_CONFIRMATIONS = 3;
export const SWITCH_STABLE_MS = 5000;
/** Silence from the upstream that starts a make-before-break rejoin: this many frame gaps… */
export const DATA_SILENCE_FRAMES = 3;
/** …and never less than this. */
export const MIN_DATA_SILENCE_MS = 150;
const SILENCE_CHECK_MS = 25;
/** A lost packet is asked of upstream at most this often. */
export const REPAIR_RETRY_MS = 150;
/** A join target not heard from at all for this long after the join is given up early. */
export const SUSPECT_SILENCE_MS = 250;
/** A neighbour that sent stream data failing verification is not chosen as an upstream for this long. */
export const FAULTY_UPSTREAM_MS = 30_000;

export type TreeMessage = JoinMessage | JoinAckMessage | NakMessage | LeaveMessage | RepairMessage;

export interface TreeDeps {
  readonly self: string;
  readonly clock: Clock;
  readonly routes: RouteTable;
  isAlive(neighbour: string): boolean;
  rttMs(neighbour: string): number | undefined;
  /** True when anything arrived from the neighbour at or after time `t`. */
  heardSince(neighbour: string, t: number): boolean;
  /** A neighbour that went silent when asked: treat it as down until it is heard again. */
  suspect(neighbour: string): void;
  /** When the link to a neighbour last came up; null while down. */
  upSince(neighbour: string): number | null;
  /** Alive neighbours that announced they carry the movie. */
  carriers(movie: string): readonly string[];
  /** The server a carrying neighbour gets the movie from, if it said. */
  carrierRoot(neighbour: string, movie: string): string | null;
  send(to: string, msg: TreeMessage): void;
  sendData(to: readonly string[], movie: string, rtp: Buffer): void;
  /** True when this node is a server whose catalogue has the movie. */
  isSource(movie: string): boolean;
  startSource(movie: string): void;
  stopSource(movie: string): void;
  /** Called when the set of movies this node carries changes. */
  carryingChanged(movies: readonly string[], roots: readonly string[]): void;
}

/** A viewer attached at this node (an RTSP session on a POP). */
export interface LocalReceiver {
  deliver(rtp: Buffer): void;
  joined(): void;
  failed(reason: NakReason, detail: string): void;
}

export interface StreamCounters {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  strayPackets: number;
  /** Packets already forwarded (a repair overlapping the live stream), dropped. */
  duplicates: number;
  /** Packets resent to a rerouted neighbour or a viewer from this node's cache. */
  repaired: number;
}

export interface StreamSnapshot {
  readonly movie: string;
  readonly state: 'joining' | 'active';
  readonly upstream: string | null;
  readonly rootPath: readonly string[];
  readonly downstream: readonly string[];
  readonly clients: readonly string[];
  readonly counters: Readonly<StreamCounters>;
}

interface Branch {
  path: readonly string[];
  refreshedAt: number;
  /** The highest sequence number this node had when the branch attached: later ones went to it live. */
  readonly attachedAtSeq: number | null;
}

interface Stream {
  readonly movie: string;
  phase: 'pending' | 'active';
  readonly source: boolean;
  upstream: string | null;
  rootPath: readonly string[];
  joinPath: readonly string[];
  readonly tried: Set<string>;
  attemptStartedAt: number;
  /** The server to stay with when rerouting (ours before the failure, or the one a joining branch asked for). */
  preferredServer: string | null;
  /** While rerouting, keep trying (routes through a dead node take a while to expire) until then. */
  rerouteUntil: number;
  timer: Timer | null;
  readonly downstream: Map<string, Branch>;
  targets: string[];
  readonly waiters: Map<string, readonly string[]>;
  readonly local: Map<string, LocalReceiver>;
  readonly counters: StreamCounters;
  lastStrayLeaveAt: number;
  readonly cache: PacketCache;
  /** A rerouted branch's repair that arrived before this node had any packets: asked upstream once joined. */
  pendingRepair: RepairMessage | null;
  /** Sequence numbers asked of upstream, and when. */
  readonly asked: Map<number, number>;
  /** Pending prune after the last receiver failed (see lingerIfUnused). */
  linger: Timer | null;
  /** When data last came from the upstream, and the usual gap between frames (EWMA). */
  lastDataAt: number | null;
  frameGapMs: number | null;
  /** A better upstream being joined while the current one still feeds us (make-before-break). */
  switching: { readonly to: string; readonly since: number } | null;
  /** Consecutive refreshes that found a clearly better upstream. */
  betterCount: number;
}

export interface TreeCounters {
  joinsSent: number;
  joinsReceived: number;
  naksSent: number;
  naksReceived: number;
  reroutes: number;
  prunes: number;
  /** Upstream changes to a better path, made before breaking the old one. */
  switches: number;
  repairsRequested: number;
  repairsServed: number;
}

/** The last tree event worth showing (reroute, repair, failure), for the status API. */
export interface TreeEvent {
  readonly at: number;
  readonly movie: string;
  readonly what: string;
}

export class StreamTree {
  readonly counters: TreeCounters = {
    joinsSent: 0,
    joinsReceived: 0,
    naksSent: 0,
    naksReceived: 0,
    reroutes: 0,
    prunes: 0,
    switches: 0,
    repairsRequested: 0,
    repairsServed: 0,
  };
  lastEvent: TreeEvent | null = null;
  private readonly streams = new Map<string, Stream>();
  /** Neighbours proved faulty (see upstreamFaulty), until when they are avoided. */
  private readonly faulty = new Map<string, number>();
  private sweepTimer: Timer | null = null;
  private silenceTimer: Timer | null = null;
  private announced = '';

  constructor(
    private readonly deps: TreeDeps,
    private readonly options: TreeOptions = DEFAULT_TREE,
  ) {}

  start(): void {
    if (this.sweepTimer !== null) return;
    this.sweep();
  }

  /** Leaves every tree and stops sources. */
  stop(): void {
    this.sweepTimer?.cancel();
    this.sweepTimer = null;
    this.silenceTimer?.cancel();
    this.silenceTimer = null;
    for (const s of [...this.streams.values()]) {
      if (s.upstream !== null) this.deps.send(s.upstream, { type: 'leave', movie: s.movie });
      this.remove(s);
    }
  }

  /** True when some stream flows (or is being joined) over the link to `neighbour`. */
  usesNeighbour(neighbour: string): boolean {
    for (const s of this.streams.values()) {
      if (s.upstream === neighbour || s.downstream.has(neighbour) || s.waiters.has(neighbour)) return true;
    }
    return false;
  }

  carrying(): string[] {
    return this.active().map((s) => s.movie);
  }

  /** The root server of each carried movie, in carrying() order. */
  carryingRoots(): string[] {
    return this.active().map((s) => s.rootPath[0] ?? this.deps.self);
  }

  private active(): Stream[] {
    return [...this.streams.values()].filter((s) => s.phase === 'active').sort((a, b) => (a.movie < b.movie ? -1 : 1));
  }

  snapshot(): StreamSnapshot[] {
    return [...this.streams.values()]
      .sort((a, b) => (a.movie < b.movie ? -1 : 1))
      .map((s) => ({
        movie: s.movie,
        state: s.phase === 'active' ? 'active' : 'joining',
        upstream: s.upstream,
        rootPath: s.rootPath,
        downstream: [...s.downstream.keys()].sort(),
        clients: [...s.local.keys()].sort(),
        counters: { ...s.counters },
      }));
  }

  // ---- local viewers -------------------------------------------------------------------------

  localJoin(movie: string, id: string, receiver: LocalReceiver): void {
    let s = this.streams.get(movie);
    const fresh = s === undefined;
    s ??= this.create(movie, [this.deps.self]);
    s.local.set(id, receiver);
    if (s.phase === 'active') receiver.joined();
    else if (fresh) this.tryNextUpstream(s);
  }

  localLeave(movie: string, id: string): void {
    const s = this.streams.get(movie);
    if (s === undefined) return;
    s.local.delete(id);
    this.pruneIfUnused(s);
  }

  // ---- messages from neighbours -----------------------------------------------------------

  onMessage(from: string, msg: TreeMessage): void {
    switch (msg.type) {
      case 'join':
        return this.onJoin(from, msg);
      case 'join-ack':
        return this.onAck(from, msg);
      case 'nak':
        return this.onNak(from, msg);
      case 'leave':
        return this.onLeave(from, msg.movie);
      case 'repair':
        return this.onRepair(from, msg);
    }
  }

  /** Data from a neighbour: forwarded only if it comes from our upstream for that movie. */
  onData(from: string, movie: string, rtp: Buffer): void {
    const s = this.streams.get(movie);
    if (s === undefined || s.source || (s.upstream !== from && s.switching?.to !== from)) {
      if (s !== undefined) s.counters.strayPackets++;
      // A branch we do not want: tell the sender once a second so it prunes it.
      const now = this.deps.clock.now();
      const stray = s ?? this.strayMarker(movie);
      if (now - stray.lastStrayLeaveAt >= 1000) {
        stray.lastStrayLeaveAt = now;
        this.deps.send(from, { type: 'leave', movie });
      }
      return;
    }
    s.counters.packetsIn++;
    s.counters.bytesIn += rtp.length;
    if (from === s.upstream) this.noteArrival(s);
    this.distribute(s, rtp);
  }

  /** True when data of `movie` from `from` would be taken (it is the upstream, or the one being switched to). */
  takesData(from: string, movie: string): boolean {
    const s = this.streams.get(movie);
    return s !== undefined && !s.source && (s.upstream === from || s.switching?.to === from);
  }

  /** Whether a packet of `movie` is one the stream already has (onData would drop it as a duplicate). */
  hasPacket(movie: string, rtp: Buffer): boolean {
    return this.streams.get(movie)?.cache.has(rtp) ?? false;
  }

  /**
   * `neighbour` sent data of `movie` that fails verification under its server's key: reroute
   * around it and avoid it as an upstream for any movie for FAULTY_UPSTREAM_MS. Make before
   * break where another route to the same server exists (what the faulty upstream sends that
   * passes verification is still good, and the server's channel keeps running for the new
   * branch, so the new path can resend what was dropped); otherwise leave it and look further.
   */
  upstreamFaulty(neighbour: string, movie: string, why: string): void {
    const now = this.deps.clock.now();
    for (const [n, until] of this.faulty) if (until <= now) this.faulty.delete(n);
    this.faulty.set(neighbour, now + FAULTY_UPSTREAM_MS);
    const s = this.streams.get(movie);
    if (s === undefined || s.source) return;
    if (s.switching?.to === neighbour) {
      s.switching = null;
      if (s.upstream !== neighbour) this.deps.send(neighbour, { type: 'leave', movie });
    }
    if (s.upstream !== neighbour || s.switching !== null) return;
    const next = s.phase === 'active' ? this.alternative(s, () => true) : undefined;
    if (next !== undefined) {
      this.event(movie, `${neighbour} sent data that fails verification (${why}); joining through ${next.via}`);
      this.startSwitch(s, next.via);
      return;
    }
    this.deps.send(neighbour, { type: 'leave', movie });
    s.tried.add(neighbour);
    s.upstream = null;
    if (s.phase === 'active') {
      s.phase = 'pending';
      this.counters.reroutes++;
      s.rerouteUntil = now + REROUTE_GRACE_MS;
      this.announce();
    }
    this.event(movie, `${neighbour} sent data that fails verification (${why}); rerouting around it`);
    this.tryNextUpstream(s, 'no-route', `${neighbour} sent ${movie} data that fails verification`);
  }

  private isFaulty(neighbour: string): boolean {
    return (this.faulty.get(neighbour) ?? -Infinity) > this.deps.clock.now();
  }

  /** Tracks the stream's usual gap between frames (gaps under 5 ms are packets of one frame). */
  private noteArrival(s: Stream): void {
    const now = this.deps.clock.now();
    if (s.lastDataAt !== null) {
      const gap = now - s.lastDataAt;
      if (gap > 5) s.frameGapMs = s.frameGapMs === null ? gap : s.frameGapMs + (gap - s.frameGapMs) / 8;
    }
    s.lastDataAt = now;
  }

  /**
   * An upstream that stops sending data for several frame periods is probably gone, well before
   * three hellos are missed: start joining the next-best path now (make-before-break). If the old
   * upstream was only slow, both feed us for a moment and the cache drops the duplicates.
   */
  private watchSilence(): void {
    this.silenceTimer = null;
    const now = this.deps.clock.now();
    let watching = false;
    for (const s of this.streams.values()) {
      if (!s.source && s.phase === 'active') watching = true;
      if (
        s.source ||
        s.phase !== 'active' ||
        s.upstream === null ||
        s.switching !== null ||
        s.lastDataAt === null ||
        s.frameGapMs === null
      )
        continue;
      const limit = Math.max(MIN_DATA_SILENCE_MS, DATA_SILENCE_FRAMES * s.frameGapMs);
      if (now - s.lastDataAt < limit) continue;
      s.lastDataAt = now; // one attempt per silence
      const next = this.alternative(s, () => true);
      if (next === undefined) continue;
      this.event(
        s.movie,
        `no data from ${s.upstream} for ${Math.round(limit)} ms; joining through ${next.via} before giving it up`,
      );
      this.startSwitch(s, next.via);
    }
    // Only while some stream is received from upstream: an idle node does not wake up 40 times a second.
    if (watching) this.silenceTimer = this.deps.clock.setTimer(SILENCE_CHECK_MS, () => this.watchSilence());
  }

  private ensureSilenceWatch(): void {
    if (this.silenceTimer === null && this.sweepTimer !== null)
      this.silenceTimer = this.deps.clock.setTimer(SILENCE_CHECK_MS, () => this.watchSilence());
  }

  /** A packet produced by this server's movie channel. */
  onSourcePacket(movie: string, rtp: Buffer): void {
    const s = this.streams.get(movie);
    if (s === undefined || !s.source) return;
    this.distribute(s, rtp);
  }

  neighbourDown(neighbour: string): void {
    for (const s of [...this.streams.values()]) {
      s.waiters.delete(neighbour);
      if (s.downstream.delete(neighbour)) s.targets = [...s.downstream.keys()];
      if (s.upstream === neighbour && !s.source) {
        // Keep the downstream branches attached and look for another way to the source.
        this.counters.reroutes++;
        this.event(s.movie, `upstream ${neighbour} lost; rerouting`);
        // Stay with the same server, unless the server itself is what died.
        s.preferredServer = s.rootPath[0] === neighbour ? null : (s.rootPath[0] ?? s.preferredServer);
        s.rerouteUntil = this.deps.clock.now() + REROUTE_GRACE_MS;
        s.phase = 'pending';
        s.tried.clear();
        s.tried.add(neighbour);
        s.upstream = null;
        if (this.pruneIfUnused(s)) continue;
        const inFlight = s.switching;
        s.switching = null;
        if (inFlight !== null && inFlight.to !== neighbour && this.deps.isAlive(inFlight.to)) {
          // Already joining around it (the data stopped first): carry on with that join.
          s.upstream = inFlight.to;
          s.attemptStartedAt = this.deps.clock.now();
          this.sendJoin(s);
        } else {
          this.tryNextUpstream(s);
        }
      } else {
        // Branches lost to a failure usually come back through another path within a second,
        // often through this node: keep the stream (same RTP source) a little so they resume.
        this.lingerIfUnused(s);
      }
    }
    this.announce();
  }

  /** A stream whose last receiver failed is pruned after a linger (SOURCE_LINGER_MS, RELAY_LINGER_MS) unless someone rejoins. */
  private lingerIfUnused(s: Stream): void {
    if (s.downstream.size > 0 || s.waiters.size > 0 || s.local.size > 0) return;
    if (!s.source && s.phase !== 'active') {
      this.pruneIfUnused(s);
      return;
    }
    s.linger?.cancel();
    s.linger = this.deps.clock.setTimer(s.source ? SOURCE_LINGER_MS : RELAY_LINGER_MS, () => {
      s.linger = null;
      this.pruneIfUnused(s);
    });
  }

  // ---- internals --------------------------------------------------------------------------

  private strayMarkers = new Map<string, { lastStrayLeaveAt: number }>();

  private strayMarker(movie: string): { lastStrayLeaveAt: number } {
    let m = this.strayMarkers.get(movie);
    if (m === undefined) {
      if (this.strayMarkers.size > 1024) this.strayMarkers.clear();
      m = { lastStrayLeaveAt: -Infinity };
      this.strayMarkers.set(movie, m);
    }
    return m;
  }

  private distribute(s: Stream, rtp: Buffer): void {
    if (!s.cache.add(rtp)) {
      s.counters.duplicates++;
      return;
    }
    if (s.targets.length > 0) {
      this.deps.sendData(s.targets, s.movie, rtp);
      s.counters.packetsOut += s.targets.length;
      s.counters.bytesOut += rtp.length * s.targets.length;
    }
    for (const r of s.local.values()) r.deliver(rtp);
  }

  private create(movie: string, joinPath: readonly string[]): Stream {
    const source = this.deps.isSource(movie);
    const s: Stream = {
      movie,
      phase: source ? 'active' : 'pending',
      source,
      upstream: null,
      rootPath: source ? [this.deps.self] : [],
      joinPath,
      tried: new Set(),
      attemptStartedAt: 0,
      timer: null,
      downstream: new Map(),
      targets: [],
      waiters: new Map(),
      local: new Map(),
      counters: { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, strayPackets: 0, duplicates: 0, repaired: 0 },
      lastStrayLeaveAt: -Infinity,
      cache: new PacketCache(this.options.cachePackets ?? CACHE_PACKETS),
      pendingRepair: null,
      asked: new Map(),
      linger: null,
      switching: null,
      betterCount: 0,
      lastDataAt: null,
      frameGapMs: null,
      preferredServer: null,
      rerouteUntil: 0,
    };
    this.streams.set(movie, s);
    if (source) {
      this.deps.startSource(movie);
      this.announce();
    }
    return s;
  }

  private onJoin(from: string, msg: JoinMessage): void {
    this.counters.joinsReceived++;
    const { self } = this.deps;
    const path = msg.path;
    if (path[path.length - 1] !== from || path.includes(self))
      return this.nak(from, msg.movie, 'loop', `join path ${path.join('>')} already passes through ${self}`);
    if (path.length >= MAX_PATH_LENGTH) return this.nak(from, msg.movie, 'loop', 'join path too long');
    const s = this.streams.get(msg.movie);
    if (s === undefined) {
      if (
        !this.deps.isSource(msg.movie) &&
        !this.deps.routes.knowsMovie(msg.movie) &&
        this.deps.routes.knownServers().length > 0
      ) {
        return this.nak(from, msg.movie, 'unknown-movie', `no server has ${msg.movie}`);
      }
      const created = this.create(msg.movie, [...path, self]);
      if (msg.server !== undefined && msg.server !== self) created.preferredServer = msg.server;
      if (created.phase === 'active') return this.accept(created, from, path);
      created.waiters.set(from, path);
      this.tryNextUpstream(created);
      return;
    }
    if (s.phase === 'active') return this.accept(s, from, path);
    const branch = s.downstream.get(from);
    if (branch !== undefined) {
      branch.refreshedAt = this.deps.clock.now();
      return;
    }
    if (from === s.upstream)
      return this.nak(from, msg.movie, 'loop', `${self} is joining ${msg.movie} through ${from}`);
    s.waiters.set(from, path);
  }

  private accept(s: Stream, from: string, path: readonly string[]): void {
    const clash = path.find((n) => s.rootPath.includes(n));
    s.waiters.delete(from);
    if (clash !== undefined) {
      if (s.downstream.delete(from)) s.targets = [...s.downstream.keys()];
      return this.nak(from, s.movie, 'loop', `${clash} is upstream of ${this.deps.self}`);
    }
    const branch = s.downstream.get(from);
    if (branch === undefined) {
      s.downstream.set(from, { path, refreshedAt: this.deps.clock.now(), attachedAtSeq: s.cache.highestSeq });
      s.targets = [...s.downstream.keys()];
    } else {
      branch.path = path;
      branch.refreshedAt = this.deps.clock.now();
    }
    this.deps.send(from, { type: 'join-ack', movie: s.movie, rootPath: this.chainOf(s) });
  }

  /** The chain from the source to this node, as acks carry it (a source's rootPath is already itself). */
  private chainOf(s: Stream): readonly string[] {
    return s.source ? s.rootPath : [...s.rootPath, this.deps.self];
  }

  private onAck(from: string, msg: JoinAckMessage): void {
    const s = this.streams.get(msg.movie);
    if (s !== undefined && s.switching?.to === from && s.upstream !== from) return this.completeSwitch(s, from, msg);
    if (s === undefined || s.source || s.upstream !== from) {
      this.deps.send(from, { type: 'leave', movie: msg.movie });
      return;
    }
    if (msg.rootPath.includes(this.deps.self))
      return this.onNak(from, {
        type: 'nak',
        movie: msg.movie,
        reason: 'loop',
        detail: 'root path contains this node',
      });
    if (s.switching?.to === from) s.switching = null; // the rejoin after a failure took the same path
    const changed = s.rootPath.join('>') !== msg.rootPath.join('>');
    s.rootPath = msg.rootPath;
    s.preferredServer = msg.rootPath[0] ?? s.preferredServer;
    if (s.phase === 'active') {
      // The path above moved (a switch upstream): the branches below learn the new chain.
      if (changed) for (const [name, branch] of [...s.downstream]) this.accept(s, name, branch.path);
      return;
    }
    s.phase = 'active';
    this.ensureSilenceWatch();
    const ssrc = s.cache.source;
    const highest = s.cache.highestSeq;
    if (ssrc !== null && highest !== null) {
      // A reroute: ask the new upstream for what was sent while we had none.
      this.counters.repairsRequested++;
      this.deps.send(from, { type: 'repair', movie: s.movie, ssrc, after: highest });
      this.event(s.movie, `rerouted through ${from}; asked for packets after ${highest}`);
    } else if (s.pendingRepair !== null) {
      this.counters.repairsRequested++;
      this.deps.send(from, s.pendingRepair);
    }
    s.pendingRepair = null;
    s.tried.clear();
    this.schedule(s, this.options.refreshMs, () => this.refresh(s));
    for (const [waiter, path] of [...s.waiters]) this.accept(s, waiter, path);
    // Branches that stayed attached through a reroute learn the new root path.
    for (const [name, branch] of [...s.downstream]) this.accept(s, name, branch.path);
    for (const r of s.local.values()) r.joined();
    if (!this.pruneIfUnused(s)) this.announce();
  }

  private onNak(from: string, msg: NakMessage): void {
    this.counters.naksReceived++;
    const s = this.streams.get(msg.movie);
    if (s !== undefined && s.switching?.to === from) {
      s.switching = null; // the better path refused; stay where we are
      return;
    }
    if (s === undefined || s.upstream !== from || s.source) return;
    s.tried.add(from);
    s.upstream = null;
    if (s.phase === 'active') {
      s.phase = 'pending';
      this.counters.reroutes++;
      s.rerouteUntil = this.deps.clock.now() + REROUTE_GRACE_MS;
      this.event(s.movie, `upstream ${from} refused (${msg.reason}); rerouting`);
      this.announce();
    }
    this.tryNextUpstream(s, msg.reason, msg.detail);
  }

  /** A neighbour (or viewer) missed packets: resend what the cache has, to it alone. */
  private onRepair(from: string, msg: RepairMessage): void {
    const s = this.streams.get(msg.movie);
    const branch = s?.downstream.get(from);
    if (s === undefined || branch === undefined) return;
    if (branch.attachedAtSeq === null && msg.after !== undefined) {
      // The branch attached before this node had packets: what it missed is further up.
      if (s.source) return;
      if (s.phase === 'pending' || s.upstream === null) {
        s.pendingRepair = msg;
      } else {
        this.counters.repairsRequested++;
        this.deps.send(s.upstream, msg);
      }
      return;
    }
    // After a reroute, only what the branch missed before it attached: everything later reached it live.
    const packets =
      msg.after !== undefined
        ? branch.attachedAtSeq === null
          ? []
          : s.cache.after(msg.ssrc, msg.after, branch.attachedAtSeq)
        : s.cache.pick(msg.ssrc, msg.seqs ?? []);
    for (const rtp of packets) this.deps.sendData([from], s.movie, rtp);
    s.counters.repaired += packets.length;
    this.counters.repairsServed++;
    if (msg.seqs !== undefined) this.askUpstream(s, msg.ssrc, msg.seqs, packets);
  }

  /**
   * Packets a viewer or branch asked for that this node never got (lost on a link above):
   * ask upstream, hop by hop; they come back as ordinary data and flow down the tree. The same
   * number is not asked for again within REPAIR_RETRY_MS.
   */
  private askUpstream(s: Stream, ssrc: number, seqs: readonly number[], found: readonly Buffer[]): void {
    if (s.source || s.upstream === null || s.phase !== 'active' || s.cache.source !== ssrc) return;
    const have = new Set(found.map((p) => p.readUInt16BE(2)));
    const now = this.deps.clock.now();
    const missing = seqs.filter((q) => !have.has(q) && now - (s.asked.get(q) ?? -Infinity) >= REPAIR_RETRY_MS);
    if (missing.length === 0) return;
    for (const q of missing) s.asked.set(q, now);
    if (s.asked.size > 2048) for (const [q, at] of s.asked) if (now - at >= REPAIR_RETRY_MS) s.asked.delete(q);
    // A long gap takes several requests: each datagram holds a few hundred sequence numbers.
    for (const request of repairRequests(s.movie, ssrc, missing)) {
      this.counters.repairsRequested++;
      this.deps.send(s.upstream, request);
    }
  }

  /** The newest complete frame of a stream this node carries, for a viewer that starts now. */
  latestFrame(movie: string): Buffer[] {
    const s = this.streams.get(movie);
    return s === undefined || s.phase !== 'active' ? [] : s.cache.lastFrame();
  }

  /** Cached packets of a stream, for a local viewer's retransmission request (RTCP NACK). */
  cached(movie: string, ssrc: number, seqs: readonly number[]): Buffer[] {
    const s = this.streams.get(movie);
    if (s === undefined) return [];
    const packets = s.cache.pick(ssrc, seqs);
    s.counters.repaired += packets.length;
    this.askUpstream(s, ssrc, seqs, packets);
    return packets;
  }

  private event(movie: string, what: string): void {
    this.lastEvent = { at: this.deps.clock.now(), movie, what };
  }

  private onLeave(from: string, movie: string): void {
    const s = this.streams.get(movie);
    if (s === undefined) return;
    s.waiters.delete(from);
    if (s.downstream.delete(from)) s.targets = [...s.downstream.keys()];
    this.pruneIfUnused(s);
  }

  /**
   * The chain a join from this node speaks for: every node already waiting on it (waiters and,
   * while rerouting, the attached branches) and its own requesters, itself last. A join that
   * comes back to any of them is refused as a loop, so pending nodes cannot wait on each other
   * in a circle through stale routes.
   */
  private pathFor(s: Stream): string[] {
    const names = new Set<string>();
    for (const p of s.waiters.values()) for (const n of p) names.add(n);
    if (s.phase === 'pending') for (const b of s.downstream.values()) for (const n of b.path) names.add(n);
    for (const n of s.joinPath) names.add(n);
    names.delete(this.deps.self);
    return [...names].slice(-(MAX_PATH_LENGTH - 1)).concat(this.deps.self);
  }

  private tryNextUpstream(s: Stream, lastReason?: NakReason, lastDetail?: string): void {
    const path = this.pathFor(s);
    const excluded = (n: string): boolean =>
      path.includes(n) ||
      s.tried.has(n) ||
      s.downstream.has(n) ||
      s.waiters.has(n) ||
      !this.deps.isAlive(n) ||
      this.isFaulty(n);
    const carriers = this.deps.carriers(s.movie).filter((n) => !excluded(n));
    carriers.sort((a, b) => (this.deps.rttMs(a) ?? Infinity) - (this.deps.rttMs(b) ?? Infinity) || (a < b ? -1 : 1));
    // After losing an upstream, stay with the same server if it is still reachable: the new
    // upstream can then resend what was missed (same RTP source), and viewers see no switch.
    const root = s.preferredServer;
    let sameServer: string | undefined;
    if (root !== null && !s.source) {
      const otherRoot = (n: string): boolean => {
        const r = this.deps.carrierRoot(n, s.movie);
        return r !== null && r !== root;
      };
      sameServer =
        carriers.find((n) => this.deps.carrierRoot(n, s.movie) === root) ??
        this.deps.routes.best(root, (n) => !excluded(n) && !otherRoot(n))?.via;
    }
    const next = sameServer ?? carriers[0] ?? this.deps.routes.bestForMovie(s.movie, (n) => !excluded(n))?.via;
    if (next === undefined && this.deps.clock.now() < s.rerouteUntil) {
      // Branches below can only be reached around us from their side: release them now so they
      // reroute on their own, rather than wait with us.
      const detail = `${this.deps.self} lost its way to ${s.movie}`;
      for (const name of [...s.downstream.keys(), ...s.waiters.keys()]) this.nak(name, s.movie, 'no-route', detail);
      s.downstream.clear();
      s.waiters.clear();
      s.targets = [];
      if (s.local.size === 0) {
        this.remove(s);
        return;
      }
      // Local viewers wait: stale routes through the failure are still expiring; try again shortly.
      s.tried.clear();
      s.upstream = null;
      this.schedule(s, this.options.joinRetryMs, () => {
        if (s.upstream === null && s.phase === 'pending') this.tryNextUpstream(s, lastReason, lastDetail);
      });
      return;
    }
    if (next === undefined) {
      const known = this.deps.routes.knowsMovie(s.movie);
      const reason: NakReason = lastReason ?? (known ? 'no-route' : 'unknown-movie');
      const detail =
        lastDetail ??
        (known
          ? `no usable neighbour of ${this.deps.self} leads to a server with ${s.movie}`
          : `no server known to ${this.deps.self} has ${s.movie}`);
      return this.fail(s, reason, detail);
    }
    s.upstream = next;
    s.attemptStartedAt = this.deps.clock.now();
    this.sendJoin(s);
  }

  private sendJoin(s: Stream): void {
    if (s.upstream === null) return;
    this.counters.joinsSent++;
    this.deps.send(s.upstream, {
      type: 'join',
      movie: s.movie,
      path: this.pathFor(s),
      ...(s.preferredServer !== null ? { server: s.preferredServer } : {}),
    });
    if (s.phase === 'pending') this.schedule(s, this.options.joinRetryMs, () => this.retry(s));
  }

  private retry(s: Stream): void {
    if (s.phase !== 'pending' || s.upstream === null) return;
    const elapsed = this.deps.clock.now() - s.attemptStartedAt;
    // A live neighbour that got our join speeds its hellos up at once; one silent since we asked
    // is probably dead (its idle link has not timed out yet): do not wait the full timeout.
    const silent = elapsed >= SUSPECT_SILENCE_MS && !this.deps.heardSince(s.upstream, s.attemptStartedAt);
    if (elapsed >= this.options.joinTimeoutMs || silent) {
      const why = silent
        ? `${s.upstream} silent for ${Math.round(elapsed)} ms`
        : `no answer from upstream within ${this.options.joinTimeoutMs} ms`;
      const target = s.upstream;
      s.tried.add(target);
      s.upstream = null;
      this.tryNextUpstream(s, 'timeout', why);
      // Tell the whole node, so other streams and later joins avoid it too (its next hello revives it).
      if (silent) this.deps.suspect(target);
      return;
    }
    this.sendJoin(s);
  }

  private refresh(s: Stream): void {
    if (s.phase !== 'active' || s.upstream === null) return;
    this.considerSwitch(s);
    this.counters.joinsSent++;
    this.deps.send(s.upstream, {
      type: 'join',
      movie: s.movie,
      path: this.pathFor(s),
      ...(s.rootPath[0] !== undefined ? { server: s.rootPath[0] } : {}),
    });
    this.schedule(s, this.options.refreshMs, () => this.refresh(s));
  }

  /**
   * Make-before-break: when a clearly better route to the same server has been seen for a few
   * refreshes over a link that has stayed up, join through it while the old upstream still
   * feeds us; completeSwitch leaves the old one once the new one acks. Duplicates during the
   * overlap are dropped by the packet cache.
   */
  private considerSwitch(s: Stream): void {
    const now = this.deps.clock.now();
    if (s.switching !== null) {
      if (now - s.switching.since < this.options.joinTimeoutMs) return;
      if (s.switching.to !== s.upstream) this.deps.send(s.switching.to, { type: 'leave', movie: s.movie });
      s.switching = null;
    }
    const root = s.rootPath[0];
    if (root === undefined || s.upstream === null) return;
    const current = this.deps.routes.entries(root).find((e) => e.via === s.upstream);
    const best = this.alternative(s, (n) => {
      const up = this.deps.upSince(n);
      return up !== null && now - up >= SWITCH_STABLE_MS;
    });
    const gain = (current?.latencyMs ?? Infinity) - (best?.latencyMs ?? Infinity);
    if (
      best === undefined ||
      current === undefined ||
      best.latencyMs > current.latencyMs * (1 - SWITCH_MARGIN) ||
      gain < MIN_SWITCH_GAIN_MS
    ) {
      s.betterCount = 0;
      return;
    }
    if (++s.betterCount < SWITCH_CONFIRMATIONS) return;
    s.betterCount = 0;
    this.startSwitch(s, best.via);
  }

  /** The best route to the stream's own server through a neighbour other than the upstream that is not below us. */
  private alternative(s: Stream, acceptable: (neighbour: string) => boolean): RouteEntry | undefined {
    const root = s.rootPath[0];
    if (root === undefined) return undefined;
    const path = this.pathFor(s);
    return this.deps.routes.best(
      root,
      (n) =>
        n !== s.upstream &&
        !path.includes(n) &&
        !s.downstream.has(n) &&
        !s.waiters.has(n) &&
        this.deps.isAlive(n) &&
        !this.isFaulty(n) &&
        acceptable(n),
    );
  }

  /** Joins through `via` while the current upstream still feeds us; completeSwitch finishes it. */
  private startSwitch(s: Stream, via: string): void {
    s.switching = { to: via, since: this.deps.clock.now() };
    this.counters.joinsSent++;
    this.deps.send(via, {
      type: 'join',
      movie: s.movie,
      path: this.pathFor(s),
      ...(s.rootPath[0] !== undefined ? { server: s.rootPath[0] } : {}),
    });
  }

  private completeSwitch(s: Stream, from: string, msg: JoinAckMessage): void {
    s.switching = null;
    if (msg.rootPath.includes(this.deps.self) || msg.rootPath[0] !== s.rootPath[0]) {
      this.deps.send(from, { type: 'leave', movie: s.movie });
      return;
    }
    const old = s.upstream;
    s.upstream = from;
    s.rootPath = msg.rootPath;
    this.counters.switches++;
    this.event(s.movie, `moved upstream from ${old} to ${from} (a faster path)`);
    if (old !== null) this.deps.send(old, { type: 'leave', movie: s.movie });
    // Anything the new path had not yet delivered when the old one stopped.
    const ssrc = s.cache.source;
    const highest = s.cache.highestSeq;
    if (ssrc !== null && highest !== null)
      this.deps.send(from, { type: 'repair', movie: s.movie, ssrc, after: highest });
    for (const [name, branch] of [...s.downstream]) this.accept(s, name, branch.path);
    this.announce();
  }

  private fail(s: Stream, reason: NakReason, detail: string): void {
    for (const waiter of s.waiters.keys()) this.nak(waiter, s.movie, reason, detail);
    for (const name of s.downstream.keys()) this.nak(name, s.movie, reason, detail);
    for (const r of s.local.values()) r.failed(reason, detail);
    this.remove(s);
  }

  private nak(to: string, movie: string, reason: NakReason, detail: string): void {
    this.counters.naksSent++;
    this.deps.send(to, { type: 'nak', movie, reason, detail });
  }

  /** Returns true when the stream had no receivers left and was removed. */
  private pruneIfUnused(s: Stream): boolean {
    if (s.downstream.size > 0 || s.waiters.size > 0 || s.local.size > 0) return false;
    if (s.upstream !== null) this.deps.send(s.upstream, { type: 'leave', movie: s.movie });
    this.counters.prunes++;
    this.remove(s);
    return true;
  }

  private remove(s: Stream): void {
    s.timer?.cancel();
    s.timer = null;
    s.linger?.cancel();
    s.linger = null;
    if (this.streams.get(s.movie) === s) this.streams.delete(s.movie);
    if (s.source) this.deps.stopSource(s.movie);
    this.announce();
  }

  private schedule(s: Stream, ms: number, fn: () => void): void {
    s.timer?.cancel();
    s.timer = this.deps.clock.setTimer(ms, fn);
  }

  /** Expires branches whose downstream stopped refreshing (it died or lost our LEAVE). */
  private sweep(): void {
    const now = this.deps.clock.now();
    for (const s of [...this.streams.values()]) {
      let changed = false;
      for (const [name, b] of s.downstream) {
        if (now - b.refreshedAt > this.options.branchExpiryMs) {
          s.downstream.delete(name);
          changed = true;
        }
      }
      if (changed) {
        s.targets = [...s.downstream.keys()];
        this.lingerIfUnused(s);
      }
    }
    this.sweepTimer = this.deps.clock.setTimer(this.options.refreshMs, () => this.sweep());
  }

  private announce(): void {
    const movies = this.carrying();
    const roots = this.carryingRoots();
    const key = `${movies.join('\n')}|${roots.join('\n')}`;
    if (key === this.announced) return;
    this.announced = key;
    this.deps.carryingChanged(movies, roots);
  }
}
