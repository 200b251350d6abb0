/**
 * A POP's RTSP sessions (RFC 2326), without sockets: answers OPTIONS, DESCRIBE, SETUP, PLAY,
 * PAUSE, TEARDOWN and GET_PARAMETER; joins the overlay tree for a session's movie on SETUP
 * (answering once the tree is joined, or with the NAK's reason), delivers RTP only while
 * playing, and reaps sessions that stop sending keep-alives.
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import type { MovieInfo, NakReason } from '../../common/wire/overlay.ts';
import { header, type RtspRequest } from '../../common/wire/rtsp.ts';
import { formatSession, formatTransport, parseRtspUrl, parseSession, parseTransport, type TransportSpec } from '../../common/wire/rtsp-headers.ts';
import { FRAME_AUTH_EXTMAP } from '../../common/wire/frame-auth.ts';
import { buildMjpegSdp } from '../../common/wire/sdp.ts';
import { encodeRtcp, ntpFromUnixMs, type RtcpPacket } from '../../common/wire/rtcp.ts';
import type { LocalReceiver } from './stream-tree.ts';

/** RFC 3550 suggests 5 s between RTCP reports at this bandwidth. */
export const SENDER_REPORT_INTERVAL_MS = 5000;
/** A NACK may ask for at most this many packets at once; more is a client gone wrong. */
export const MAX_NACKED_PACKETS = 256;

export const SESSION_TIMEOUT_SEC = 60;
/** Sessions one client address may hold at once (a player needs one per movie). */
export const MAX_SESSIONS_PER_CLIENT = 16;
export const MAX_SESSIONS = 1024;
const METHODS = 'OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER';

export type Delivery =
  | { readonly kind: 'udp'; readonly address: string; readonly rtpPort: number; readonly rtcpPort: number }
  | { readonly kind: 'tcp'; readonly rtpChannel: number; readonly rtcpChannel: number };

/** One RTSP control connection, as the adapter presents it. */
export interface RtspPeer {
  readonly id: number;
  readonly remoteAddress: string;
  readonly localAddress: string;
}

export interface RtspReply {
  readonly status: number;
  readonly headers: Record<string, string | number>;
  readonly body?: Buffer;
}

export interface RtspDeps {
  readonly clock: Clock;
  catalogue(): readonly MovieInfo[];
  join(movie: string, id: string, receiver: LocalReceiver): void;
  leave(movie: string, id: string): void;
  /** Sends RTP for a session; the adapter knows the sockets. */
  sendRtp(peer: RtspPeer, delivery: Delivery, rtp: Buffer): void;
  /** Sends an RTCP compound packet for a session (to client_port+1, or interleaved channel). */
  sendRtcp(peer: RtspPeer, delivery: Delivery, rtcp: Buffer): void;
  /** The newest complete frame of a movie's stream, sent on PLAY so a viewer need not wait for the next one. */
  latestFrame(movie: string): Buffer[];
  /** Cached packets of a movie's stream, for retransmission (RTCP NACK). */
  repair(movie: string, ssrc: number, seqs: readonly number[]): Buffer[];
  /** Wall clock for RTCP's NTP timestamps (ms since 1970). */
  wallClockMs(): number;
  /** The UDP ports the POP sends from on this address (for server_port). */
  serverPorts(localAddress: string): readonly [number, number];
  randomId(): string;
}

interface Session {
  readonly id: string;
  readonly movie: string;
  readonly peer: RtspPeer;
  readonly delivery: Delivery;
  state: 'joining' | 'ready' | 'playing';
  lastSeen: number;
  packets: number;
  octets: number;
  /** The last RTP packet delivered: the SR's SSRC and RTP timestamp come from it. */
  lastSsrc: number | null;
  lastTimestamp: number;
  lastAt: number;
  retransmitted: number;
}

export interface RtspCounters {
  requests: number;
  badRequests: number;
  sessionsOpened: number;
  sessionsReaped: number;
  refused: number;
  rtcpIn: number;
  rtcpMalformed: number;
  nacks: number;
  retransmitted: number;
}

