/**
 * The POP's RTSP adapter: a TCP listener per client-facing address, a streaming decoder per
 * connection, and a UDP socket pair per address to send RTP and RTCP from. Requests go to
 * RtspSessions; its replies and RTP come back out here. RtspConnections admits connections
 * (caps per address and in total) and picks idle ones to close; a refused connection is reset
 * at once, so it does not hold a file descriptor. Nothing a client sends throws out of a handler.
 */
import { randomBytes } from 'node:crypto';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Clock } from '../../common/core/clock.ts';
import { Service, type StartContext } from '../../common/core/lifecycle.ts';
import { listenOn } from '../../common/net/listen.ts';
import { bindRtpPortPair } from '../../common/net/rtp-port-pair.ts';
import type { Logger } from '../../common/net/logger.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { decodeRtcp } from '../../common/wire/rtcp.ts';
import { encodeInterleavedHeader, encodeResponse, RtspStreamDecoder } from '../../common/wire/rtsp.ts';
import {
  type ConnectionCounters,
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  RtspConnections,
} from '../core/rtsp-connections.ts';
import { SEND_QUEUE_LIMIT_BYTES } from '../core/rtsp-send-gate.ts';
import {
  type RtcpSource,
  type RtspCounters,
  type RtspPeer,
  type RtspReply,
  RtspSessions,
  type SendCallback,
  type SendTarget,
} from '../core/rtsp-sessions.ts';
import type { LocalReceiver } from '../core/stream-tree.ts';
import type { ViewerSink, ViewerTableCounters } from '../core/viewer-table.ts';

/**
 * A connection with this much unsent is cut when it asks for more: a client that pipelines
 * requests without reading the replies. A connection that carries interleaved RTP may have its
 * whole RTP queue unsent on top (SEND_QUEUE_LIMIT_BYTES), so a TCP viewer whose frames are being
 * dropped still gets its keep-alive answers; any other connection holds at most this.
 */
export const MAX_REPLY_BACKLOG_BYTES = 64 * 1024;

/** 64 random bits as 16 hex digits: a session id nobody can guess. */
export function randomSessionId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

export interface RtspServerDeps {
  readonly clock: Clock;
  catalogue(): readonly MovieInfo[];
  join(movie: string, id: string, receiver: LocalReceiver): void;
  leave(movie: string, id: string): void;
  repair(movie: string, ssrc: number, seqs: readonly number[]): Buffer[];
  latestFrame(movie: string, startsAt?: (rtp: Buffer) => boolean): Buffer[];
  /** The POP's viewer statistics (GET /viewers), fed by the sessions; its counters go in report(). */
  readonly viewers?: ViewerSink & { readonly counters: ViewerTableCounters };
}

export interface RtspServerOptions {
  /** Connection caps and idle timeout; each defaults to DEFAULT_CONNECTION_LIMITS'. */
  readonly connections?: Partial<ConnectionLimits>;
}

export interface RtspAdapterCounters {
  /** Connections cut for not reading their replies. */
  replyBacklogClosed: number;
  /** Replies that could not be encoded (answered 500 instead). */
  encodeErrors: number;
  /** Exceptions caught in a socket handler. */
  handlerErrors: number;
  /** Errors from the listening sockets (e.g. EMFILE on accept). */
  acceptErrors: number;
}

export type RtspReport = RtspCounters & {
  connections: ConnectionCounters & RtspAdapterCounters & { open: number };
  /** Viewer reports and receiver reports taken and refused (GET /viewers). */
  viewers?: ViewerTableCounters;
};

export class RtspServer extends Service {
  readonly sessions: RtspSessions;
  readonly connections: RtspConnections;
  readonly counters: RtspAdapterCounters = {
    replyBacklogClosed: 0,
    encodeErrors: 0,
    handlerErrors: 0,
    acceptErrors: 0,
  };
  private readonly sockets = new Map<number, Socket>();
  private readonly udp = new Map<string, { rtp: UdpSocket; rtcp: UdpSocket }>();
  private nextId = 1;
  private readonly viewerCounters: ViewerTableCounters | null;

