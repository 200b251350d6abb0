/**
 * A POP's RTSP control connections, without sockets: how many one client address and all
 * clients together may hold, and which to close because they sit idle. A connection that holds
 * a session is never idle here (the session's own timeout ends it); one without a session that
 * sends no request for the idle timeout is closed, so idle connections cannot pin file
 * descriptors. When the table is full, the longest-idle connection without a session makes room.
 */
import { decrementCount } from '../../common/core/counts.ts';
import type { Clock } from '../../common/core/clock.ts';
import { Interval } from '../../common/core/interval.ts';

/** A player needs one or two; NAT gateways and test rigs share an address among a few dozen. */
export const MAX_CONNECTIONS_PER_ADDRESS = 32;
/** Above the 1024-session table with one connection per session (bench/rtsp/main.ts opens 1000). */
export const MAX_CONNECTIONS = 2048;
export const IDLE_TIMEOUT_MS = 30_000;
const SWEEP_INTERVAL_MS = 1000;

export interface ConnectionLimits {
  /** Default MAX_CONNECTIONS_PER_ADDRESS. */
  readonly perAddress: number;
  /** Default MAX_CONNECTIONS. */
  readonly total: number;
  /** A connection without a session and without a request for this long is closed; default IDLE_TIMEOUT_MS. */
  readonly idleTimeoutMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  perAddress: MAX_CONNECTIONS_PER_ADDRESS,
  total: MAX_CONNECTIONS,
  idleTimeoutMs: IDLE_TIMEOUT_MS,
};

export interface RtspConnectionDeps {
  readonly clock: Clock;
  /** Whether the connection holds a session. */
  hasSessions(id: number): boolean;
  /** Ends a connection this table gave up (idle or evicted); it is already forgotten here. */
  close(id: number): void;
}

export type Admission = { readonly ok: true } | { readonly ok: false; readonly reason: 'per-address' | 'total' };

export interface ConnectionCounters {
  accepted: number;
  refusedPerAddress: number;
  refusedTotal: number;
  idleClosed: number;
  evicted: number;
}

interface Entry {
  readonly address: string;
  lastActive: number;
}

export class RtspConnections {
  readonly counters: ConnectionCounters = {
    accepted: 0,
    refusedPerAddress: 0,
    refusedTotal: 0,
    idleClosed: 0,
    evicted: 0,
  };
  /** In order of last activity, oldest first (an active connection moves to the end). */
  private readonly open = new Map<number, Entry>();
  private readonly perAddress = new Map<string, number>();
  private readonly sweeper: Interval;

  constructor(
    private readonly deps: RtspConnectionDeps,
    readonly limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS,
  ) {
    this.sweeper = new Interval(deps.clock, SWEEP_INTERVAL_MS, () => this.closeIdle());
  }

  get size(): number {
    return this.open.size;
  }

  start(): void {
    this.sweeper.start();
  }

  stop(): void {
    this.sweeper.stop();
  }

  /** A new connection: admitted (perhaps after evicting an idle one), or to be closed at once. */
  admit(id: number, address: string): Admission {
    if ((this.perAddress.get(address) ?? 0) >= this.limits.perAddress) {
      this.counters.refusedPerAddress++;
      return { ok: false, reason: 'per-address' };
    }
    if (this.open.size >= this.limits.total && !this.evictOne()) {
      this.counters.refusedTotal++;
      return { ok: false, reason: 'total' };
    }
    this.open.set(id, { address, lastActive: this.deps.clock.now() });
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    this.counters.accepted++;
    return { ok: true };
  }

  /** A complete request (or interleaved message) arrived: the connection is in use. */
  active(id: number): void {
    const e = this.open.get(id);
    if (e === undefined) return;
    e.lastActive = this.deps.clock.now();
    this.open.delete(id);
    this.open.set(id, e);
  }

  /** The connection is gone (closed by either side); unknown ids are ignored. */
  closed(id: number): void {
    const e = this.open.get(id);
    if (e === undefined) return;
    this.open.delete(id);
    decrementCount(this.perAddress, e.address);
  }

  private closeIdle(): void {
    const limit = this.deps.clock.now() - this.limits.idleTimeoutMs;
    const idle: number[] = [];
    for (const [id, e] of this.open) {
      if (e.lastActive > limit) break; // the rest were active more recently
      if (!this.deps.hasSessions(id)) idle.push(id);
    }
    for (const id of idle) {
      this.counters.idleClosed++;
      this.drop(id);
    }
  }

  /** Closes the longest-idle connection that holds no session; false if every one holds one. */
  private evictOne(): boolean {
    for (const id of this.open.keys()) {
      if (this.deps.hasSessions(id)) continue;
      this.counters.evicted++;
      this.drop(id);
      return true;
    }
    return false;
  }

  private drop(id: number): void {
    this.closed(id);
    this.deps.close(id);
  }
}
