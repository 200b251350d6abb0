/**
 * The bootstrapper's front desk, without sockets: every connection from accept to close.
 *
 *  - A node registers by proof (registration-proof.ts): register → challenge → prove; only a
 *    verified proof reaches the Directory. An unproven one never displaces the registered node and
 *    never sees a neighbour list: it is counted (badProof), answered with an error and closed. Every
 *    later message to a registered node is sealed under its key.
 *  - A client's login is answered with the welcome, and the connection ended.
 *  - A connection not registered (pending) must finish within PENDING_TIMEOUT_MS. Pending
 *    connections are capped per source address and in total; at the cap the oldest pending one is
 *    closed to make room, so a flood of idle connections never locks out a login or a registration.
 *    Registered connections are exempt: there is at most one per topology node.
 *  - A registered node may ask the time (time-sync.ts): the answer, sealed, carries the reference
 *    clock (`referenceNow`), at most MAX_TIME_REQUESTS per TIME_REQUEST_WINDOW_MS per connection.
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import { RateWindow } from '../../common/core/rate-window.ts';
import type { Logger } from '../../common/net/logger.ts';
import { nodeKey } from '../../common/security/overlay-keys.ts';
import {
  macEquals,
  newNonce,
  proveMac,
  reportMac,
  sealMac,
  type Session,
} from '../../common/security/registration-proof.ts';
import { ed25519PublicKey } from '../../common/security/server-keyring.ts';
import type { BootstrapMessage, RegisteredMessage, WelcomeMessage } from '../../common/wire/bootstrap.ts';
import { decodeTelemetryReport, type TelemetryReport } from '../../common/wire/dashboard-api.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import type { Decoded } from '../../common/wire/result.ts';
import type { Directory, Notice } from './directory.ts';

/** Time a connection has to register or log in: both take one round trip. */
export const PENDING_TIMEOUT_MS = 5000;
/**
 * Reports a registered node may send per second (its reporter sends at most 4): over it they are
 * dropped before being checked, so one member cannot keep the bootstrapper busy or wash the shared
 * timeline out with its events.
 */
export const MAX_REPORTS_PER_SECOND = 8;
/** Lines of any kind a registered node may send per second, else dropped unread: reports and a time burst fit. */
export const MAX_MEMBER_LINES_PER_SECOND = 16;
/**
 * Time requests answered per connection and window: a server's TimeSync asks 8 in its first second, then one
 * every 2 s. Over it they are dropped (counted); the connection stays.
 */
export const MAX_TIME_REQUESTS = 20;
export const TIME_REQUEST_WINDOW_MS = 10_000;
export const MAX_PENDING_PER_ADDRESS = 16;
export const MAX_PENDING = 512;
/** A welcome is rebuilt at most this often (a big catalogue costs to build and encode). */
export const WELCOME_CACHE_MS = 1000;
/** Refusals are logged at most this often, so a flood cannot fill the log. */
export const REFUSAL_LOG_INTERVAL_MS = 5000;
/** The bootstrapper's own node registers on this pseudo-connection. */
export const LOCAL_CONN = 0;

export const WRONG_SECRET = 'wrong overlay secret (is --secret the same on every node?)';

/** What the desk asks its socket adapter to do. */
export interface DeskOutput {
  send(conn: number, msg: BootstrapMessage): void;
  /** Sends a last message, then closes gracefully. */
  end(conn: number, msg: BootstrapMessage): void;
  /** Closes now (evicted, timed out, displaced by a proven re-registration). */
  destroy(conn: number): void;
  /** A notice for the bootstrapper's own node, which runs in this process. */
  local(msg: BootstrapMessage): void;
  /** A registered node's verified telemetry report (the dashboard's store takes it). */
  report?(name: string, report: TelemetryReport): void;
  /** A node registered, or its current connection closed. */
  membership?(name: string, change: 'registered' | 'gone'): void;
}

export interface DeskCounters {
  registrations: number;
  logins: number;
  malformed: number;
  /** Registrations from addresses that are no node's. */
  refused: number;
  /** Proofs that failed: wrong secret, replayed, forged. */
  badProof: number;
  /** Pending connections closed to make room for a newer one. */
  evicted: number;
  /** Pending connections closed for not finishing in time. */
  timedOut: number;
  /** Connections not (yet) registered, right now. */
  pending: number;
  /** Telemetry reports taken from registered nodes. */
  reports: number;
  /** Reports refused: a bad MAC, replayed, a body that is not a report, oversize (other lines: malformed). */
  badReports: number;
  /** A member's lines dropped unread over MAX_MEMBER_LINES_PER_SECOND, or reports over MAX_REPORTS_PER_SECOND. */
  reportsLimited: number;
  /** Time requests answered. */
  timeAnswered: number;
  /** Time requests dropped, over MAX_TIME_REQUESTS per TIME_REQUEST_WINDOW_MS. */
  timeLimited: number;
}

