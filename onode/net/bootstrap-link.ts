/**
 * A node's registration with one bootstrapper, kept up: connect, register → challenge → prove →
 * sealed `registered`, then read its sealed notices until the connection closes, and register
 * again in the background (streams never wait for a bootstrapper). A node with several
 * bootstrappers keeps one link to each.
 */
import { BootstrapConnection, BootstrapUnreachable } from '../../common/net/bootstrap-connection.ts';
import type { Logger } from '../../common/net/logger.ts';
import {
  type BootstrapMessage,
  encodeBootstrap,
  type RegisteredMessage,
  type SealedMessage,
} from '../../common/wire/bootstrap.ts';
import { WRONG_SECRET } from '../core/bootstrap-desk.ts';
import { Registrant } from '../core/registrant.ts';

/** How long each step of the registration handshake may take. */
const REGISTER_STEP_TIMEOUT_MS = 5000;
/** Retry wait before the first registration (at start, so start order does not matter)... */
export const START_RETRY_MS = 300;
/**
 * ...doubling after each failure up to this: hundreds of nodes started at once, each retrying every
 * 300 ms, cost a 2-core host a large share of its CPU while the bootstrapper itself is starting.
 */
export const START_RETRY_MAX_MS = 2000;
/** Retry wait after losing a registration: first, then every later try. */
export const LOST_RETRY_FIRST_MS = 500;
export const LOST_RETRY_MS = 1000;
/**
 * Every retry wait is spread by up to this fraction either way, so nodes started (or lost) together
 * do not retry in step.
 */
export const RETRY_JITTER = 0.25;

/** The wait before retry number `failures` (1 after the first failure) at start, jittered by `random` in [0, 1). */
export function startRetryMs(failures: number, random: () => number = Math.random): number {
  return jittered(Math.min(START_RETRY_MAX_MS, START_RETRY_MS * 2 ** Math.max(0, failures - 1)), random);
}

/** `ms` spread by up to RETRY_JITTER either way. */
export function jittered(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (1 + RETRY_JITTER * (2 * random() - 1)));
}

/** A start-up problem the user must fix (wrong role, unknown address...): message, no stack. */
export class NodeStartError extends Error {
  override readonly name = 'NodeStartError';
}

export interface BootstrapLinkOptions {
  readonly host: string;
  readonly port: number;
  /** Source address to connect from: the bootstrapper recognises nodes by it. */
  readonly localAddress?: string;
  readonly secret: Buffer;
  /** A server's stream-signing public key (base64 of the raw 32 bytes). */
  readonly signingKey?: string;
  readonly log: Logger;
  /** Sealed bootstrapper messages that failed their check (dropped); shared by a node's links. */
  readonly counters: { badSeal: number };
}

export interface BootstrapLinkHandlers {
  /** Each (re-)registration. */
  registered(info: RegisteredMessage): void;
  /** A sealed notice after `registered`. */
  notice(msg: SealedMessage): void;
  /** The registration's connection closed (a retry is scheduled). */
  lost(): void;
  /** An attempt failed (a retry is scheduled unless stopped). */
  failed(err: unknown): void;
}

export class BootstrapLink {
  private connection: BootstrapConnection | null = null;
  /** The connection of a registration in progress (not yet `connection`). */
  private registering: BootstrapConnection | null = null;
  private registrant: Registrant | null = null;
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private stopped = false;
  private everRegistered = false;
  /** Attempts failed in a row before the first registration (the start's backoff). */
  private startFailures = 0;
  /** Set once the node runs: a bootstrapper that never answered is retried like a lost one. */
  private patient = false;

  constructor(
    private readonly opts: BootstrapLinkOptions,
    private readonly on: BootstrapLinkHandlers,
  ) {}

