/**
 * A POP's RTSP sessions (RFC 2326), without sockets: answers OPTIONS, DESCRIBE, SETUP, PLAY,
 * PAUSE, TEARDOWN and GET_PARAMETER; joins the overlay tree for a session's movie on SETUP
 * (answering once the tree is joined, or with the NAK's reason), delivers RTP only while
 * playing, and reaps sessions that stop sending keep-alives.
 *
 * Clients are not trusted. Session ids are random (64 bits or more) and belong to the
 * connection (TCP interleaved) or client address (UDP) that created them: anyone else naming
 * one gets 454, as for an id that does not exist. A session whose sends fail is closed, alone;
 * nothing a session does stops delivery to the others. A TCP viewer that stops reading loses
 * frames (rtsp-send-gate.ts), not the POP's memory. A full table evicts sessions that never
 * played before it refuses a viewer.
 */
import { Interval } from '../../common/core/interval.ts';
import { decrementCount } from '../../common/core/counts.ts';
import type { MovieInfo, NakReason } from '../../common/wire/overlay.ts';
import { header, type RtspRequest } from '../../common/wire/rtsp.ts';
import {
  formatSession,
  formatTransport,
  LAST_FRAME_HEADER,
  type LastFrame,
  parseLastFrame,
  parseRtspUrl,
  parseSession,
  parseTransport,
} from '../../common/wire/rtsp-headers.ts';
import { decodeRtp } from '../../common/wire/rtp.ts';
import { describeMovie, type RtspTrack, trackOf } from './rtsp-tracks.ts';
import { ntpFromUnixMs, type RtcpPacket } from '../../common/wire/rtcp.ts';
import { chooseDelivery, type Delivery, type RtspPeer } from './rtsp-delivery.ts';
import { Viewer, type ViewerCounters, type ViewerDeps } from './rtsp-viewer.ts';
import type { LocalReceiver } from './stream-tree.ts';
import type { ReportVerdict, ViewerSink } from './viewer-table.ts';
import { VIEWER_STATS_CONTENT_TYPE } from '../../common/wire/viewer-report.ts';

export type { Delivery, RtspPeer, SendCallback, SendTarget } from './rtsp-delivery.ts';
export { MAX_RETRANSMITS_PER_SEC, MAX_SEND_FAILURES, SEND_CHECK_INTERVAL } from './rtsp-viewer.ts';
export { MAX_NACKED_PACKETS } from '../../common/wire/rtcp.ts';

/** RFC 3550 suggests 5 s between RTCP reports at this bandwidth. */
export const SENDER_REPORT_INTERVAL_MS = 5000;

export const SESSION_TIMEOUT_SEC = 60;
/** How often sessions past their timeout are looked for. */
const REAP_INTERVAL_MS = 1000;
/** Sessions one client address may hold at once (a player needs one per movie). */
export const MAX_SESSIONS_PER_CLIENT = 16;
export const MAX_SESSIONS = 1024;
/** A session this young is not evicted: its player is between SETUP and PLAY. */
export const EVICTION_GRACE_MS = 2000;
/** A session gets the fast-start frame at most this often: PAUSE/PLAY in a loop must not multiply frames. */
export const FAST_START_INTERVAL_MS = 1000;
/** Longer request URIs get 414: DESCRIBE echoes the URI, and the reply must still fit its header limit. */
export const MAX_REQUEST_URI_CHARS = 2048;
/** At least 64 bits of randomness, as hex (randomId is checked, not trusted). */
const SESSION_ID = /^[0-9A-Fa-f]{16,64}$/;
const ID_ATTEMPTS = 4;
const MAX_NAK_DETAIL_CHARS = 256;
const METHODS = 'OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER';

export interface RtspReply {
  readonly status: number;
  readonly headers: Record<string, string | number>;
  readonly body?: Buffer;
}

/** Sending (RTP to the client_port pair or interleaved channels) is the adapter's: see ViewerDeps. */
export interface RtspDeps extends ViewerDeps {
  catalogue(): readonly MovieInfo[];
  join(movie: string, id: string, receiver: LocalReceiver): void;
  leave(movie: string, id: string): void;
  /**
   * The newest complete frame of a stream, sent on PLAY so a viewer need not wait for the next one;
   * with `startsAt`, everything from the newest packet it accepts (an H.264 stream's last keyframe).
   */
  latestFrame(movie: string, startsAt?: (rtp: Buffer) => boolean): Buffer[];
  /** The UDP ports the POP sends from on this address (for server_port). */
  serverPorts(localAddress: string): readonly [number, number];
  /** A fresh session id: 16 or more hex digits from a cryptographic source. */
  randomId(): string;
  /** The viewer statistics (viewer-table.ts): told of PLAY, PAUSE, the end, reports and RTCP RRs. */
  readonly viewers?: ViewerSink;
}

