/**
 * The POP's RTSP adapter: a TCP listener per client-facing address, a streaming decoder per
 * connection, and a UDP socket pair per address to send RTP (and later RTCP) from. Requests
 * go to RtspSessions; its replies and RTP come back out here.
 */
import { randomBytes } from 'node:crypto';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Clock } from '../../common/core/clock.ts';
import { bindUdp, listenOn } from '../../common/net/listen.ts';
import type { Logger } from '../../common/net/logger.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { decodeRtcp } from '../../common/wire/rtcp.ts';
import { encodeInterleaved, encodeResponse, RtspStreamDecoder } from '../../common/wire/rtsp.ts';
import { type Delivery, type RtspPeer, RtspSessions } from '../core/rtsp-sessions.ts';
import type { LocalReceiver } from '../core/stream-tree.ts';

/** A connection that cannot keep up (TCP interleaved) is cut rather than buffered without bound. */
const MAX_CONNECTION_BACKLOG_BYTES = 4 * 1024 * 1024;

export interface RtspServerDeps {
  readonly clock: Clock;
  catalogue(): readonly MovieInfo[];
  join(movie: string, id: string, receiver: LocalReceiver): void;
  leave(movie: string, id: string): void;
  repair(movie: string, ssrc: number, seqs: readonly number[]): Buffer[];
  latestFrame(movie: string): Buffer[];
}

export class RtspServer {
  readonly sessions: RtspSessions;
  private readonly servers: Server[] = [];
  private readonly connections = new Map<number, Socket>();
  private readonly udp = new Map<string, { rtp: UdpSocket; rtcp: UdpSocket }>();
  private nextId = 1;

  constructor(
    private readonly addresses: readonly string[],
    private readonly port: number,
    deps: RtspServerDeps,
    private readonly log: Logger,
  ) {
    this.sessions = new RtspSessions({
      clock: deps.clock,
      catalogue: () => deps.catalogue(),
      join: (m, id, r) => deps.join(m, id, r),
      leave: (m, id) => deps.leave(m, id),
      sendRtp: (peer, delivery, rtp) => this.sendRtp(peer, delivery, rtp),
      sendRtcp: (peer, delivery, rtcp) => this.sendRtcp(peer, delivery, rtcp),
      repair: (m, ssrc, seqs) => deps.repair(m, ssrc, seqs),
      latestFrame: (m) => deps.latestFrame(m),
      wallClockMs: () => Date.now(),
      serverPorts: (address) => {
        const pair = this.pairFor(address);
        return pair === undefined ? [0, 0] : [pair.rtp.address().port, pair.rtcp.address().port];
      },
      randomId: () => randomBytes(8).toString('hex').toUpperCase(),
    });
  }

  async start(): Promise<void> {
    for (const address of this.addresses) {
      const rtp = await bindUdp(address, 0);
      const rtcp = await bindUdp(address, 0);
      // Clients send RTCP (receiver reports, NACKs) to either port of the pair.
      for (const sock of [rtp, rtcp]) sock.on('message', (buf, rinfo) => this.onRtcp(buf, { address: rinfo.address, port: rinfo.port }));
      this.udp.set(address, { rtp, rtcp });
      const server = createServer((socket) => this.accept(socket));
      await listenOn(server, this.port, address, 'RTSP');
      this.servers.push(server);
    }
    this.sessions.start();
  }

  async stop(): Promise<void> {
    this.sessions.stop();
    for (const c of this.connections.values()) c.destroy();
    this.connections.clear();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.length = 0;
    for (const { rtp, rtcp } of this.udp.values()) {
      rtp.close();
      rtcp.close();
    }
    this.udp.clear();
  }

  private accept(socket: Socket): void {
    const peer: RtspPeer = {
      id: this.nextId++,
      remoteAddress: (socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      localAddress: (socket.localAddress ?? '').replace(/^::ffff:/, ''),
    };
    this.connections.set(peer.id, socket);
    socket.setNoDelay(true);
    const decoder = new RtspStreamDecoder();
    socket.on('data', (chunk: Buffer) => {
      const { messages, error } = decoder.push(chunk);
      for (const m of messages) {
        if (m.type === 'interleaved') {
          this.onRtcp(m.payload, { peerId: peer.id, channel: m.channel });
          continue;
        }
        if (m.type !== 'request') continue;
        this.sessions.handle(peer, m, (r) => {
          if (!socket.destroyed) socket.write(encodeResponse(r));
        });
      }
      if (error !== undefined) {
        const status = error === 'oversize' ? 413 : error === 'unsupported' ? 505 : 400;
        socket.end(encodeResponse({ status, headers: { CSeq: 0 } }));
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.connections.delete(peer.id);
      this.sessions.disconnected(peer);
    });
  }

  private onRtcp(buf: Buffer, match: { address: string; port: number } | { peerId: number; channel: number }): void {
    const decoded = decodeRtcp(buf);
    if (!decoded.ok) {
      this.sessions.rtcpMalformed();
      return;
    }
    this.sessions.rtcp(match, decoded.value);
  }

  /** The RTP/RTCP sockets on the address a client reached us at (any, if that one is unknown). */
  private pairFor(address: string): { rtp: UdpSocket; rtcp: UdpSocket } | undefined {
    return this.udp.get(address) ?? this.udp.values().next().value;
  }

  private sendRtcp(peer: RtspPeer, delivery: Delivery, rtcp: Buffer): void {
    if (delivery.kind === 'tcp') {
      const socket = this.connections.get(peer.id);
      if (socket !== undefined && !socket.destroyed && socket.writableLength <= MAX_CONNECTION_BACKLOG_BYTES) {
        socket.write(encodeInterleaved(delivery.rtcpChannel, rtcp));
      }
      return;
    }
    const pair = this.pairFor(peer.localAddress);
    if (delivery.rtcpPort > 0) pair?.rtcp.send(rtcp, delivery.rtcpPort, delivery.address);
  }

  private sendRtp(peer: RtspPeer, delivery: Delivery, rtp: Buffer): void {
    if (delivery.kind === 'tcp') {
      const socket = this.connections.get(peer.id);
      if (socket === undefined || socket.destroyed) return;
      if (socket.writableLength > MAX_CONNECTION_BACKLOG_BYTES) {
        this.log.warn(`RTSP client ${peer.remoteAddress} cannot keep up; disconnecting`);
        socket.destroy();
        return;
      }
      socket.write(encodeInterleaved(delivery.rtpChannel, rtp));
      return;
    }
    const pair = this.pairFor(peer.localAddress);
    pair?.rtp.send(rtp, delivery.rtpPort, delivery.address);
  }
}