interface Pending {
  readonly conn: number;
  readonly address: string;
  state: 'new' | 'challenged' | 'done';
  session: Session | null;
  pid: number;
  readonly timer: Timer;
}

interface Member {
  readonly session: Session;
  readonly key: Buffer;
  nextSeq: number;
  /** The last report's sequence number: each must be higher (none replayed). */
  lastReport: number;
  readonly lineBudget: RateWindow;
  readonly reportBudget: RateWindow;
  readonly timeBudget: RateWindow;
}

export interface DeskOptions {
  readonly directory: Directory;
  readonly secret: Buffer;
  readonly clock: Clock;
  readonly catalogue: () => readonly MovieInfo[];
  readonly out: DeskOutput;
  readonly log: Logger;
  /** Nonce source; tests inject a fixed one. */
  readonly nonce?: () => string;
  /**
   * The reference clock that time answers carry (ms; servers on other hosts compare it, so in the
   * daemons ms since 1970). Default: `clock.now()`. A standby bootstrapper answers with its estimate of the primary's.
   */
  readonly referenceNow?: () => number;
}

export class BootstrapDesk {
  readonly counters: DeskCounters = {
    registrations: 0,
    logins: 0,
    malformed: 0,
    refused: 0,
    badProof: 0,
    evicted: 0,
    timedOut: 0,
    pending: 0,
    reports: 0,
    badReports: 0,
    reportsLimited: 0,
    timeAnswered: 0,
    timeLimited: 0,
  };
  /** Insertion order is age order: the first entry is the oldest. */
  private readonly pending = new Map<number, Pending>();
  private readonly pendingByAddress = new Map<string, Set<number>>();
  private readonly members = new Map<number, Member>();
  private welcomeCache: { readonly at: number; readonly msg: WelcomeMessage } | null = null;
  private lastRefusalLog = -Infinity;
  private suppressedRefusals = 0;
  private readonly nonce: () => string;
  private readonly referenceNow: () => number;

  constructor(private readonly o: DeskOptions) {
    this.nonce = o.nonce ?? newNonce;
    this.referenceNow = o.referenceNow ?? (() => o.clock.now());
  }

  /** Registers the bootstrapper's own node (it has no connection); its first view of the overlay. */
  registerSelf(name: string, signingKey?: string): RegisteredMessage | undefined {
    const reg = this.o.directory.register(LOCAL_CONN, name, signingKey);
    if (reg === undefined) return undefined;
    this.welcomeCache = null;
    this.deliver(reg.notices);
    return reg.reply;
  }

  /**
   * A new connection: room is made for it at once. At its address's cap, that address's oldest
   * pending connection goes; at the total cap, see victim().
   */
  accept(conn: number, address: string): void {
    const same = this.pendingByAddress.get(address);
    if (same !== undefined && same.size >= MAX_PENDING_PER_ADDRESS) this.evict(oldest(same));
    if (this.pending.size >= MAX_PENDING) this.evict(this.victim());
    const timer = this.o.clock.setTimer(PENDING_TIMEOUT_MS, () => this.timeout(conn));
    this.pending.set(conn, { conn, address, state: 'new', session: null, pid: 0, timer });
    const set = same ?? new Set<number>();
    set.add(conn);
    this.pendingByAddress.set(address, set);
    this.counters.pending = this.pending.size;
  }

  /** A line from a connection, decoded (or why not). */
  receive(conn: number, decoded: Decoded<BootstrapMessage>): void {
    const p = this.pending.get(conn);
    if (p === undefined) {
      // A registered node only sends telemetry reports and time requests; anything else is counted and ignored.
      const member = this.members.get(conn);
      if (member === undefined) return;
      if (decoded.ok && decoded.value.type === 'time') this.answerTime(conn, member, decoded.value);
      else this.takeReport(member, decoded);
      return;
    }
    if (p.state === 'done') return;
    if (!decoded.ok) {
      this.counters.malformed++;
      return this.refuse(p, decoded.reason, 'expected one JSON bootstrap message per line');
    }
    const msg = decoded.value;
    if (msg.type === 'login' && p.state === 'new') {
      this.counters.logins++;
      p.state = 'done';
      this.o.out.end(conn, this.welcome());
    } else if (msg.type === 'register' && p.state === 'new') {
      this.challenge(p, msg.pid, msg.nonce);
    } else if (msg.type === 'prove' && p.state === 'challenged') {
      this.verify(p, msg.mac, msg.signingKey);
    } else {
      this.counters.malformed++;
      this.refuse(p, 'unexpected', `a ${msg.type} message is not expected here`);
    }
  }