  constructor(
    private readonly addresses: readonly string[],
    private readonly port: number,
    deps: RtspServerDeps,
    private readonly log: Logger,
    options: RtspServerOptions = {},
  ) {
    super();
    this.viewerCounters = deps.viewers?.counters ?? null;
    this.sessions = new RtspSessions({
      clock: deps.clock,
      catalogue: () => deps.catalogue(),
      join: (m, id, r) => deps.join(m, id, r),
      leave: (m, id) => deps.leave(m, id),
      sendRtp: (target, rtp, sent) => this.sendRtp(target, rtp, sent),
      sendRtcp: (target, rtcp, sent) => this.sendRtcp(target, rtcp, sent),
      queuedBytes: (peer) => this.sockets.get(peer.id)?.writableLength ?? 0,
      closeConnection: (peer) => {
        this.log.warn(`RTSP client ${peer.remoteAddress} stopped reading its stream; closing its connection`);
        this.sockets.get(peer.id)?.destroy();
      },
      repair: (m, ssrc, seqs) => deps.repair(m, ssrc, seqs),
      latestFrame: (m, startsAt) => deps.latestFrame(m, startsAt),
      wallClockMs: () => Date.now(),
      serverPorts: (address) => {
        const pair = this.pairFor(address);
        return pair === undefined ? [0, 0] : [pair.rtp.address().port, pair.rtcp.address().port];
      },
      randomId: randomSessionId,
      ...(deps.viewers === undefined ? {} : { viewers: deps.viewers }),
    });
    this.connections = new RtspConnections(
      {
        clock: deps.clock,
        hasSessions: (id) => this.sessions.hasSessions(id),
        close: (id) => this.sockets.get(id)?.destroy(),
      },
      { ...DEFAULT_CONNECTION_LIMITS, ...options.connections },
    );
  }

  /** Opens the UDP pair and the listener of each address, then the timers; stop() undoes it last-first. */
  protected async open(ctx: StartContext): Promise<void> {
    for (const address of this.addresses) {
      // RTCP on the port after RTP's (RFC 3550 §11): ffmpeg sends its receiver reports to
      // server_port's RTP port + 1, whatever the second number says.
      const { rtp, rtcp } = await bindRtpPortPair(address);
      ctx.defer(() => {
        rtp.close();
      });
      ctx.defer(() => {
        rtcp.close();
      });
      // Clients send RTCP (receiver reports, NACKs) to either port of the pair.
      for (const sock of [rtp, rtcp]) {
        sock.on('message', (buf, rinfo) => this.onRtcp(buf, { address: rinfo.address, port: rinfo.port }));
      }
      this.udp.set(address, { rtp, rtcp });
      ctx.defer(() => {
        this.udp.delete(address);
      });
      const server = createServer((socket) => this.accept(socket));
      await listenOn(server, this.port, address, 'RTSP');
      // Out of descriptors, accept() fails: an 'error' with no listener would end the process.
      server.on('error', (err) => {
        this.counters.acceptErrors++;
        this.log.debug(`RTSP listener on ${address}: ${err.message}`);
      });
      ctx.defer(() => this.closeListener(server));
    }
    this.sessions.start();
    ctx.defer(() => this.sessions.stop());
    this.connections.start();
    ctx.defer(() => this.connections.stop());
  }

  /** Closes a listener; its open connections first, since close() waits for them. */
  private closeListener(server: Server): Promise<void> {
    for (const s of this.sockets.values()) s.destroy();
    this.sockets.clear();
    return new Promise<void>((r) => server.close(() => r()));
  }

