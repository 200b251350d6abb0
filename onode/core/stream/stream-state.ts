/**
 * One movie's stream at this node. Where its data comes from is one explicit state (`Feed`);
 * who it goes to is the branch table and the local viewers; the rest is what each part of the
 * tree keeps per stream (the packet cache, the repair ledger, the switch policy's counters).
 *
 * Lingering is not a state of its own: a stream whose last receiver failed keeps its feed (data
 * still flows, so a rejoin resumes at once) with a timer that prunes it if nobody came back.
 */
import type { Timer } from '../../../common/core/clock.ts';
import { PacketCache } from '../packet-cache.ts';
import { BranchTable } from './branch-table.ts';
import { RepairLedger } from './repair.ts';
import { FrameGap, SwitchHysteresis } from './switch-policy.ts';
import type { LocalReceiver, StreamCounters } from './tree-api.ts';

/** One search for an upstream, from a first join or the loss of an upstream until an ack. */
export interface UpstreamSearch {
  /** Neighbours that refused, failed or timed out in this search. */
  readonly tried: Set<string>;
  /**
   * After losing an upstream, keep trying until then (routes through a dead node take a while to
   * expire); 0 on a first join.
   */
  readonly rerouteUntil: number;
}

export type Feed =
  /** This server's own movie channel produces the stream. */
  | { readonly kind: 'source' }
  /**
   * No join in flight: one is being chosen, or (rerouting with local viewers and no candidate
   * yet) a retry waits for stale routes to expire.
   */
  | { readonly kind: 'searching'; readonly search: UpstreamSearch }
  /** A JOIN to `via`, first sent at `since`, awaits its ack; data from `via` is taken already. */
  | { readonly kind: 'joining'; readonly via: string; readonly since: number; readonly search: UpstreamSearch }
  /** `via` acked and feeds the stream. */
  | { readonly kind: 'flowing'; readonly via: string }
  /** Make-before-break: `via` still feeds the stream while a JOIN to `to`, sent at `since`, awaits its ack. */
  | {
      readonly kind: 'switching';
      readonly via: string;
      readonly to: string;
      readonly since: number;
      /** Why (for the event when it completes): a faster path, a silent upstream, forged data. */
      readonly reason: string;
    };

export interface Stream {
  readonly movie: string;
  feed: Feed;
  /** The chain from the server to the upstream, as its ack said; [self] at a source, [] before any ack. */
  rootPath: readonly string[];
  /** The chain of the join that created the stream (its requesters, this node last). */
  readonly joinPath: readonly string[];
  /** The server to stay with when rerouting (ours before the failure, or the one a joining branch asked for). */
  preferredServer: string | null;
  readonly branches: BranchTable;
  readonly local: Map<string, LocalReceiver>;
  readonly counters: StreamCounters;
  readonly cache: PacketCache;
  readonly repairs: RepairLedger;
  readonly arrivals: FrameGap;
  readonly hysteresis: SwitchHysteresis;
  /** The one pending step of the feed: join retry, refresh, or wait before searching again. */
  timer: Timer | null;
  /** The pending prune of a stream whose last receiver failed (see StreamTable.lingerIfUnused). */
  linger: Timer | null;
  /** When a LEAVE last answered stray data of this movie. */
  lastStrayLeaveAt: number;
}

export function newSearch(rerouteUntil = 0, tried: readonly string[] = []): UpstreamSearch {
  return { tried: new Set(tried), rerouteUntil };
}

export function newStream(
  movie: string,
  source: boolean,
  self: string,
  joinPath: readonly string[],
  cachePackets: number,
): Stream {
  return {
    movie,
    feed: source ? { kind: 'source' } : { kind: 'searching', search: newSearch() },
    rootPath: source ? [self] : [],
    joinPath,
    preferredServer: null,
    branches: new BranchTable(),
    local: new Map(),
    counters: { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, strayPackets: 0, duplicates: 0, repaired: 0 },
    cache: new PacketCache(cachePackets),
    repairs: new RepairLedger(),
    arrivals: new FrameGap(),
    hysteresis: new SwitchHysteresis(),
    timer: null,
    linger: null,
    lastStrayLeaveAt: Number.NEGATIVE_INFINITY,
  };
}

/** Active streams carry data and are announced to neighbours; the others still look for an upstream. */
export function isActive(feed: Feed): boolean {
  return feed.kind === 'source' || feed.kind === 'flowing' || feed.kind === 'switching';
}

/** The neighbour the stream comes from (or is being joined through); null at a source or while searching. */
export function upstreamOf(feed: Feed): string | null {
  switch (feed.kind) {
    case 'joining':
    case 'flowing':
    case 'switching':
      return feed.via;
    default:
      return null;
  }
}

/** Whether data from `from` is taken: the upstream (joined or being joined) or the one being switched to. */
export function takesFrom(feed: Feed, from: string): boolean {
  switch (feed.kind) {
    case 'joining':
    case 'flowing':
      return feed.via === from;
    case 'switching':
      return feed.via === from || feed.to === from;
    default:
      return false;
  }
}
