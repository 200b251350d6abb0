/**
 * Make-before-break: moving a flowing stream to another upstream while the current one still
 * feeds it. Three things start a switch: a clearly faster route to the same server confirmed
 * over several refreshes (switch-policy.ts), an upstream silent for several frame periods (the
 * silence watch, well before three hellos are missed), and an upstream that sent forged data.
 * The old upstream is left once the new one acks; duplicates during the overlap are dropped by
 * the packet cache. A switch not acked within the join timeout is abandoned.
 */
import type { JoinAckMessage } from '../../../common/wire/overlay.ts';
import { Interval } from '../../../common/core/interval.ts';
import type { RouteEntry } from '../route-table.ts';
import type { Repairs } from './repair.ts';
import type { Stream } from './stream-state.ts';
import type { StreamTable } from './stream-table.ts';
import { clearlyFaster, SWITCH_STABLE_MS } from './switch-policy.ts';
import { alternativeUpstream, type FaultyNeighbours } from './upstream-choice.ts';

/** How often the silence watch looks at the streams: a fraction of the shortest silence limit. */
export const SILENCE_CHECK_MS = 25;
/** A silence check this much past its time was held up by this thread, not by the upstream. */
export const STALLED_CHECK_MS = 50;
const FASTER_PATH = 'a faster path';

export class UpstreamSwitch {
  /** The silence watch; its lateness tells a stall of this thread (Interval.lateMs). */
  private readonly silence: Interval;

  constructor(
    private readonly table: StreamTable,
    private readonly repairs: Repairs,
    private readonly faulty: FaultyNeighbours,
  ) {
    this.silence = new Interval(table.deps.clock, SILENCE_CHECK_MS, () => this.checkSilence());
  }

  /** On each refresh of a flowing stream: time out a stale switch, then look for a faster path. */
  consider(s: Stream): void {
    const now = this.table.now();
    if (s.feed.kind === 'switching') {
      if (now - s.feed.since < this.table.options.joinTimeoutMs) return;
      this.table.deps.send(s.feed.to, { type: 'leave', movie: s.movie });
      s.feed = { kind: 'flowing', via: s.feed.via };
    }
    const root = s.rootPath[0];
    if (root === undefined || s.feed.kind !== 'flowing') return;
    const via = s.feed.via;
    const current = this.table.deps.routes.entries(root).find((e) => e.via === via);
    const best = this.alternative(s, (n) => {
      const up = this.table.deps.upSince(n);
      return up !== null && now - up >= SWITCH_STABLE_MS;
    });
    if (s.hysteresis.confirm(clearlyFaster(current?.latencyMs, best?.latencyMs)) && best !== undefined)
      this.start(s, best.via, FASTER_PATH);
  }

  /** True when `from` is the neighbour this stream is switching to. */
  switchingTo(s: Stream, from: string): boolean {
    return s.feed.kind === 'switching' && s.feed.to === from;
  }

  /**
   * The new upstream acked: leave the old one, unless the new chain loops or leads to another
   * server. A silence is often a busy host, not a death: a move to another server's tree would
   * stay there (faster paths are sought towards the same server only), so a dead server is left
   * by the rejoin instead, which picks the best route.
   */
  complete(s: Stream, from: string, msg: JoinAckMessage): void {
    if (s.feed.kind !== 'switching') return;
    const { via: old, reason } = s.feed;
    s.feed = { kind: 'flowing', via: old };
    if (msg.rootPath.includes(this.table.deps.self) || msg.rootPath[0] !== s.rootPath[0]) {
      this.table.deps.send(from, { type: 'leave', movie: s.movie });
      return;
    }
    s.feed = { kind: 'flowing', via: from };
    s.rootPath = msg.rootPath;
    this.table.counters.switches++;
    this.table.event(s.movie, `moved upstream from ${old} to ${from} (${reason})`);
    this.table.deps.send(old, { type: 'leave', movie: s.movie });
    this.repairs.switched(s, from);
    this.table.reackBranches(s);
    this.table.announce();
  }

  /** The neighbour being switched to refused: stay where we are. */
  refused(s: Stream): void {
    if (s.feed.kind === 'switching') s.feed = { kind: 'flowing', via: s.feed.via };
  }

  /** `neighbour` sent forged data: a switch to it is abandoned. */
  abandonTo(s: Stream, neighbour: string): void {
    if (s.feed.kind !== 'switching' || s.feed.to !== neighbour) return;
    s.feed = { kind: 'flowing', via: s.feed.via };
    this.table.deps.send(neighbour, { type: 'leave', movie: s.movie });
  }

  /** Switches a flowing stream away from its upstream, which sent forged data; false when no other route exists. */
  awayFromFaulty(s: Stream, why: string): boolean {
    if (s.feed.kind !== 'flowing') return false;
    const next = this.alternative(s, () => true);
    if (next === undefined) return false;
    this.table.event(s.movie, `${s.feed.via} sent data that fails verification (${why}); joining through ${next.via}`);
    this.start(s, next.via, 'forged data');
    return true;
  }

  /** Starts the silence watch, if the tree is running and it is not already on. */
  watch(): void {
    if (this.table.running) this.silence.start();
  }

  stop(): void {
    this.silence.stop();
  }

  /** Joins through `via` while the current upstream still feeds us; complete() finishes it. */
  private start(s: Stream, to: string, reason: string): void {
    if (s.feed.kind !== 'flowing') return;
    s.feed = { kind: 'switching', via: s.feed.via, to, since: this.table.now(), reason };
    this.table.sendJoin(s, to, s.rootPath[0]);
  }

  private alternative(s: Stream, acceptable: (neighbour: string) => boolean): RouteEntry | undefined {
    const now = this.table.now();
    return alternativeUpstream(this.table.deps, s, (n) => this.faulty.has(n, now), acceptable);
  }

  /**
   * An upstream that stops sending data for several frame periods is probably gone: start joining
   * the next-best path now. If the old upstream was only slow, both feed us for a moment.
   */
  private checkSilence(): void {
    const now = this.table.now();
    // A check this late means our own thread stalled (a busy host): timers run before the socket
    // is read, so what the upstream sent meanwhile is still unread. Silences start again from now.
    const stalled = this.silence.lateMs > STALLED_CHECK_MS;
    if (stalled) this.table.counters.stalledChecks++;
    let watching = false;
    for (const s of this.table.values()) {
      if (s.feed.kind === 'flowing' || s.feed.kind === 'switching') watching = true;
      if (stalled) s.arrivals.restart(now);
      if (s.feed.kind !== 'flowing' || stalled) continue;
      const limit = s.arrivals.overdue(now);
      if (limit === null) continue;
      const next = this.alternative(s, () => true);
      if (next === undefined) continue;
      const silence = `no data from ${s.feed.via} for ${Math.round(limit)} ms`;
      this.table.event(s.movie, `${silence}; joining through ${next.via} before giving it up`);
      this.start(s, next.via, `${s.feed.via} went silent`);
    }
    // Only while some stream is received from upstream: an idle node does not wake up 40 times a second.
    if (!watching) this.silence.stop();
  }
}