export class RtspSessions {
  readonly counters: RtspCounters = { requests: 0, badRequests: 0, sessionsOpened: 0, sessionsReaped: 0, refused: 0, rtcpIn: 0, rtcpMalformed: 0, nacks: 0, retransmitted: 0 };
  private reportTimer: Timer | null = null;
  private readonly sessions = new Map<string, Session>();
  /** Sessions by where their RTCP comes from (every receiver report looks one up). */
  private readonly byRtcp = new Map<string, Session>();
  private reaper: Timer | null = null;

  constructor(private readonly deps: RtspDeps, private readonly timeoutSec = SESSION_TIMEOUT_SEC) {}

  start(): void {
    const sweep = (): void => {
      this.reap();
      this.reaper = this.deps.clock.setTimer(1000, sweep);
    };
    this.reaper = this.deps.clock.setTimer(1000, sweep);
    const report = (): void => {
      this.sendReports();
      this.reportTimer = this.deps.clock.setTimer(SENDER_REPORT_INTERVAL_MS, report);
    };
    this.reportTimer = this.deps.clock.setTimer(SENDER_REPORT_INTERVAL_MS, report);
  }

  stop(): void {
    this.reaper?.cancel();
    this.reaper = null;
    this.reportTimer?.cancel();
    this.reportTimer = null;
    for (const s of [...this.sessions.values()]) this.close(s);
  }

  list(): { id: string; movie: string; client: string; state: string; packets: number; retransmitted: number }[] {
    return [...this.sessions.values()].map((s) => ({
      id: s.id, movie: s.movie, client: s.peer.remoteAddress, state: s.state, packets: s.packets, retransmitted: s.retransmitted,
    }));
  }

  /**
   * RTCP from a client: any report keeps its session alive (RFC 2326 §12.37), a NACK gets the
   * lost packets resent from the stream's cache. `match` says where it came from: the client's
   * RTCP port over UDP, or an interleaved channel on a connection.
   */
  rtcp(match: { address: string; port: number } | { peerId: number; channel: number }, packets: readonly RtcpPacket[]): void {
    this.counters.rtcpIn++;
    const session = this.byRtcp.get('address' in match ? `udp ${match.address} ${match.port}` : `tcp ${match.peerId} ${match.channel}`);
    if (session === undefined) return;
    session.lastSeen = this.deps.clock.now();
    for (const p of packets) {
      if (p.type !== 'nack' || session.state !== 'playing') continue;
      this.counters.nacks++;
      const resend = this.deps.repair(session.movie, p.mediaSsrc, p.lost.slice(0, MAX_NACKED_PACKETS));
      for (const rtp of resend) this.deps.sendRtp(session.peer, session.delivery, rtp);
      session.retransmitted += resend.length;
      this.counters.retransmitted += resend.length;
    }
  }

  rtcpMalformed(): void {
    this.counters.rtcpMalformed++;
  }

  /** RFC 3550 sender reports for every playing session, so players can sync and measure. */
  private sendReports(): void {
    const now = this.deps.clock.now();
    const { ntpSec, ntpFrac } = ntpFromUnixMs(this.deps.wallClockMs());
    for (const s of this.sessions.values()) {
      if (s.state !== 'playing' || s.lastSsrc === null) continue;
      const rtpTimestamp = (s.lastTimestamp + Math.round((now - s.lastAt) * 90)) >>> 0;
      const sr = encodeRtcp([
        { type: 'sr', ssrc: s.lastSsrc, ntpSec, ntpFrac, rtpTimestamp, packetCount: s.packets >>> 0, octetCount: s.octets >>> 0, reports: [] },
        { type: 'sdes', chunks: [{ ssrc: s.lastSsrc, cname: 'onode', items: [] }] },
      ]);
      this.deps.sendRtcp(s.peer, s.delivery, sr);
    }
  }

  /** The control connection closed: its sessions end (clients that vanish leave no branch behind). */
  disconnected(peer: RtspPeer): void {
    for (const s of [...this.sessions.values()]) if (s.peer.id === peer.id) this.close(s);
  }