/** Where RTCP came from: the client's RTCP port over UDP, or an interleaved channel on a connection. */
export type RtcpSource =
  | { readonly address: string; readonly port: number }
  | { readonly peerId: number; readonly channel: number };

type Answer = (status: number, headers?: Record<string, string | number>, body?: Buffer) => void;

/** One track of a session: an overlay stream and the viewer that sends it on (rtsp-tracks.ts). */
interface Track {
  readonly spec: RtspTrack;
  readonly media: Viewer;
}

interface Session {
  readonly id: string;
  /** Names the viewer in the stream tree and in /status; unlike the id, not a secret. */
  readonly label: string;
  readonly movie: string;
  readonly peer: RtspPeer;
  readonly createdAt: number;
  state: 'joining' | 'ready' | 'playing';
  everPlayed: boolean;
  lastFastStartAt: number;
  lastSeen: number;
  /** In SETUP order; the first one exists from the session's creation. */
  readonly tracks: Track[];
  /** The SETUP's answer while the tree is being joined. */
  pendingSetup: Answer | null;
}

/** Most tracks of one session: an H.264 movie's video and audio. */
export const MAX_TRACKS_PER_SESSION = 2;

export interface RtspSessionInfo {
  readonly viewer: string;
  readonly movie: string;
  readonly client: string;
  readonly transport: Delivery['kind'];
  readonly state: string;
  readonly packets: number;
  readonly retransmitted: number;
  readonly packetsDropped: number;
  readonly framesDropped: number;
}

export interface RtspCounters extends ViewerCounters {
  requests: number;
  badRequests: number;
  /** Requests naming a session that does not exist or belongs to another client (both 454). */
  sessionNotFound: number;
  sessionsOpened: number;
  sessionsReaped: number;
  sessionsEvicted: number;
  refused: number;
  /** Exceptions caught in request handling or delivery (a bug, or input nothing else stopped). */
  internalErrors: number;
  rtcpIn: number;
  rtcpMalformed: number;
  nacks: number;
}

export class RtspSessions {
  readonly counters: RtspCounters = {
    requests: 0,
    badRequests: 0,
    sessionNotFound: 0,
    sessionsOpened: 0,
    sessionsReaped: 0,
    sessionsEvicted: 0,
    sessionsFailed: 0,
    sessionsStuck: 0,
    refused: 0,
    sendErrors: 0,
    packetsDropped: 0,
    framesDropped: 0,
    internalErrors: 0,
    rtcpIn: 0,
    rtcpMalformed: 0,
    nacks: 0,
    retransmitted: 0,
    retransmitsLimited: 0,
  };
  private readonly reports: Interval;
  /** In creation order, oldest first (eviction relies on it). */
  private readonly sessions = new Map<string, Session>();
  /** Session tracks by where their RTCP comes from (every receiver report looks one up). */
  private readonly byRtcp = new Map<string, { session: Session; track: Track }>();
  private readonly perClient = new Map<string, number>();
  private readonly perConnection = new Map<number, number>();
  private readonly reaper: Interval;
  private serial = 0;

  constructor(
    private readonly deps: RtspDeps,
    private readonly timeoutSec = SESSION_TIMEOUT_SEC,
  ) {
    this.reaper = new Interval(deps.clock, REAP_INTERVAL_MS, () => this.reap());
    this.reports = new Interval(deps.clock, SENDER_REPORT_INTERVAL_MS, () => this.sendReports());
  }

  start(): void {
    this.reaper.start();
    this.reports.start();
  }

  stop(): void {
    this.reaper.stop();
    this.reports.stop();
    for (const s of [...this.sessions.values()]) this.close(s);
  }

  /** For GET /status: no session ids (they are the viewers' credentials). */
  list(): RtspSessionInfo[] {
    const sum = (s: Session, of: (v: Viewer) => number): number => s.tracks.reduce((n, t) => n + of(t.media), 0);
    return [...this.sessions.values()].map((s) => ({
      viewer: s.label,
      movie: s.movie,
      client: s.peer.remoteAddress,
      transport: firstMedia(s).delivery.kind,
      state: s.state,
      packets: sum(s, (v) => v.packets),
      retransmitted: sum(s, (v) => v.retransmitted),
      packetsDropped: sum(s, (v) => v.packetsDropped),
      framesDropped: sum(s, (v) => v.framesDropped),
    }));
  }

