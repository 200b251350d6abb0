/**
 * A TCP connection to the bootstrapper carrying line-delimited bootstrap messages. Used by
 * nodes (register, then stay connected: the bootstrapper notices a node's death by the closed
 * connection) and by clients (login, then hang up).
 */
import { connect, type Socket } from 'node:net';
import { decodeBootstrap, encodeBootstrap, LineSplitter, type BootstrapMessage } from '../wire/bootstrap.ts';

export class BootstrapUnreachable extends Error {
  override readonly name = 'BootstrapUnreachable';
}

export interface BootstrapTarget {
  readonly host: string;
  readonly port: number;
  /** Source address to connect from: the bootstrapper recognises nodes by it. */
  readonly localAddress?: string;
}

export class BootstrapConnection {
  private closed = false;
  onMessage: (msg: BootstrapMessage) => void = () => {};
  onClose: () => void = () => {};
  malformed = 0;

  private constructor(private readonly socket: Socket) {
    const lines = new LineSplitter();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const got = lines.push(chunk);
      if (got === null) return socket.destroy();
      for (const line of got) {
        const d = decodeBootstrap(line);
        if (d.ok) this.onMessage(d.value);
        else this.malformed++;
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      this.onClose();
    });
  }

  static open(target: BootstrapTarget, timeoutMs = 3000): Promise<BootstrapConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: target.host, port: target.port, ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new BootstrapUnreachable(`no answer from the bootstrapper at ${target.host}:${target.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why = err.code === 'ECONNREFUSED' ? 'connection refused (is the bootstrapper running?)'
          : err.code === 'EADDRNOTAVAIL' ? `this host has no address ${target.localAddress ?? ''}` : err.message;
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
    if (!this.closed) this.socket.write(encodeBootstrap(msg));
  }

  /** Resolves with the first message, or rejects after timeoutMs or on close. */
  next(timeoutMs: number): Promise<BootstrapMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new BootstrapUnreachable(`the bootstrapper did not answer within ${timeoutMs} ms`)), timeoutMs);
      this.onMessage = (msg) => {
        clearTimeout(timer);
        this.onMessage = () => {};
        resolve(msg);
      };
      this.onClose = () => {
        clearTimeout(timer);
        reject(new BootstrapUnreachable('the bootstrapper closed the connection'));
      };
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