  /** Counters for GET /status: sessions, then connections. */
  report(): RtspReport {
    return {
      ...this.sessions.counters,
      connections: { open: this.connections.size, ...this.connections.counters, ...this.counters },
      ...(this.viewerCounters === null ? {} : { viewers: { ...this.viewerCounters } }),
    };
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {});
    if (socket.remoteAddress === undefined) {
      socket.destroy(); // gone before we saw it
      return;
    }
    const peer: RtspPeer = {
      id: this.nextId++,
      remoteAddress: socket.remoteAddress.replace(/^::ffff:/, ''),
      ...(socket.remotePort === undefined ? {} : { remotePort: socket.remotePort }),
      localAddress: (socket.localAddress ?? '').replace(/^::ffff:/, ''),
    };
    if (!this.connections.admit(peer.id, peer.remoteAddress).ok) {
      socket.resetAndDestroy(); // frees the descriptor now, and leaves no TIME_WAIT here
      return;
    }
    this.sockets.set(peer.id, socket);
    socket.setNoDelay(true);
    const decoder = new RtspStreamDecoder();
    socket.on('data', (chunk: Buffer) => {
      try {
        this.onData(peer, socket, decoder, chunk);
      } catch (err) {
        this.counters.handlerErrors++;
        const why = err instanceof Error ? err.message : String(err);
        this.log.debug(`RTSP connection from ${peer.remoteAddress}: ${why}`);
        socket.destroy();
      }
    });
    socket.on('close', () => {
      this.sockets.delete(peer.id);
      this.connections.closed(peer.id);
      this.sessions.disconnected(peer);
    });
  }

  private onData(peer: RtspPeer, socket: Socket, decoder: RtspStreamDecoder, chunk: Buffer): void {
    const { messages, error } = decoder.push(chunk);
    for (const m of messages) {
      if (socket.destroyed) return;
      if (m.type === 'interleaved') {
        this.onRtcp(m.payload, { peerId: peer.id, channel: m.channel });
      } else if (m.type === 'request') {
        this.connections.active(peer.id);
        this.sessions.handle(peer, m, (r) => this.reply(socket, peer.id, r));
      }
    }
    if (error !== undefined && !socket.destroyed) {
      const status = error === 'oversize' ? 413 : error === 'unsupported' ? 505 : 400;
      socket.end(encodeResponse({ status, headers: { CSeq: 0 } }));
    }
  }

  private reply(socket: Socket, peerId: number, r: RtspReply): void {
    if (socket.destroyed) return;
    const rtpRoom = this.sessions.hasSessions(peerId) ? SEND_QUEUE_LIMIT_BYTES : 0;
    if (socket.writableLength > MAX_REPLY_BACKLOG_BYTES + rtpRoom) {
      this.counters.replyBacklogClosed++;
      socket.destroy();
      return;
    }
    let bytes: Buffer;
    try {
      bytes = encodeResponse(r);
    } catch {
      this.counters.encodeErrors++;
      const cseq = r.headers.CSeq;
      const safe = typeof cseq === 'string' && /^\d{1,9}$/.test(cseq) ? cseq : 0;
      bytes = encodeResponse({ status: 500, headers: { CSeq: safe } });
    }
    socket.write(bytes);
  }

  private onRtcp(buf: Buffer, match: RtcpSource): void {
    try {
      const decoded = decodeRtcp(buf);
      if (!decoded.ok) {
        this.sessions.rtcpMalformed();
        return;
      }
      this.sessions.rtcp(match, decoded.value);
    } catch {
      this.counters.handlerErrors++;
    }
  }

  /** The RTP/RTCP sockets on the address a client reached us at (any, if that one is unknown). */
  private pairFor(address: string): { rtp: UdpSocket; rtcp: UdpSocket } | undefined {
    return this.udp.get(address) ?? this.udp.values().next().value;
  }

  // Both may throw (the session closes); failures found later reach `sent`, when given.
  private sendRtcp(target: SendTarget, rtcp: Buffer, sent?: SendCallback): void {
    const { peer, delivery } = target;
    if (delivery.kind === 'tcp') return this.writeInterleaved(peer, delivery.rtcpChannel, rtcp);
    this.pairFor(peer.localAddress)?.rtcp.send(rtcp, delivery.rtcpPort, delivery.address, sent);
  }

  private sendRtp(target: SendTarget, rtp: Buffer, sent?: SendCallback): void {
    const { peer, delivery } = target;
    if (delivery.kind === 'tcp') return this.writeInterleaved(peer, delivery.rtpChannel, rtp);
    this.pairFor(peer.localAddress)?.rtp.send(rtp, delivery.rtpPort, delivery.address, sent);
  }

  /**
   * The header, then the packet itself: what waits for a slow reader is a reference to the
   * packet every viewer shares, not a copy per viewer (packets are never modified once sent).
   */
  private writeInterleaved(peer: RtspPeer, channel: number, payload: Buffer): void {
    const socket = this.sockets.get(peer.id);
    if (socket === undefined || socket.destroyed) return;
    const header = encodeInterleavedHeader(channel, payload.length);
    socket.cork();
    socket.write(header);
    socket.write(payload);
    socket.uncork();
  }
}