  /** The connection sent a line longer than the limit. */
  oversize(conn: number): void {
    if (this.members.has(conn)) {
      // A registered node's report too big: dropped, the registration stays (its reports are not essential).
      this.counters.badReports++;
      return;
    }
    const p = this.pending.get(conn);
    this.counters.malformed++;
    if (p !== undefined && p.state !== 'done') this.refuse(p, 'oversize', 'line too long');
    else this.o.out.destroy(conn);
  }

  closed(conn: number): void {
    const p = this.pending.get(conn);
    if (p !== undefined) return this.drop(p);
    const member = this.members.get(conn);
    if (member === undefined) return;
    this.members.delete(conn);
    const name = member.session.name;
    if (this.o.directory.connectionOf(name) !== conn) return; // displaced: its successor is registered
    this.o.log.info(`${name} is gone`);
    this.o.out.membership?.(name, 'gone');
    this.deliver(this.o.directory.lost(conn));
  }

  /** Cancels every timer (the adapter closes the sockets). */
  stop(): void {
    for (const p of this.pending.values()) p.timer.cancel();
    this.pending.clear();
    this.pendingByAddress.clear();
    this.members.clear();
    this.counters.pending = 0;
  }

  welcome(): WelcomeMessage {
    const now = this.o.clock.now();
    if (this.welcomeCache !== null && now - this.welcomeCache.at < WELCOME_CACHE_MS) return this.welcomeCache.msg;
    const msg = this.o.directory.welcome(this.o.catalogue());
    this.welcomeCache = { at: now, msg };
    return msg;
  }

  private challenge(p: Pending, pid: number, nodeNonce: string): void {
    const directory = this.o.directory;
    const node = directory.nodeAt(p.address);
    if (node === undefined) {
      this.counters.refused++;
      this.warn(`refused registration from ${p.address}: not in the topology`);
      return this.refuse(
        p,
        'unknown-address',
        `${p.address} is not an address of any node in ${directory.source}; ` +
          'start the node with --address set to one of its addresses',
      );
    }
    if (node.name === directory.bootstrapper) {
      this.counters.refused++;
      this.warn(`refused registration from ${p.address}: ${node.name} is the bootstrapper itself`);
      return this.refuse(p, 'is-bootstrapper', `${node.name} is the bootstrapper itself; it does not register`);
    }
    p.session = { name: node.name, nodeNonce, bootNonce: this.nonce() };
    p.pid = pid;
    p.state = 'challenged';
    this.o.out.send(p.conn, { type: 'challenge', name: node.name, nonce: p.session.bootNonce });
  }

  private verify(p: Pending, mac: string, signingKey: string | undefined): void {
    const s = p.session;
    if (s === null) return;
    const key = nodeKey(this.o.secret, s.name);
    if (!macEquals(proveMac(key, s, signingKey ?? ''), mac)) {
      this.counters.badProof++;
      this.warn(`refused ${s.name} from ${p.address}: ${WRONG_SECRET}`);
      return this.refuse(p, 'bad-proof', WRONG_SECRET);
    }
    if (signingKey !== undefined && ed25519PublicKey(Buffer.from(signingKey, 'base64')) === undefined) {
      this.counters.malformed++;
      return this.refuse(p, 'bad-key', 'the stream-signing key is not an Ed25519 public key');
    }
    const reg = this.o.directory.register(p.conn, s.name, signingKey);
    if (reg === undefined) return this.refuse(p, 'unknown-node', `${s.name} is not in the topology`);
    this.drop(p);
    this.welcomeCache = null;
    const member: Member = {
      session: s,
      key,
      nextSeq: 0,
      lastReport: -1,
      lineBudget: new RateWindow(MAX_MEMBER_LINES_PER_SECOND),
      reportBudget: new RateWindow(MAX_REPORTS_PER_SECOND),
      timeBudget: new RateWindow(MAX_TIME_REQUESTS, TIME_REQUEST_WINDOW_MS),
    };
    this.members.set(p.conn, member);
    if (reg.replaced !== undefined) {
      this.members.delete(reg.replaced);
      this.o.out.destroy(reg.replaced);
    }
    this.counters.registrations++;
    const replacing = reg.replaced !== undefined ? ', replacing its old connection' : '';
    this.o.log.info(`${s.name} registered from ${p.address} (pid ${p.pid})${replacing}`);
    this.seal(p.conn, member, reg.reply);
    this.deliver(reg.notices);
    this.o.out.membership?.(s.name, 'registered');
  }

  /** True once `conn` has registered: its lines may be as long as a telemetry report. */
  isMember(conn: number): boolean {
    return this.members.has(conn);
  }

