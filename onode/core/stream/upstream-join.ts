/**
 * Getting and keeping an upstream: JOIN toward the chosen neighbour, resent until acked and
 * given up after a timeout (early when the neighbour is silent), then the next candidate; once
 * acked, refreshed every refreshMs. An upstream lost, refusing or sending forged data starts a
 * reroute that keeps the branches below attached and keeps trying for REROUTE_GRACE_MS while
 * stale routes through the failure expire.
 */
import type { JoinAckMessage, NakMessage, NakReason } from '../../../common/wire/overlay.ts';
import type { Repairs } from './repair.ts';
import { newSearch, type Stream, type UpstreamSearch, upstreamOf } from './stream-state.ts';
import type { StreamTable } from './stream-table.ts';
import { chooseUpstream, type FaultyNeighbours, joinChain } from './upstream-choice.ts';
import type { UpstreamSwitch } from './upstream-switch.ts';

/** How long a node that lost its upstream keeps looking for a new one (past the route TTL: stale routes expire). */
export const REROUTE_GRACE_MS = 8000;
/** A join target not heard from at all for this long after the join is given up early. */
export const SUSPECT_SILENCE_MS = 250;

export class UpstreamJoin {
  constructor(
    private readonly table: StreamTable,
    private readonly repairs: Repairs,
    private readonly switcher: UpstreamSwitch,
    private readonly faulty: FaultyNeighbours,
  ) {}

  /** Starts joining a new stream. */
  begin(s: Stream): void {
    if (s.feed.kind === 'searching') this.tryNext(s, s.feed.search);
  }

  onAck(from: string, msg: JoinAckMessage): void {
    const s = this.table.get(msg.movie);
    if (s !== undefined && this.switcher.switchingTo(s, from)) return this.switcher.complete(s, from, msg);
    if (s === undefined || upstreamOf(s.feed) !== from) {
      this.table.deps.send(from, { type: 'leave', movie: msg.movie });
      return;
    }
    if (msg.rootPath.includes(this.table.deps.self))
      return this.onNak(from, {
        type: 'nak',
        movie: msg.movie,
        reason: 'loop',
        detail: 'root path contains this node',
      });
    const changed = s.rootPath.join('>') !== msg.rootPath.join('>');
    s.rootPath = msg.rootPath;
    s.preferredServer = msg.rootPath[0] ?? s.preferredServer;
    if (s.feed.kind !== 'joining') {
      // The path above moved (a switch upstream): the branches below learn the new chain.
      if (changed) this.table.reackBranches(s);
      return;
    }
    s.feed = { kind: 'flowing', via: from };
    this.switcher.watch();
    this.repairs.watch();
    this.repairs.joined(s, from);
    this.table.schedule(s, this.table.options.refreshMs, () => this.refresh(s));
    for (const [waiter, path] of [...s.branches.waiters]) this.table.accept(s, waiter, path);
    // Branches that stayed attached through a reroute learn the new root path.
    this.table.reackBranches(s);
    for (const r of s.local.values()) r.joined();
    if (!this.table.pruneIfUnused(s)) this.table.announce();
  }

  onNak(from: string, msg: NakMessage): void {
    this.table.counters.naksReceived++;
    const s = this.table.get(msg.movie);
    if (s !== undefined && this.switcher.switchingTo(s, from)) return this.switcher.refused(s);
    if (s === undefined || upstreamOf(s.feed) !== from) return;
    if (s.feed.kind === 'joining') {
      const search = s.feed.search;
      search.tried.add(from);
      s.feed = { kind: 'searching', search };
      return this.tryNext(s, search, msg.reason, msg.detail);
    }
    const inFlight = s.feed.kind === 'switching' ? s.feed.to : null;
    const search = this.startReroute(s, from);
    this.table.event(s.movie, `upstream ${from} refused (${msg.reason}); rerouting`);
    this.table.announce();
    this.rejoin(s, search, inFlight, msg.reason, msg.detail);
  }

  /** The link to the stream's upstream went down: look for another way, branches below kept attached. */
  lost(s: Stream, neighbour: string): void {
    this.table.event(s.movie, `upstream ${neighbour} lost; rerouting`);
    // Stay with the same server, unless the server itself is what died.
    s.preferredServer = s.rootPath[0] === neighbour ? null : (s.rootPath[0] ?? s.preferredServer);
    const inFlight = s.feed.kind === 'switching' ? s.feed.to : null;
    const search = this.startReroute(s, neighbour);
    if (this.table.pruneIfUnused(s)) return;
    this.rejoin(s, search, inFlight);
  }

  /** The upstream (or the neighbour being joined) sent forged data and no switch around it exists: leave it. */
  rerouteAround(s: Stream, neighbour: string, why: string): void {
    this.table.deps.send(neighbour, { type: 'leave', movie: s.movie });
    let search: UpstreamSearch;
    if (s.feed.kind === 'joining') {
      search = s.feed.search;
      search.tried.add(neighbour);
      s.feed = { kind: 'searching', search };
    } else {
      search = this.startReroute(s, neighbour);
      this.table.announce();
    }
    this.table.event(s.movie, `${neighbour} sent data that fails verification (${why}); rerouting around it`);
    this.tryNext(s, search, 'no-route', `${neighbour} sent ${s.movie} data that fails verification`);
  }