  /** Handles a request; `reply` is called exactly once (later for a SETUP that joins the tree). */
  handle(peer: RtspPeer, req: RtspRequest, reply: (r: RtspReply) => void): void {
    this.counters.requests++;
    const cseq = header(req, 'cseq');
    const answer = (status: number, headers: Record<string, string | number> = {}, body?: Buffer): void => {
      if (status >= 400) this.counters.badRequests++;
      reply({ status, headers: { CSeq: cseq ?? '0', Server: 'onode', ...headers }, ...(body ? { body } : {}) });
    };
    if (cseq === undefined || !/^\d{1,9}$/.test(cseq.trim())) return answer(400);
    const session = this.sessionOf(req);
    if (session === 'bad') return answer(454);
    if (session !== undefined) session.lastSeen = this.deps.clock.now();
    switch (req.method) {
      case 'OPTIONS':
        return answer(200, { Public: METHODS });
      case 'GET_PARAMETER':
        return answer(200, session ? { Session: formatSession(session.id, this.timeoutSec) } : {});
      case 'DESCRIBE':
        return this.describe(peer, req, answer);
      case 'SETUP':
        return this.setup(peer, req, session, answer);
      case 'PLAY':
      case 'PAUSE':
      case 'TEARDOWN': {
        if (session === undefined) return answer(454);
        const sessionHeader = { Session: formatSession(session.id, this.timeoutSec) };
        if (req.method === 'TEARDOWN') {
          this.close(session);
          return answer(200, sessionHeader);
        }
        if (session.state === 'joining') return answer(455);
        const starting = req.method === 'PLAY' && session.state !== 'playing';
        session.state = req.method === 'PLAY' ? 'playing' : 'ready';
        answer(200, req.method === 'PLAY' ? { ...sessionHeader, Range: 'npt=now-' } : sessionHeader);
        // Fast start: the newest complete frame now, then the live stream continues from it.
        if (starting) for (const rtp of this.deps.latestFrame(session.movie)) this.deliverTo(session, rtp);
        return;
      }
      default:
        return answer(501, { Allow: METHODS });
    }
  }

  private movieOf(req: RtspRequest): MovieInfo | 'bad-url' | undefined {
    const url = parseRtspUrl(req.uri);
    if (!url.ok) return 'bad-url';
    return this.deps.catalogue().find((m) => m.name === url.value.path);
  }

  private describe(peer: RtspPeer, req: RtspRequest, answer: (s: number, h?: Record<string, string | number>, b?: Buffer) => void): void {
    const movie = this.movieOf(req);
    if (movie === 'bad-url') return answer(400);
    if (movie === undefined) return answer(404);
    const sdp = buildMjpegSdp({
      sessionId: String(Math.floor(this.deps.clock.now())), originAddress: peer.localAddress, sessionName: movie.name,
      control: 'trackID=0', fps: movie.fps, width: movie.width, height: movie.height, extensions: FRAME_AUTH_EXTMAP,
    });
    const base = req.uri.endsWith('/') ? req.uri : `${req.uri}/`;
    answer(200, { 'Content-Type': 'application/sdp', 'Content-Base': base }, Buffer.from(sdp));
  }

  private setup(
    peer: RtspPeer, req: RtspRequest, existing: Session | undefined,
    answer: (s: number, h?: Record<string, string | number>, b?: Buffer) => void,
  ): void {
    if (existing !== undefined) return answer(459); // one stream per session: aggregate control not needed
    const movie = this.movieOf(req);
    if (movie === 'bad-url') return answer(400);
    if (movie === undefined) return answer(404);
    const transportHeader = header(req, 'transport');
    if (transportHeader === undefined) return answer(400);
    const specs = parseTransport(transportHeader);
    if (!specs.ok) return answer(specs.reason === 'unsupported' ? 461 : 400);
    const spec = specs.value.find((t) => t.unicast && (t.profile === 'RTP/AVP/TCP' ? true : t.clientPort !== undefined));
    if (spec === undefined) return answer(461);
    const open = [...this.sessions.values()].filter((s) => s.peer.remoteAddress === peer.remoteAddress).length;
    if (open >= MAX_SESSIONS_PER_CLIENT || this.sessions.size >= MAX_SESSIONS) {
      this.counters.refused++;
      return answer(453);
    }
    const delivery = this.deliveryFor(peer, spec);
    const id = this.deps.randomId();
    const session: Session = {
      id, movie: movie.name, peer, delivery, state: 'joining', lastSeen: this.deps.clock.now(), packets: 0, octets: 0,
      lastSsrc: null, lastTimestamp: 0, lastAt: 0, retransmitted: 0,
    };
    this.sessions.set(id, session);
    this.byRtcp.set(rtcpKey(session), session);
    this.counters.sessionsOpened++;
    const transport = this.transportReply(peer, spec, delivery);
    let answered = false;
    this.deps.join(movie.name, id, {
      deliver: (rtp) => this.deliverTo(session, rtp),
      joined: () => {
        if (answered) return;
        answered = true;
        if (session.state === 'joining') session.state = 'ready';
        answer(200, { Session: formatSession(id, this.timeoutSec), Transport: transport });
      },
      failed: (reason, detail) => {
        this.forget(session);
        if (answered) return;
        answered = true;
        answer(statusForNak(reason), { 'X-Nak-Reason': reason, 'X-Nak-Detail': detail.replace(/[\x00-\x1f\x7f]/g, ' ') });
      },
    });
  }