  /** Whether a control connection holds a session (then it is not idle). */
  hasSessions(peerId: number): boolean {
    return (this.perConnection.get(peerId) ?? 0) > 0;
  }

  /**
   * RTCP from a client: any report keeps its session alive (RFC 2326 §12.37), a NACK gets the
   * lost packets resent from the stream's cache. `match` says where it came from: the client's
   * RTCP port over UDP, or an interleaved channel on a connection.
   */
  rtcp(match: RtcpSource, packets: readonly RtcpPacket[]): void {
    this.counters.rtcpIn++;
    const key = 'address' in match ? `udp ${match.address} ${match.port}` : `tcp ${match.peerId} ${match.channel}`;
    const found = this.byRtcp.get(key);
    if (found === undefined) return;
    const { session, track } = found;
    session.lastSeen = this.deps.clock.now();
    for (const p of packets) {
      if (p.type === 'rr' || p.type === 'sr') this.deps.viewers?.receiverReport(session.label, p.reports);
      if (p.type !== 'nack') continue;
      this.counters.nacks++;
      track.media.retransmit(p.mediaSsrc, p.lost);
    }
  }

  rtcpMalformed(): void {
    this.counters.rtcpMalformed++;
  }

  /** The control connection closed: its sessions end (clients that vanish leave no branch behind). */
  disconnected(peer: RtspPeer): void {
    if (!this.hasSessions(peer.id)) return;
    for (const s of [...this.sessions.values()]) if (s.peer.id === peer.id) this.close(s);
  }

  /** Handles a request; `reply` is called exactly once (later for a SETUP that joins the tree). */
  handle(peer: RtspPeer, req: RtspRequest, reply: (r: RtspReply) => void): void {
    this.counters.requests++;
    const cseq = header(req, 'cseq')?.trim();
    const validCseq = cseq !== undefined && /^\d{1,9}$/.test(cseq);
    let answered = false;
    const answer: Answer = (status, headers = {}, body) => {
      if (answered) return;
      answered = true;
      if (status >= 400) this.counters.badRequests++;
      // Only a well-formed CSeq is echoed: anything else could break the reply's own limits.
      const all = { CSeq: validCseq ? cseq : '0', Server: 'onode', ...headers };
      try {
        reply({ status, headers: all, ...(body ? { body } : {}) });
      } catch {
        this.counters.internalErrors++;
      }
    };
    try {
      if (!validCseq) return answer(400);
      if (req.uri.length > MAX_REQUEST_URI_CHARS) return answer(414);
      this.dispatch(peer, req, answer);
    } catch {
      // Whatever slipped through (a catalogue entry the SDP builder refuses...) costs this request only.
      this.counters.internalErrors++;
      answer(500);
    }
  }

  private dispatch(peer: RtspPeer, req: RtspRequest, answer: Answer): void {
    const session = this.sessionOf(req, peer);
    if (session === 'not-found') {
      this.counters.sessionNotFound++;
      return answer(454);
    }
    if (session !== undefined) session.lastSeen = this.deps.clock.now();
    switch (req.method) {
      case 'OPTIONS':
        return answer(200, { Public: METHODS });
      case 'GET_PARAMETER':
        return answer(200, session ? { Session: formatSession(session.id, this.timeoutSec) } : {});
      case 'SET_PARAMETER':
        return this.setParameter(peer, req, session, answer);
      case 'DESCRIBE':
        return this.describe(peer, req, answer);
      case 'SETUP':
        return this.setup(peer, req, session, answer);
      case 'PLAY':
      case 'PAUSE':
      case 'TEARDOWN':
        if (session === undefined) return answer(454);
        return this.control(req, req.method, session, answer);
      default:
        return answer(501, { Allow: METHODS });
    }
  }