  /** An active stream lost its upstream `lost`: it searches again, for up to REROUTE_GRACE_MS. */
  private startReroute(s: Stream, lost: string): UpstreamSearch {
    this.table.counters.reroutes++;
    const search = newSearch(this.table.now() + REROUTE_GRACE_MS, [lost]);
    s.feed = { kind: 'searching', search };
    return search;
  }

  /** Carries on with a switch's join already in flight around the failure (the data stopped first), else searches. */
  private rejoin(
    s: Stream,
    search: UpstreamSearch,
    inFlight: string | null,
    lastReason?: NakReason,
    lastDetail?: string,
  ): void {
    if (inFlight !== null && this.table.deps.isAlive(inFlight)) {
      s.feed = { kind: 'joining', via: inFlight, since: this.table.now(), search };
      this.sendJoin(s);
    } else {
      this.tryNext(s, search, lastReason, lastDetail);
    }
  }

  private tryNext(s: Stream, search: UpstreamSearch, lastReason?: NakReason, lastDetail?: string): void {
    const { deps } = this.table;
    const path = joinChain(s, deps.self);
    const excluded = (n: string): boolean =>
      path.includes(n) ||
      search.tried.has(n) ||
      s.branches.has(n) ||
      !deps.isAlive(n) ||
      this.faulty.has(n, this.table.now());
    const next = chooseUpstream(deps, s.movie, s.preferredServer, excluded);
    if (next === undefined && this.table.now() < search.rerouteUntil)
      return this.waitForRoutes(s, search, lastReason, lastDetail);
    if (next === undefined) {
      const known = deps.routes.knowsMovie(s.movie);
      const reason: NakReason = lastReason ?? (known ? 'no-route' : 'unknown-movie');
      const detail =
        lastDetail ??
        (known
          ? `no usable neighbour of ${deps.self} leads to a server with ${s.movie}`
          : `no server known to ${deps.self} has ${s.movie}`);
      return this.table.fail(s, reason, detail);
    }
    s.feed = { kind: 'joining', via: next, since: this.table.now(), search };
    this.sendJoin(s);
  }

  /**
   * Rerouting found no candidate yet. Branches below can only be reached around us from their
   * side: release them now so they reroute on their own, rather than wait with us. Local viewers
   * wait while stale routes through the failure expire; the search starts over shortly.
   */
  private waitForRoutes(s: Stream, search: UpstreamSearch, lastReason?: NakReason, lastDetail?: string): void {
    const detail = `${this.table.deps.self} lost its way to ${s.movie}`;
    const below = [...s.branches.downstream.keys(), ...s.branches.waiters.keys()];
    for (const name of below) this.table.nak(name, s.movie, 'no-route', detail);
    s.branches.clear();
    if (s.local.size === 0) return this.table.remove(s);
    search.tried.clear();
    s.feed = { kind: 'searching', search };
    this.table.schedule(s, this.table.options.joinRetryMs, () => {
      if (s.feed.kind === 'searching') this.tryNext(s, s.feed.search, lastReason, lastDetail);
    });
  }

  private sendJoin(s: Stream): void {
    if (s.feed.kind !== 'joining') return;
    this.table.sendJoin(s, s.feed.via, s.preferredServer ?? undefined);
    this.table.schedule(s, this.table.options.joinRetryMs, () => this.retry(s));
  }

  private retry(s: Stream): void {
    if (s.feed.kind !== 'joining') return;
    const { via, since, search } = s.feed;
    const elapsed = this.table.now() - since;
    const timeoutMs = this.table.options.joinTimeoutMs;
    // A live neighbour that got our join speeds its hellos up at once; one silent since we asked
    // is probably dead (its idle link has not timed out yet): do not wait the full timeout.
    const silent = elapsed >= SUSPECT_SILENCE_MS && !this.table.deps.heardSince(via, since);
    if (elapsed >= timeoutMs || silent) {
      const why = silent
        ? `${via} silent for ${Math.round(elapsed)} ms`
        : `no answer from upstream within ${timeoutMs} ms`;
      search.tried.add(via);
      s.feed = { kind: 'searching', search };
      this.tryNext(s, search, 'timeout', why);
      // Tell the whole node, so other streams and later joins avoid it too (its next hello revives it).
      if (silent) this.table.deps.suspect(via);
      return;
    }
    this.sendJoin(s);
  }

  /** Keeps the upstream's branch alive, and gives the switch policy its periodic look. */
  private refresh(s: Stream): void {
    if (s.feed.kind !== 'flowing' && s.feed.kind !== 'switching') return;
    this.switcher.consider(s);
    const via = upstreamOf(s.feed);
    if (via === null) return;
    this.table.sendJoin(s, via, s.rootPath[0]);
    this.table.schedule(s, this.table.options.refreshMs, () => this.refresh(s));
  }
}
