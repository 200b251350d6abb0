/**
 * The streams this node carries and their lifetime: created by a viewer or a join, branches
 * acked, failed back to everyone waiting, pruned when nobody uses them (after a linger when the
 * last receiver failed rather than left), and announced to the neighbours while active. The
 * parts of the tree share this table, its counters and its last event.
 */
import type { NakReason } from '../../../common/wire/overlay.ts';
import { CACHE_PACKETS } from '../packet-cache.ts';
import { isActive, newStream, type Stream, upstreamOf } from './stream-state.ts';
import type { TreeCounters, TreeDeps, TreeEvent, TreeOptions } from './tree-api.ts';
import { joinChain } from './upstream-choice.ts';

/** How long a server keeps a channel whose last branch failed (not left) running, for it to come back. */
export const SOURCE_LINGER_MS = 3000;
/** The same for a relay: long enough for a rejoin through it, short enough not to waste the link. */
export const RELAY_LINGER_MS = 1000;

export class StreamTable {
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
    stalledChecks: 0,
  };
  lastEvent: TreeEvent | null = null;
  /** Between the tree's start() and stop(). */
  running = false;
  private readonly streams = new Map<string, Stream>();
  /** What carryingChanged last said, so only changes are announced. */
  private announced = '';

  constructor(
    readonly deps: TreeDeps,
    readonly options: TreeOptions,
  ) {}

  get(movie: string): Stream | undefined {
    return this.streams.get(movie);
  }

  /** Every stream, as a copy safe to change the table under. */
  all(): Stream[] {
    return [...this.streams.values()];
  }

  /** Every stream, live: only for loops that change no stream's presence. */
  values(): IterableIterator<Stream> {
    return this.streams.values();
  }

  now(): number {
    return this.deps.clock.now();
  }

  event(movie: string, what: string): void {
    this.lastEvent = { at: this.now(), movie, what };
  }

  /** Sends `to` a JOIN for the stream (a first join, a switch's, or a refresh), naming `server` if known. */
  sendJoin(s: Stream, to: string, server: string | undefined): void {
    this.counters.joinsSent++;
    this.deps.send(to, {
      type: 'join',
      movie: s.movie,
      path: joinChain(s, this.deps.self),
      ...(server !== undefined ? { server } : {}),
    });
  }

  nak(to: string, movie: string, reason: NakReason, detail: string): void {
    this.counters.naksSent++;
    this.deps.send(to, { type: 'nak', movie, reason, detail });
  }

  /**
   * A new stream: a source's starts its channel and is announced at once; a relay's starts
   * searching. `attach` adds the first receiver before a source's channel starts, so the first
   * packets (an H.264 channel's burst from its last keyframe) reach it.
   */
  create(movie: string, joinPath: readonly string[], attach: (s: Stream) => void = () => {}): Stream {
    const source = this.deps.isSource(movie);
    const s = newStream(movie, source, this.deps.self, joinPath, this.options.cachePackets ?? CACHE_PACKETS);
    this.streams.set(movie, s);
    attach(s);
    if (source) {
      this.deps.startSource(movie);
      const first = s.cache.firstSeq;
      if (first !== null) s.branches.stampUnattached((first - 1) & 0xffff);
      this.announce();
    }
    return s;
  }

  /** Attaches (or refreshes) the branch to `from` and acks it with our chain, unless that chain would loop. */
  accept(s: Stream, from: string, path: readonly string[]): void {
    const clash = path.find((n) => s.rootPath.includes(n));
    if (clash !== undefined) {
      s.branches.drop(from);
      return this.nak(from, s.movie, 'loop', `${clash} is upstream of ${this.deps.self}`);
    }
    s.branches.attach(from, path, this.now(), s.cache.highestSeq);
    this.deps.send(from, { type: 'join-ack', movie: s.movie, rootPath: this.chainOf(s) });
  }

  /** Acks every attached branch again, so they learn a new chain from the source. */
  reackBranches(s: Stream): void {
    for (const [name, branch] of [...s.branches.downstream]) this.accept(s, name, branch.path);
  }

  /** The chain from the source to this node, as acks carry it (a source's rootPath is already itself). */
  private chainOf(s: Stream): readonly string[] {
    return s.feed.kind === 'source' ? s.rootPath : [...s.rootPath, this.deps.self];
  }

  /** Tells everyone waiting on the stream why it cannot be had, and drops it. */
  fail(s: Stream, reason: NakReason, detail: string): void {
    for (const waiter of s.branches.waiters.keys()) this.nak(waiter, s.movie, reason, detail);
    for (const name of s.branches.downstream.keys()) this.nak(name, s.movie, reason, detail);
    for (const r of s.local.values()) r.failed(reason, detail);
    this.remove(s);
  }

  /** Returns true when the stream had no receivers left and was removed (leaving its upstream). */
  pruneIfUnused(s: Stream): boolean {
    if (!s.branches.empty || s.local.size > 0) return false;
    const upstream = upstreamOf(s.feed);
    if (upstream !== null) this.deps.send(upstream, { type: 'leave', movie: s.movie });
    this.counters.prunes++;
    this.remove(s);
    return true;
  }

  /**
   * A stream whose last receiver failed is pruned after a linger (SOURCE_LINGER_MS, RELAY_LINGER_MS)
   * unless someone rejoins: branches lost to a failure usually come back within a second, often
   * through this node, and then resume the same RTP source.
   */
  lingerIfUnused(s: Stream): void {
    if (!s.branches.empty || s.local.size > 0) return;
    if (!isActive(s.feed)) {
      this.pruneIfUnused(s);
      return;
    }
    s.linger?.cancel();
    s.linger = this.deps.clock.setTimer(s.feed.kind === 'source' ? SOURCE_LINGER_MS : RELAY_LINGER_MS, () => {
      s.linger = null;
      this.pruneIfUnused(s);
    });
  }

  remove(s: Stream): void {
    s.timer?.cancel();
    s.timer = null;
    s.linger?.cancel();
    s.linger = null;
    if (this.streams.get(s.movie) === s) this.streams.delete(s.movie);
    if (s.feed.kind === 'source') this.deps.stopSource(s.movie);
    this.announce();
  }

  /** Sets the stream's one pending feed step, replacing the previous one. */
  schedule(s: Stream, ms: number, fn: () => void): void {
    s.timer?.cancel();
    s.timer = this.deps.clock.setTimer(ms, fn);
  }

  /** Active streams in movie order. */
  active(): Stream[] {
    return this.all()
      .filter((s) => isActive(s.feed))
      .sort((a, b) => (a.movie < b.movie ? -1 : 1));
  }

  /** Tells the node when the set of carried movies (or their roots) changed. */
  announce(): void {
    const active = this.active();
    const movies = active.map((s) => s.movie);
    const roots = active.map((s) => s.rootPath[0] ?? this.deps.self);
    const key = `${movies.join('\n')}|${roots.join('\n')}`;
    if (key === this.announced) return;
    this.announced = key;
    this.deps.carryingChanged(movies, roots);
  }
}
