/**
 * The bootstrapper's TCP adapter: listens on the bootstrapper's addresses, feeds registrations,
 * logins and closed connections to the Directory and writes out its replies and notices.
 * A misbehaving peer (oversize or malformed lines) gets an error line and is disconnected.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { decodeBootstrap, encodeBootstrap, LineSplitter, type BootstrapMessage } from '../../common/wire/bootstrap.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { listenOn } from '../../common/net/listen.ts';
import type { Logger } from '../../common/net/logger.ts';
import type { Directory, Notice } from '../core/directory.ts';

export interface BootstrapCounters {
  registrations: number;
  logins: number;
  malformed: number;
  refused: number;
}

export class BootstrapServer {
  readonly counters: BootstrapCounters = { registrations: 0, logins: 0, malformed: 0, refused: 0 };
  private readonly servers: Server[] = [];
  private readonly sockets = new Map<number, Socket>();
  private readonly byName = new Map<string, number>();
  private nextConn = 1;
  /** Notices for the bootstrapper's own node, which is in this process. */
  onLocalNotice: (msg: BootstrapMessage) => void = () => {};

  constructor(
    private readonly directory: Directory,
    private readonly addresses: readonly string[],
    private readonly port: number,
    private readonly catalogue: () => readonly MovieInfo[],
    private readonly log: Logger,
  ) {}

  /** Registers the bootstrapper's own node (it has no TCP connection). */
  registerSelf(address: string): void {
    const outcome = this.directory.register(0, address);
    if (outcome.ok) {
      this.byName.set(outcome.name, 0);
      this.deliver(outcome.notices);
    }
  }

  async start(): Promise<void> {
    for (const address of this.addresses) {
      const server = createServer((socket) => this.accept(socket));
      await listenOn(server, this.port, address, 'the bootstrapper');
      server.on('error', (err) => this.log.warn(`bootstrapper ${address}: ${err.message}`));
      this.servers.push(server);
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets.values()) s.destroy();
    this.sockets.clear();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.length = 0;
  }

  private accept(socket: Socket): void {
    const conn = this.nextConn++;
    this.sockets.set(conn, socket);
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    const lines = new LineSplitter();
    socket.on('data', (chunk: string) => {
      const got = lines.push(chunk);
      if (got === null) return this.reject(socket, 'oversize', 'line too long');
      for (const line of got) this.handle(conn, socket, line);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(conn);
      for (const [name, c] of this.byName) {
        if (c === conn) {
          this.byName.delete(name);
          this.log.info(`${name} is gone`);
        }
      }
      this.deliver(this.directory.lost(conn));
    });
  }

  private handle(conn: number, socket: Socket, line: string): void {
    const decoded = decodeBootstrap(line);
    if (!decoded.ok) return this.reject(socket, decoded.reason, 'expected one JSON bootstrap message per line');
    const msg = decoded.value;
    switch (msg.type) {
      case 'register': {
        const outcome = this.directory.register(conn, socket.remoteAddress ?? '');
        socket.write(encodeBootstrap(outcome.reply));
        if (!outcome.ok) {
          this.counters.refused++;
          this.log.warn(`refused registration from ${socket.remoteAddress}: not in the topology`);
          socket.end();
          return;
        }
        this.counters.registrations++;
        const previous = this.byName.get(outcome.name);
        this.byName.set(outcome.name, conn);
        if (previous !== undefined && previous !== conn) this.sockets.get(previous)?.destroy();
        this.log.info(`${outcome.name} registered from ${socket.remoteAddress} (pid ${msg.pid})`);
        this.deliver(outcome.notices);
        return;
      }
      case 'login':
        this.counters.logins++;
        socket.write(encodeBootstrap(this.directory.welcome(this.catalogue())));
        return;
      default:
        this.reject(socket, 'unsupported', `a ${msg.type} message is not for the bootstrapper`);
    }
  }

  private reject(socket: Socket, reason: string, detail: string): void {
    this.counters.malformed++;
    socket.end(encodeBootstrap({ type: 'error', reason, detail }));
  }

  private deliver(notices: readonly Notice[]): void {
    for (const { to, msg } of notices) {
      const conn = this.byName.get(to);
      if (conn === 0) this.onLocalNotice(msg);
      else if (conn !== undefined) this.sockets.get(conn)?.write(encodeBootstrap(msg));
    }
  }
}
