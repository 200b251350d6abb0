/** A small RTSP 1.0 client connection: one request at a time, matched to its answer by CSeq. */
import { connect, type Socket } from 'node:net';
import {
  encodeInterleaved,
  encodeRequest,
  header,
  RtspStreamDecoder,
  type RtspResponse,
} from '../../common/wire/rtsp.ts';
import { TypedEmitter } from '../../common/core/typed-emitter.ts';

export class RtspClientError extends Error {
  override readonly name = 'RtspClientError';
}

export interface RtspClientEvents {
  /** RTP/RTCP arriving interleaved on the connection (TCP transport). */
  interleaved: [channel: number, payload: Buffer];
  /** The connection ended (after any pending requests were failed). */
  close: [];
}

export class RtspClient {
  private cseq = 0;
  private readonly waiting = new Map<number, { resolve: (r: RtspResponse) => void; reject: (e: Error) => void }>();
  private closed = false;
  session: string | null = null;
  /** A listener that throws is counted (events.listenerErrors); the connection reads on. */
  readonly events = new TypedEmitter<RtspClientEvents>();

  private constructor(private readonly socket: Socket) {
    const decoder = new RtspStreamDecoder();
    socket.on('data', (chunk: Buffer) => {
      const { messages, error } = decoder.push(chunk);
      for (const m of messages) {
        if (m.type === 'interleaved') this.events.emit('interleaved', m.channel, m.payload);
        else if (m.type === 'response') {
          const seq = Number(header(m, 'cseq'));
          const w = this.waiting.get(seq);
          this.waiting.delete(seq);
          w?.resolve(m);
        }
      }
      if (error !== undefined) this.fail(new RtspClientError(`the POP sent an unreadable RTSP message (${error})`));
    });
    socket.on('error', (err) => this.fail(new RtspClientError(`RTSP connection failed: ${err.message}`)));
    socket.on('close', () => {
      this.fail(new RtspClientError('the POP closed the RTSP connection'));
      this.events.emit('close');
    });
  }

  static open(host: string, port: number, localAddress?: string, timeoutMs = 3000): Promise<RtspClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RtspClientError(`no RTSP answer from ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new RtspClientError(`cannot connect to the POP's RTSP at ${host}:${port}: ${err.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new RtspClient(socket));
      });
    });
  }

  get localAddress(): string {
    return (this.socket.localAddress ?? '').replace(/^::ffff:/, '');
  }

  request(
    method: string,
    uri: string,
    headers: Record<string, string | number> = {},
    timeoutMs = 5000,
    body?: Buffer,
  ): Promise<RtspResponse> {
    if (this.closed) return Promise.reject(new RtspClientError('the RTSP connection is closed'));
    const cseq = ++this.cseq;
    const all: Record<string, string | number> = { CSeq: cseq, 'User-Agent': 'oclient', ...headers };
    if (this.session !== null && all.Session === undefined) all.Session = this.session;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(cseq);
        reject(new RtspClientError(`${method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(cseq, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.write(encodeRequest({ method, uri, headers: all, ...(body ? { body } : {}) }));
    });
  }

  /** RTCP to the server over the RTSP connection (TCP transport). */
  sendInterleaved(channel: number, payload: Buffer): void {
    if (!this.closed) this.socket.write(encodeInterleaved(channel, payload));
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** Gives up on the POP: every pending request fails with `why`, and the connection is closed. */
  abort(why: string): void {
    this.fail(new RtspClientError(why));
    this.socket.destroy();
  }

  private fail(err: Error): void {
    this.closed = true;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
