/**
 * The bootstrapper's TCP adapter: listens on the bootstrapper's addresses, splits each
 * connection's bytes into lines (at most MAX_LINE_TO_BOOTSTRAPPER each), decodes them and hands
 * them to the BootstrapDesk, and carries out what it asks (send, end, destroy). Caps, timeouts and
 * the registration proof are the desk's.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { epochClock, SystemClock, type Clock } from '../../common/core/clock.ts';
import { Service, type StartContext } from '../../common/core/lifecycle.ts';
import { TypedEmitter } from '../../common/core/typed-emitter.ts';
import { listenOn } from '../../common/net/listen.ts';
import type { Logger } from '../../common/net/logger.ts';
import {
  decodeBootstrap,
  encodeBootstrap,
  LineSplitter,
  MAX_LINE_FROM_BOOTSTRAPPER,
  MAX_LINE_TO_BOOTSTRAPPER,
  MAX_REPORT_LINE,
  type BootstrapMessage,
  type RegisteredMessage,
} from '../../common/wire/bootstrap.ts';
import type { TelemetryReport } from '../../common/wire/dashboard-api.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { BootstrapDesk, type DeskCounters } from '../core/bootstrap-desk.ts';
import type { Directory } from '../core/directory.ts';

export type BootstrapCounters = DeskCounters;

/** This host's reference clock by default: ms since 1970, never stepping. */
const HOST_CLOCK = epochClock();

export interface BootstrapServerOptions {
  readonly directory: Directory;
  readonly secret: Buffer;
  readonly addresses: readonly string[];
  readonly port: number;
  readonly catalogue: () => readonly MovieInfo[];
  readonly log: Logger;
  readonly clock?: Clock;
  /**
   * The reference clock servers synchronise to (the `time` answer), ms since 1970; default this
   * host's, monotonic (epochClock). A standby bootstrapper answers with its estimate of the primary's.
   */
  readonly referenceNow?: () => number;
  /** A registered node's verified telemetry report (the dashboard). */
  readonly report?: (name: string, report: TelemetryReport) => void;
  /** A node registered, or went away. */
  readonly membership?: (name: string, change: 'registered' | 'gone') => void;
}

export interface BootstrapServerEvents {
  'local-notice': [msg: BootstrapMessage];
}

export class BootstrapServer extends Service {
  private readonly sockets = new Map<number, Socket>();
  /** Connections the desk has answered for the last time: their input is no longer read. */
  private readonly ended = new Set<number>();
  /** Encoded welcomes, by message: the same bytes go to every login while the desk caches one. */
  private readonly encoded = new WeakMap<object, Buffer>();
  private readonly desk: BootstrapDesk;
  private nextConn = 1;
  /** `local-notice`: notices for the bootstrapper's own node, which is in this process. */
  readonly events: TypedEmitter<BootstrapServerEvents>;

  constructor(private readonly opts: BootstrapServerOptions) {
    super();
    this.events = new TypedEmitter((err) => opts.log.error(`handling a local notice: ${(err as Error).stack ?? err}`));
    this.desk = new BootstrapDesk({
      directory: opts.directory,
      secret: opts.secret,
      clock: opts.clock ?? new SystemClock(),
      catalogue: opts.catalogue,
      log: opts.log,
      referenceNow: opts.referenceNow ?? (() => HOST_CLOCK.now()),
      out: {
        send: (conn, msg) => this.sockets.get(conn)?.write(this.encode(msg)),
        end: (conn, msg) => {
          this.ended.add(conn);
          this.sockets.get(conn)?.end(this.encode(msg));
        },
        destroy: (conn) => this.sockets.get(conn)?.destroy(),
        local: (msg) => this.events.emit('local-notice', msg),
        report: (name, report) => opts.report?.(name, report),
        membership: (name, change) => opts.membership?.(name, change),
      },
    });
  }

  get counters(): BootstrapCounters {
    return this.desk.counters;
  }

  /** Registers the bootstrapper's own node (it has no TCP connection). */
  registerSelf(name: string, signingKey?: string): RegisteredMessage | undefined {
    return this.desk.registerSelf(name, signingKey);
  }

  protected async open(ctx: StartContext): Promise<void> {
    ctx.defer(() => this.desk.stop());
    for (const address of this.opts.addresses) {
      const server = createServer((socket) => this.accept(socket));
      await listenOn(server, this.opts.port, address, 'the bootstrapper');
      server.on('error', (err) => this.opts.log.warn(`bootstrapper ${address}: ${err.message}`));
      ctx.defer(() => this.closeListener(server));
    }
  }

  /** Closes a listener; its open connections first, since close() waits for them. */
  private closeListener(server: Server): Promise<void> {
    for (const s of this.sockets.values()) s.destroy();
    this.sockets.clear();
    return new Promise<void>((r) => server.close(() => r()));
  }

  private accept(socket: Socket): void {
    const conn = this.nextConn++;
    this.sockets.set(conn, socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(conn);
      this.ended.delete(conn);
      this.desk.closed(conn);
    });
    const lines = new LineSplitter(MAX_LINE_TO_BOOTSTRAPPER);
    socket.on('data', (chunk: Buffer) => {
      if (this.ended.has(conn)) return;
      // A registered node's telemetry reports are longer than anything a stranger may send.
      const limit = this.desk.isMember(conn) ? MAX_REPORT_LINE : MAX_LINE_TO_BOOTSTRAPPER;
      lines.maxBytes = limit;
      const got = lines.push(chunk);
      if (got === null) return this.desk.oversize(conn);
      for (const line of got) {
        if (this.ended.has(conn) || socket.destroyed) return;
        if (this.desk.admits(conn)) this.desk.receive(conn, decodeBootstrap(line, limit));
      }
    });
    // Last: the desk may close an older connection (or, at worst, this one) to make room.
    this.desk.accept(conn, socket.remoteAddress ?? '');
  }

  private encode(msg: BootstrapMessage): Buffer {
    if (msg.type !== 'welcome') return Buffer.from(encodeBootstrap(msg));
    let bytes = this.encoded.get(msg);
    if (bytes === undefined) {
      bytes = Buffer.from(encodeBootstrap(msg));
      this.encoded.set(msg, bytes);
      if (bytes.length > MAX_LINE_FROM_BOOTSTRAPPER) {
        this.opts.log.error(
          `the welcome is ${bytes.length} bytes, over the ${MAX_LINE_FROM_BOOTSTRAPPER} clients accept: ` +
            `logins will fail (${msg.catalogue.length} movies)`,
        );
      }
    }
    return bytes;
  }
}