  private deliverTo(session: Session, rtp: Buffer): void {
    if (session.state !== 'playing' || rtp.length < 12) return;
    session.packets++;
    session.octets += rtp.length - 12;
    session.lastSsrc = rtp.readUInt32BE(8);
    session.lastTimestamp = rtp.readUInt32BE(4);
    session.lastAt = this.deps.clock.now();
    this.deps.sendRtp(session.peer, session.delivery, rtp);
  }

  private deliveryFor(peer: RtspPeer, spec: TransportSpec): Delivery {
    if (spec.profile === 'RTP/AVP/TCP') {
      const [rtp, rtcp] = spec.interleaved ?? [0, 1];
      return { kind: 'tcp', rtpChannel: rtp, rtcpChannel: rtcp };
    }
    const [rtp, rtcp] = spec.clientPort ?? [0, 0];
    // Only to the address the request came from: a destination parameter would let anyone aim a stream at a third party.
    return { kind: 'udp', address: peer.remoteAddress, rtpPort: rtp, rtcpPort: rtcp };
  }

  private transportReply(peer: RtspPeer, spec: TransportSpec, delivery: Delivery): string {
    if (delivery.kind === 'tcp') {
      return formatTransport({ profile: 'RTP/AVP/TCP', unicast: true, interleaved: [delivery.rtpChannel, delivery.rtcpChannel] });
    }
    return formatTransport({
      profile: 'RTP/AVP', unicast: true, clientPort: [delivery.rtpPort, delivery.rtcpPort],
      serverPort: this.deps.serverPorts(peer.localAddress), ...(spec.ssrc !== undefined ? {} : {}),
    });
  }

  private sessionOf(req: RtspRequest): Session | undefined | 'bad' {
    const value = header(req, 'session');
    if (value === undefined) return undefined;
    const parsed = parseSession(value);
    if (!parsed.ok) return 'bad';
    return this.sessions.get(parsed.value.id) ?? 'bad';
  }

  private close(s: Session): void {
    if (!this.forget(s)) return;
    this.deps.leave(s.movie, s.id);
  }

  private forget(s: Session): boolean {
    if (this.byRtcp.get(rtcpKey(s)) === s) this.byRtcp.delete(rtcpKey(s));
    return this.sessions.delete(s.id);
  }

  private reap(): void {
    const limit = this.deps.clock.now() - this.timeoutSec * 1000;
    for (const s of [...this.sessions.values()]) {
      if (s.lastSeen < limit) {
        this.counters.sessionsReaped++;
        this.close(s);
      }
    }
  }
}

function rtcpKey(s: Session): string {
  const d = s.delivery;
  return d.kind === 'udp' ? `udp ${d.address} ${d.rtcpPort}` : `tcp ${s.peer.id} ${d.rtcpChannel}`;
}

function statusForNak(reason: NakReason): number {
  switch (reason) {
    case 'unknown-movie':
      return 404;
    case 'overloaded':
      return 453;
    case 'no-route':
    case 'loop':
    case 'timeout':
      return 503;
  }
}