  private control(req: RtspRequest, method: 'PLAY' | 'PAUSE' | 'TEARDOWN', session: Session, answer: Answer): void {
    const sessionHeader = { Session: formatSession(session.id, this.timeoutSec) };
    if (method === 'TEARDOWN') {
      this.close(session);
      return answer(200, sessionHeader);
    }
    if (session.state === 'joining') return answer(455);
    const starting = method === 'PLAY' && session.state !== 'playing';
    session.state = method === 'PLAY' ? 'playing' : 'ready';
    for (const t of session.tracks) t.media.playing = method === 'PLAY';
    if (method === 'PLAY') session.everPlayed = true;
    if (method === 'PLAY') this.deps.viewers?.played(session.label, session.movie, clientOf(session.peer));
    else this.deps.viewers?.paused(session.label);
    answer(200, method === 'PLAY' ? { ...sessionHeader, Range: 'npt=now-' } : sessionHeader);
    // Fast start: the newest complete frame now (H.264: the group of pictures since the last
    // keyframe), then the live stream continues from it.
    const now = this.deps.clock.now();
    if (!starting || now - session.lastFastStartAt < FAST_START_INTERVAL_MS) return;
    session.lastFastStartAt = now;
    const have = parseLastFrame(header(req, LAST_FRAME_HEADER) ?? '');
    for (const { spec, media } of session.tracks) {
      if (spec.fastStart === 'none') continue;
      const frame =
        spec.fastStart === 'keyframe' && spec.startsAt !== null
          ? this.deps.latestFrame(spec.stream, spec.startsAt)
          : this.deps.latestFrame(spec.stream);
      // The player has this frame already (it played it from another POP): nothing to start with.
      if (spec.fastStart === 'frame' && have.ok && alreadyHas(frame, have.value)) continue;
      const oldest = frame[0];
      if (oldest !== undefined) media.startClock(oldest);
      for (const rtp of frame) media.deliver(rtp, true);
    }
  }

  /**
   * SET_PARAMETER: an empty body is a keep-alive (some players send one); an oclient's playback
   * report (viewer-report.ts) counts only on the connection that made the session, not merely
   * from its address, and the table caps, checks and rate-limits it.
   */
  private setParameter(peer: RtspPeer, req: RtspRequest, session: Session | undefined, answer: Answer): void {
    if (session === undefined) return answer(454);
    const sessionHeader = { Session: formatSession(session.id, this.timeoutSec) };
    if (req.body.length === 0) return answer(200, sessionHeader);
    const type = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    const viewers = this.deps.viewers;
    if (type !== VIEWER_STATS_CONTENT_TYPE || viewers === undefined) return answer(451, sessionHeader);
    if (session.peer.id !== peer.id) {
      this.counters.sessionNotFound++;
      return answer(454);
    }
    answer(statusForReport(viewers.report(session.label, req.body)), sessionHeader);
  }

  private movieOf(req: RtspRequest): { movie: MovieInfo; trackId: string | undefined } | 'bad-url' | undefined {
    const url = parseRtspUrl(req.uri);
    if (!url.ok) return 'bad-url';
    const movie = this.deps.catalogue().find((m) => m.name === url.value.path);
    return movie === undefined ? undefined : { movie, trackId: url.value.trackId };
  }

  private describe(peer: RtspPeer, req: RtspRequest, answer: Answer): void {
    const found = this.movieOf(req);
    if (found === 'bad-url') return answer(400);
    if (found === undefined) return answer(404);
    const sessionId = String(Math.floor(this.deps.clock.now()));
    const sdp = describeMovie(found.movie, { sessionId, originAddress: peer.localAddress });
    const base = req.uri.endsWith('/') ? req.uri : `${req.uri}/`;
    answer(200, { 'Content-Type': 'application/sdp', 'Content-Base': base }, Buffer.from(sdp));
  }

  /**
   * SETUP of a movie's track: a new session, or (with its Session header) the session's next
   * track of the same movie (an H.264 movie's audio). The answer waits until the track's stream
   * is joined.
   */
  private setup(peer: RtspPeer, req: RtspRequest, existing: Session | undefined, answer: Answer): void {
    const found = this.movieOf(req);
    if (found === 'bad-url') return answer(400);
    if (found === undefined) return answer(404);
    const spec = trackOf(found.movie, found.trackId);
    if (spec === undefined) return answer(404);
    if (existing !== undefined) {
      // Aggregate control over one movie's tracks; another movie needs another session.
      if (existing.movie !== found.movie.name || existing.tracks.length >= MAX_TRACKS_PER_SESSION) return answer(459);
      if (existing.tracks.some((t) => t.spec.stream === spec.stream)) return answer(459);
      if (existing.pendingSetup !== null || existing.state === 'playing') return answer(455);
    }
    const transportHeader = header(req, 'transport');
    if (transportHeader === undefined) return answer(400);
    const specs = parseTransport(transportHeader);
    if (!specs.ok) return answer(specs.reason === 'unsupported' ? 461 : 400);
    const delivery = chooseDelivery(specs.value, peer.remoteAddress, this.channelsOf(peer.id));
    if (delivery === undefined) return answer(461);
    if (existing !== undefined) {
      // Interleaved channels belong to the connection that made the session.
      if (existing.peer.id !== peer.id && delivery.kind === 'tcp') return answer(461);
      return this.joinTrack(existing, this.addTrack(existing, spec, delivery), answer);
    }
    if (
      (this.perClient.get(peer.remoteAddress) ?? 0) >= MAX_SESSIONS_PER_CLIENT ||
      (this.sessions.size >= MAX_SESSIONS && !this.evictOne())
    ) {
      this.counters.refused++;
      return answer(453);
    }
    const id = this.newId();
    if (id === undefined) return answer(500);
    const session = this.add(id, found.movie.name, peer, spec, delivery);
    this.joinTrack(session, session.tracks[0] as Track, answer);
  }