  /** Whether to read the next line of `conn`: always before registration, within the line budget after. */
  admits(conn: number): boolean {
    const member = this.members.get(conn);
    if (member === undefined || member.lineBudget.take(this.o.clock.now())) return true;
    this.counters.reportsLimited++;
    return false;
  }

  /** A registered node's line: a report MAC'd for this connection with a new sequence number, or refused. */
  private takeReport(member: Member, decoded: Decoded<BootstrapMessage>): void {
    const msg = decoded.ok ? decoded.value : null;
    if (msg === null || msg.type !== 'report') {
      this.counters.malformed++;
      return;
    }
    if (!member.reportBudget.take(this.o.clock.now())) {
      this.counters.reportsLimited++;
      return;
    }
    const s = member.session;
    if (msg.seq <= member.lastReport || !macEquals(reportMac(member.key, s, msg.seq, msg.body), msg.mac)) {
      this.counters.badReports++;
      return;
    }
    const report = decodeTelemetryReport(msg.body);
    if (!report.ok) {
      this.counters.badReports++;
      return;
    }
    member.lastReport = msg.seq;
    this.counters.reports++;
    this.o.out.report?.(s.name, report.value);
  }

  /** The reference clock now, sealed (no one on the path may shift a server's timeline); its id and t0 echoed. */
  private answerTime(conn: number, member: Member, ask: { readonly id: number; readonly t0: number }): void {
    if (!member.timeBudget.take(this.o.clock.now())) {
      this.counters.timeLimited++;
      return;
    }
    this.counters.timeAnswered++;
    this.seal(conn, member, { type: 'time', id: ask.id, t0: ask.t0, at: this.referenceNow() });
  }

  private seal(conn: number, member: Member, msg: BootstrapMessage): void {
    const body = JSON.stringify(msg);
    const seq = member.nextSeq++;
    this.o.out.send(conn, { type: 'sealed', seq, body, mac: sealMac(member.key, member.session, seq, body) });
  }

  private deliver(notices: readonly Notice[]): void {
    for (const { to, msg } of notices) {
      const conn = this.o.directory.connectionOf(to);
      if (conn === LOCAL_CONN) {
        this.o.out.local(msg);
        continue;
      }
      const member = conn === undefined ? undefined : this.members.get(conn);
      if (conn !== undefined && member !== undefined) this.seal(conn, member, msg);
    }
  }

  private refuse(p: Pending, reason: string, detail: string): void {
    p.state = 'done';
    this.o.out.end(p.conn, { type: 'error', reason, detail });
  }

  private timeout(conn: number): void {
    const p = this.pending.get(conn);
    if (p === undefined) return;
    this.counters.timedOut++;
    this.drop(p);
    this.o.out.destroy(conn);
  }

  /**
   * Who makes room at the total cap: a connection of the address holding the most, preferring one
   * that has said nothing, and never one from a topology node's address while a stranger holds
   * any. So a flood from many addresses evicts its own connections, not a registration or a login
   * still receiving its welcome (only the scan at the cap pays for this).
   */
  private victim(): number | undefined {
    let worst: Set<number> | undefined;
    for (const [address, conns] of this.pendingByAddress) {
      if (this.o.directory.nodeAt(address) !== undefined) continue;
      if (worst === undefined || conns.size > worst.size) worst = conns;
    }
    const from = worst ?? this.pending.keys();
    let first: number | undefined;
    for (const conn of from) {
      first ??= conn;
      if (this.pending.get(conn)?.state === 'new') return conn;
    }
    return first;
  }

  private evict(conn: number | undefined): void {
    const p = conn === undefined ? undefined : this.pending.get(conn);
    if (p === undefined) return;
    this.counters.evicted++;
    this.drop(p);
    this.o.out.destroy(p.conn);
  }

  private drop(p: Pending): void {
    p.timer.cancel();
    this.pending.delete(p.conn);
    const set = this.pendingByAddress.get(p.address);
    set?.delete(p.conn);
    if (set !== undefined && set.size === 0) this.pendingByAddress.delete(p.address);
    this.counters.pending = this.pending.size;
  }

  private warn(text: string): void {
    const now = this.o.clock.now();
    if (now - this.lastRefusalLog < REFUSAL_LOG_INTERVAL_MS) {
      this.suppressedRefusals++;
      return;
    }
    const more = this.suppressedRefusals > 0 ? ` (and ${this.suppressedRefusals} more refusals not logged)` : '';
    this.lastRefusalLog = now;
    this.suppressedRefusals = 0;
    this.o.log.warn(text + more);
  }
}

function oldest(keys: Iterable<number>): number | undefined {
  for (const k of keys) return k;
  return undefined;
}
