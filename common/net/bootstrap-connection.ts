/**
 * A TCP connection to the bootstrapper carrying line-delimited bootstrap messages. Used by
 * nodes (register, then stay connected: the bootstrapper notices a node's death by the closed
 * connection) and by clients (login, then hang up). Messages that arrive before anyone asks for
 * them are queued (a notice right behind `registered` must not be lost).
 */
import { connect, type Socket } from 'node:net';
import {
  decodeBootstrap,
  encodeBootstrap,
  LineSplitter,
  MAX_LINE_FROM_BOOTSTRAPPER,
  type BootstrapMessage,
} from '../wire/bootstrap.ts';

/** Messages waiting for a reader; a bootstrapper that sends more is not behaving. */
export const MAX_QUEUED_MESSAGES = 1024;

export class BootstrapUnreachable extends Error {
  override readonly name = 'BootstrapUnreachable';
}

export interface BootstrapTarget {
  readonly host: string;
  readonly port: number;
  /** Source address to connect from: the bootstrapper recognises nodes by it. */
  readonly localAddress?: string;
}

type Waiter = { readonly resolve: (msg: BootstrapMessage) => void; readonly reject: (err: Error) => void };

export class BootstrapConnection {
  private closed = false;
  private peerClosed = false;
  private readonly queue: BootstrapMessage[] = [];
  private waiter: Waiter | null = null;
  private handler: ((msg: BootstrapMessage) => void) | null = null;
  private closeHandler: () => void = () => {};
  /** Lines that were not valid bootstrap messages. */
  malformed = 0;

  private constructor(private readonly socket: Socket) {
    const lines = new LineSplitter(MAX_LINE_FROM_BOOTSTRAPPER);
    socket.on('data', (chunk: Buffer) => {
      const got = lines.push(chunk);
      if (got === null) return void socket.destroy();
      for (const line of got) {
        if (this.closed || this.peerClosed) return;
        const d = decodeBootstrap(line);
        if (d.ok) this.deliver(d.value);
        else this.malformed++;
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.closed || this.peerClosed) return;
      this.peerClosed = true;
      this.waiter?.reject(new BootstrapUnreachable('the bootstrapper closed the connection'));
      this.waiter = null;
      if (this.handler !== null) this.closeHandler();
    });
  }

  static open(target: BootstrapTarget, timeoutMs = 3000): Promise<BootstrapConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: target.host,
        port: target.port,
        ...(target.localAddress ? { localAddress: target.localAddress } : {}),
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new BootstrapUnreachable(
            `no answer from the bootstrapper at ${target.host}:${target.port} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why =
          err.code === 'ECONNREFUSED'
            ? 'connection refused (is the bootstrapper running?)'
            : err.code === 'EADDRNOTAVAIL'
              ? `this host has no address ${target.localAddress ?? ''}`
              : err.message;
        reject(new BootstrapUnreachable(`cannot reach the bootstrapper at ${target.host}:${target.port}: ${why}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new BootstrapConnection(socket));
      });
    });
  }

  send(msg: BootstrapMessage): void {
    if (!this.closed && !this.peerClosed) this.socket.write(encodeBootstrap(msg));
  }

  /** Resolves with the next message (queued or to come), or rejects after timeoutMs or on close. */
  next(timeoutMs: number): Promise<BootstrapMessage> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed || this.peerClosed) {
      return Promise.reject(new BootstrapUnreachable('the bootstrapper closed the connection'));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new BootstrapUnreachable(`the bootstrapper did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (msg) => {
          clearTimeout(timer);
          resolve(msg);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  /** From now on every message goes to onMessage (queued ones first); onClose when the peer hangs up. */
  listen(onMessage: (msg: BootstrapMessage) => void, onClose: () => void): void {
    this.handler = onMessage;
    this.closeHandler = onClose;
    for (let m = this.queue.shift(); m !== undefined; m = this.queue.shift()) onMessage(m);
    if (this.peerClosed) queueMicrotask(onClose);
  }

  close(): void {
    this.closed = true;
    this.waiter?.reject(new BootstrapUnreachable('connection closed'));
    this.waiter = null;
    this.socket.destroy();
  }

  private deliver(msg: BootstrapMessage): void {
    if (this.handler !== null) return this.handler(msg);
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      return w.resolve(msg);
    }
    if (this.queue.length >= MAX_QUEUED_MESSAGES) return void this.socket.destroy();
    this.queue.push(msg);
  }
}