  get target(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  /** True while registered on an open connection. */
  get up(): boolean {
    return this.connection !== null;
  }

  /** Starts registering (retrying until stop()); once: later calls do nothing. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.attempt();
  }

  /** No more retries, no more notices. Safe to call again. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.registering?.close();
    this.connection?.close();
    this.connection = null;
  }

  /** The node has started: from now on, retry a bootstrapper that never answered less often. */
  settle(): void {
    this.patient = true;
  }

  /** Sends a plain message (a time request) on this registration; false when not registered. */
  send(msg: BootstrapMessage): boolean {
    if (this.connection === null) return false;
    this.connection.send(msg);
    return true;
  }

  /** Sends a telemetry report on this registration; the bytes of the line, 0 when not registered. */
  report(body: string): number {
    const conn = this.connection;
    const m = this.registrant?.report(body) ?? null;
    if (conn === null || m === null) return 0;
    conn.send(m);
    return Buffer.byteLength(encodeBootstrap(m));
  }

  private attempt(): void {
    this.timer = null;
    if (this.stopped) return;
    this.registerOnce().then(
      (info) => {
        if (this.stopped) return this.connection?.close();
        this.everRegistered = true;
        this.on.registered(info);
      },
      (err: unknown) => {
        if (this.stopped) return;
        this.on.failed(err);
        const later = this.everRegistered || this.patient;
        this.retry(later ? jittered(LOST_RETRY_MS) : startRetryMs(++this.startFailures));
      },
    );
  }

  private retry(ms: number): void {
    if (!this.stopped && this.timer === null) this.timer = setTimeout(() => this.attempt(), ms);
  }

  /**
   * One registration: register → challenge → prove → sealed `registered`. A refusal or a proof
   * that fails is a NodeStartError (retrying cannot help); a lost connection is BootstrapUnreachable.
   */
  private async registerOnce(): Promise<RegisteredMessage> {
    const { host, port, localAddress } = this.opts;
    const conn = await BootstrapConnection.open({ host, port, ...(localAddress ? { localAddress } : {}) });
    // stop() closes it mid-handshake, rather than wait out the step timeouts.
    this.registering = conn;
    try {
      if (this.stopped) throw new BootstrapUnreachable('stopped');
      return await this.handshake(conn, new Registrant(this.opts.secret, process.pid, this.opts.signingKey));
    } catch (err) {
      conn.close();
      throw err;
    } finally {
      this.registering = null;
    }
  }

  private async handshake(conn: BootstrapConnection, me: Registrant): Promise<RegisteredMessage> {
    conn.send(me.register());
    const challenge = await conn.next(REGISTER_STEP_TIMEOUT_MS);
    if (challenge.type === 'error') throw new NodeStartError(`the bootstrapper refused this node: ${challenge.detail}`);
    if (challenge.type !== 'challenge') {
      throw new BootstrapUnreachable(`unexpected ${challenge.type} from the bootstrapper`);
    }
    conn.send(me.prove(challenge));
    const answer = await conn.next(REGISTER_STEP_TIMEOUT_MS);
    if (answer.type === 'error') {
      const why = answer.reason === 'bad-proof' ? WRONG_SECRET : answer.detail;
      throw new NodeStartError(`the bootstrapper refused ${challenge.name}: ${why}`);
    }
    if (answer.type !== 'sealed') throw new BootstrapUnreachable(`unexpected ${answer.type} from the bootstrapper`);
    const opened = me.open(answer);
    if (!opened.ok || opened.value.type !== 'registered' || opened.value.name !== challenge.name) {
      throw new NodeStartError(
        `the bootstrapper's answer to ${challenge.name} failed its proof: the bootstrapper ` +
          'has another overlay secret, or is not the real bootstrapper (is --secret the same on every node?)',
      );
    }
    this.connection = conn;
    this.registrant = me;
    conn.listen(
      (m) => this.onSealed(conn, me, m),
      () => this.lost(conn),
    );
    return opened.value;
  }

  /** Every message after `registered` must be sealed for this connection; anything else is dropped. */
  private onSealed(conn: BootstrapConnection, me: Registrant, msg: BootstrapMessage): void {
    if (this.connection !== conn) return;
    const opened = msg.type === 'sealed' ? me.open(msg) : null;
    if (opened !== null && !opened.ok && opened.reason === 'gap') {
      // A notice is missing (a neighbour's death, a server's key): register again for the whole state.
      this.opts.counters.badSeal++;
      this.opts.log.warn(`a notice from the bootstrapper ${this.target} went missing; registering again`);
      conn.close();
      return this.lost(conn);
    }
    if (opened === null || !opened.ok) {
      this.opts.counters.badSeal++;
      const why = opened === null ? 'not sealed' : opened.reason;
      this.opts.log.debug(`dropped a ${msg.type} from the bootstrapper: ${why}`);
      return;
    }
    this.on.notice(opened.value);
  }

  private lost(conn: BootstrapConnection): void {
    if (this.connection !== conn) return;
    this.connection = null;
    this.registrant = null;
    if (this.stopped) return;
    this.on.lost();
    this.retry(jittered(LOST_RETRY_FIRST_MS));
  }
}
