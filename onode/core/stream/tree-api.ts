/**
 * What the stream tree offers and needs: its options, the node services it is built on, the
 * viewers it feeds, and the counters and snapshots it reports.
 */
import type { Clock } from '../../../common/core/clock.ts';
import type {
  JoinAckMessage,
  JoinMessage,
  LeaveMessage,
  NakMessage,
  NakReason,
  RepairMessage,
} from '../../../common/wire/overlay.ts';
import type { RouteTable } from '../route-table.ts';

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
  /** A source's recent packets of the movie sent again (its channel's shared timeline); [] if none. */
  resendFromSource(movie: string, ssrc: number, seqs: readonly number[]): Buffer[];
  /** The newest sequence number the source's channel sent, or null. */
  newestSourceSeq(movie: string): number | null;
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
  /** Silence checks skipped because this thread had stalled (its own lateness, not the upstream's). */
  stalledChecks: number;
}

/** The last tree event worth showing (reroute, repair, failure), for the status API. */
export interface TreeEvent {
  readonly at: number;
  readonly movie: string;
  readonly what: string;
}