  /** Joins a track's stream; `answer` gets the SETUP's reply once joined, or the NAK's reason. */
  private joinTrack(session: Session, track: Track, answer: Answer): void {
    const { id } = session;
    session.pendingSetup = answer;
    const transport = this.transportReply(session.peer, track.media.delivery);
    this.deps.join(track.spec.stream, session.label, {
      // The tree calls these in loops over every viewer of the movie: none may throw.
      deliver: (rtp) => this.guard(session, () => track.media.deliver(rtp)),
      joined: () =>
        this.guard(session, () => {
          const pending = session.pendingSetup;
          if (pending === null) return;
          session.pendingSetup = null;
          if (session.state === 'joining') session.state = 'ready';
          pending(200, { Session: formatSession(id, this.timeoutSec), Transport: transport });
        }),
      failed: (reason, detail) =>
        this.guard(session, () => {
          // The session's other tracks are joined already: they leave with it.
          if (session.tracks.length > 1) this.close(session);
          else this.forget(session);
          const pending = session.pendingSetup;
          if (pending === null) return;
          session.pendingSetup = null;
          const safeDetail = detail.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, MAX_NAK_DETAIL_CHARS);
          pending(statusForNak(reason), { 'X-Nak-Reason': reason, 'X-Nak-Detail': safeDetail });
        }),
    });
  }

  private add(id: string, movie: string, peer: RtspPeer, spec: RtspTrack, delivery: Delivery): Session {
    const now = this.deps.clock.now();
    const session: Session = {
      id,
      label: `v${++this.serial}`,
      movie,
      peer,
      createdAt: now,
      state: 'joining',
      everPlayed: false,
      lastSeen: now,
      lastFastStartAt: -Infinity,
      tracks: [],
      pendingSetup: null,
    };
    this.sessions.set(id, session);
    this.addTrack(session, spec, delivery);
    this.perClient.set(peer.remoteAddress, (this.perClient.get(peer.remoteAddress) ?? 0) + 1);
    this.perConnection.set(peer.id, (this.perConnection.get(peer.id) ?? 0) + 1);
    this.counters.sessionsOpened++;
    return session;
  }

  private newId(): string | undefined {
    for (let i = 0; i < ID_ATTEMPTS; i++) {
      const id = this.deps.randomId();
      if (SESSION_ID.test(id) && !this.sessions.has(id)) return id;
    }
    this.counters.internalErrors++;
    return undefined;
  }

  /** A track joins the session (its viewer made, its RTCP source known); the stream is joined next. */
  private addTrack(session: Session, spec: RtspTrack, delivery: Delivery): Track {
    const close = () => this.close(session);
    const media = new Viewer(
      session.peer,
      delivery,
      spec.stream,
      this.deps,
      this.counters,
      close,
      spec.clockRate,
      spec.startsAt,
      spec.synced,
    );
    const track = { spec, media };
    session.tracks.push(track);
    this.byRtcp.set(rtcpKey(session.peer, delivery), { session, track });
    return track;
  }

  /** The oldest session that never played and is past its grace period makes room; false if none. */
  private evictOne(): boolean {
    const now = this.deps.clock.now();
    for (const s of this.sessions.values()) {
      const closing = s.tracks.some((t) => t.media.closing);
      if (!closing && (s.everPlayed || now - s.createdAt < EVICTION_GRACE_MS)) continue;
      if (!closing) this.counters.sessionsEvicted++;
      const pending = s.pendingSetup;
      s.pendingSetup = null;
      this.close(s);
      pending?.(453);
      return true;
    }
    return false;
  }

  /** RFC 3550 sender reports for every playing session, so players can sync and measure. */
  private sendReports(): void {
    const now = this.deps.clock.now();
    const { ntpSec, ntpFrac } = ntpFromUnixMs(this.deps.wallClockMs());
    for (const s of [...this.sessions.values()]) for (const t of s.tracks) t.media.report(now, ntpSec, ntpFrac);
  }

  /** Runs a tree callback for one session; an exception closes that session instead of escaping. */
  private guard(s: Session, fn: () => void): void {
    try {
      fn();
    } catch {
      this.counters.internalErrors++;
      firstMedia(s).fail('failed');
    }
  }

  private transportReply(peer: RtspPeer, delivery: Delivery): string {
    if (delivery.kind === 'tcp') {
      const interleaved = [delivery.rtpChannel, delivery.rtcpChannel] as const;
      return formatTransport({ profile: 'RTP/AVP/TCP', unicast: true, interleaved });
    }
    return formatTransport({
      profile: 'RTP/AVP',
      unicast: true,
      clientPort: [delivery.rtpPort, delivery.rtcpPort],
      serverPort: this.deps.serverPorts(peer.localAddress),
    });
  }

  /** A session named in the request, if it exists and belongs to this client. */
  private sessionOf(req: RtspRequest, peer: RtspPeer): Session | undefined | 'not-found' {
    const value = header(req, 'session');
    if (value === undefined) return undefined;
    const parsed = parseSession(value);
    if (!parsed.ok) return 'not-found';
    const s = this.sessions.get(parsed.value.id);
    if (s === undefined) return 'not-found';
    // Interleaved RTP rides on its connection; UDP players may come back on a new connection.
    const owner =
      firstMedia(s).delivery.kind === 'tcp' ? s.peer.id === peer.id : s.peer.remoteAddress === peer.remoteAddress;
    return owner ? s : 'not-found';
  }

  private channelsOf(peerId: number): Set<number> {
    const used = new Set<number>();
    if (!this.hasSessions(peerId)) return used;
    for (const s of this.sessions.values()) {
      if (s.peer.id !== peerId) continue;
      for (const { media } of s.tracks) {
        const d = media.delivery;
        if (d.kind !== 'tcp') continue;
        used.add(d.rtpChannel);
        used.add(d.rtcpChannel);
      }
    }
    return used;
  }

  private close(s: Session): void {
    if (!this.forget(s)) return;
    for (const t of s.tracks) this.deps.leave(t.spec.stream, s.label);
  }

  private forget(s: Session): boolean {
    if (this.sessions.get(s.id) !== s) return false;
    this.sessions.delete(s.id);
    this.deps.viewers?.gone(s.label);
    for (const t of s.tracks) {
      t.media.closing = true; // a send already under way must not reopen it
      const key = rtcpKey(s.peer, t.media.delivery);
      if (this.byRtcp.get(key)?.session === s) this.byRtcp.delete(key);
    }
    decrementCount(this.perClient, s.peer.remoteAddress);
    decrementCount(this.perConnection, s.peer.id);
    return true;
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

function rtcpKey(peer: RtspPeer, d: Delivery): string {
  return d.kind === 'udp' ? `udp ${d.address} ${d.rtcpPort}` : `tcp ${peer.id} ${d.rtcpChannel}`;
}

/** The viewer of the session's first track (every session has one from its creation). */
function firstMedia(s: Session): Viewer {
  return (s.tracks[0] as Track).media;
}

/** The viewer as GET /viewers names it: its control connection's address and port. */
function clientOf(peer: RtspPeer): string {
  return peer.remotePort === undefined ? peer.remoteAddress : `${peer.remoteAddress}:${peer.remotePort}`;
}

/** Whether the frame (its RTP packets) is the viewer's last frame or older: same SSRC, timestamp not after. */
function alreadyHas(frame: readonly Buffer[], last: LastFrame): boolean {
  const first = frame[0];
  if (first === undefined) return false;
  const rtp = decodeRtp(first);
  if (!rtp.ok || rtp.value.ssrc !== last.ssrc) return false;
  return (last.rtptime - rtp.value.timestamp) >>> 0 < 0x8000_0000;
}

function statusForReport(verdict: ReportVerdict): number {
  switch (verdict) {
    case 'accepted':
      return 200;
    case 'unknown':
      return 455; // not playing (yet)
    case 'limited':
      return 503;
    case 'oversize':
      return 413;
    case 'unsupported':
      return 451;
    case 'malformed':
      return 400;
  }
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
