/**
 * One RTSP playback session with a POP: SETUP (RTP over UDP, or interleaved on the RTSP
 * connection), PLAY, PAUSE, TEARDOWN, keep-alives, and the receive path: RTP → reorder
 * (jitter) buffer → frame assembler → complete frames. Both the headless client and the
 * terminal UI drive it.
 */
import { TypedEmitter } from '../../common/core/typed-emitter.ts';
import type { Socket } from 'node:dgram';
import { bindRtpPortPair } from '../../common/net/rtp-port-pair.ts';
import type { JpegImage } from '../../common/media/jpeg.ts';
import { decodeRtp, type RtpPacket } from '../../common/wire/rtp.ts';
import { encodeRtcp, MAX_NACKED_PACKETS, type RtcpPacket } from '../../common/wire/rtcp.ts';
import { header } from '../../common/wire/rtsp.ts';
import { formatLastFrame, LAST_FRAME_HEADER, parseTransport } from '../../common/wire/rtsp-headers.ts';
import type { ServerKeyring } from '../../common/security/server-keyring.ts';
import { FrameAssembler } from '../core/frame-assembler.ts';
import { FrameVerifier } from '../core/frame-verifier.ts';
import type { TimelineCounts } from '../core/frame-timeline.ts';
import { DEFAULT_HOLD_MS, ReorderBuffer } from '../core/reorder-buffer.ts';
import { RtspClient, RtspClientError } from './rtsp-client.ts';
import { type PopLiveness, whileAlive } from './while-alive.ts';
import { STALL_FAILOVER_MS } from '../core/failover-policy.ts';
import { DEFAULT_REPORT_INTERVAL_MS, StatsReporter } from './stats-reporter.ts';
import { VIEWER_REPORT_VERSION, type ViewerReport } from '../../common/wire/viewer-report.ts';

export type TransportKind = 'udp' | 'tcp';

export interface SessionOptions {
  readonly popAddress: string;
  readonly rtspPort: number;
  readonly movie: string;
  readonly localAddress?: string;
  readonly transport?: TransportKind;
  /** How long a gap in the sequence may hold later packets (ms); default 200. */
  readonly jitterBufferMs?: number;
  /**
   * The servers' keys from the login: every frame must be signed by one of them for this movie,
   * or it is not shown (counted in framesRejected). Without (null or absent), frames are not checked.
   */
  readonly keys?: ServerKeyring | null;
  /** Called when a frame names a key `keys` lacks, so the caller can fetch the servers' keys again. */
  readonly onUnknownKey?: () => void;
  /** Playback reports to the POP (SET_PARAMETER) every this many ms while playing; default 2000, 0: none. */
  readonly reportIntervalMs?: number;
  /** The last frame the player has shown (any session): told the POP on PLAY so it does not resend it. */
  readonly lastShown?: () => FramePlace | null;
  /** RTSP keep-alive (GET_PARAMETER) interval, ms; default 20 s. */
  readonly keepaliveMs?: number;
  /** What the playback counted before this session (other POPs), for the reports. */
  readonly playback?: () => PlaybackSoFar;
  /** While SETUP and PLAY wait for their answers, ping the POP: silent for `silentMs`, it is given up. */
  readonly liveness?: PopLiveness;
}

export type { PopLiveness } from './while-alive.ts';

/** The client's figures beyond one session: failovers so far, and what earlier sessions counted. */
export interface PlaybackSoFar {
  readonly failovers: number;
  readonly earlier?: { readonly framesReceived: number; readonly framesLost: number };
  /** The timeline's counts over the whole playback (oclient/core/frame-timeline.ts). */
  readonly timeline?: TimelineCounts;
}

export interface SessionStats {
  framesReceived: number;
  framesLost: number;
  /** Complete frames not shown because their signature or hashes did not check out. */
  framesRejected: number;
  /** Whether frames are checked against the servers' keys at all. */
  verifying: boolean;
  packetsReceived: number;
  packetsLost: number;
  bytesReceived: number;
  /** SETUP sent → first complete frame, ms. */
  startupMs: number | null;
  /** RFC 3550 interarrival jitter, ms. */
  jitterMs: number;
  /** Over the last second. */
  fps: number;
  bitrateKbps: number;
  state: 'init' | 'ready' | 'playing' | 'paused' | 'closed';
}

/** The POP answered with an error status; `nakReason` when the overlay refused the movie. */
export class PlayRefused extends Error {
  override readonly name = 'PlayRefused';
  constructor(
    message: string,
    readonly status: number,
    readonly nakReason: string | null,
  ) {
    super(message);
  }
}

const KEEPALIVE_MS = 20_000;
/** The longest SETUP may wait for the POP's tree join; a POP that stops answering pings is left sooner. */
const SETUP_TIMEOUT_MS = 10_000;
/** Receiver reports keep the session alive at the POP between keep-alives. */
const RECEIVER_REPORT_MS = 2000;

/** The session's watch on the POP's pings (PlaySession's `liveness`), when the overlay port is known. */
export function livenessOf(
  o: { readonly overlayPort?: number; readonly stallTimeoutMs?: number; readonly answered?: readonly string[] },
  pop: string,
): { liveness?: PopLiveness } {
  if (o.overlayPort === undefined) return {};
  const silentMs = o.stallTimeoutMs ?? STALL_FAILOVER_MS;
  return { liveness: { overlayPort: o.overlayPort, silentMs, answersPings: o.answered?.includes(pop) ?? true } };
}

/** Where a frame sits on the stream's timeline (oclient/core/frame-timeline.ts). */
export interface FramePlace {
  readonly ssrc: number;
  readonly timestamp: number;
}

export interface SessionEvents {
  frame: [img: JpegImage, place: FramePlace];
  close: [why: string];
}

export class PlaySession {
  /** `frame`: a complete, verified frame in order; `close`: the session ended, and why. */
  // A listener that throws is a bug in the player: said on stderr, and the stream goes on.
  readonly events = new TypedEmitter<SessionEvents>((err, event) =>
    process.emitWarning(`oclient: a '${String(event)}' listener threw: ${(err as Error).stack ?? String(err)}`),
  );
  private readonly assembler: FrameAssembler;
  private readonly reorder: ReorderBuffer<{ readonly packet: RtpPacket; readonly raw: Buffer }>;
  private readonly verifier: FrameVerifier | null;
  private rtp: Socket | null = null;
  /** Stops hearing the RTSP connection's close: set once it is open, so close() is not reported as the POP's. */
  private offClientClose: () => void = () => {};
  private rtcp: Socket | null = null;
  private client: RtspClient | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private setupAt = 0;
  private firstFrameAt: number | null = null;
  /** The last frame's arrival, and the longest time between two (a stall), ms. */
  private lastFrameAt: number | null = null;
  private longestStall = 0;
  private reporter: StatsReporter | null = null;
  private bytes = 0;
  private readonly recentFrames: number[] = [];
  private readonly recentBytes: { at: number; n: number }[] = [];
  private state: SessionStats['state'] = 'init';
  private readonly url: string;
  private readonly ssrc = (Math.random() * 0x1_0000_0000) >>> 0;
  private mediaSsrc: number | null = null;
  private serverRtcp: { address: string; port: number } | null = null;
  /** Where the POP sends RTP from (its server_port when it said one); null until SETUP is answered. */
  private rtpSource: { address: string; port: number | null } | null = null;
  /** UDP datagrams on the RTP port from anyone else: dropped. */
  strangerPackets = 0;
  private reports: NodeJS.Timeout | null = null;
  nacksSent = 0;

  constructor(private readonly opts: SessionOptions) {
    this.url = `rtsp://${opts.popAddress}:${opts.rtspPort}/${encodeURIComponent(opts.movie)}`;
    const verifier = opts.keys ? new FrameVerifier(opts.movie, opts.keys) : null;
    if (verifier !== null && opts.onUnknownKey) verifier.events.on('unknown-key', opts.onUnknownKey);
    this.verifier = verifier;
    this.assembler = new FrameAssembler(
      (img, timestamp, ssrc) => {
        const now = performance.now();
        this.firstFrameAt ??= now;
        if (this.lastFrameAt !== null) this.longestStall = Math.max(this.longestStall, now - this.lastFrameAt);
        this.lastFrameAt = now;
        this.recentFrames.push(now);
        while ((this.recentFrames[0] ?? now) < now - 1000) this.recentFrames.shift();
        this.events.emit('frame', img, { ssrc, timestamp });
      },
      undefined,
      verifier === null ? null : (packets) => verifier.check(packets),
    );
    this.reorder = new ReorderBuffer<{ readonly packet: RtpPacket; readonly raw: Buffer }>(
      (_, p) => this.assembler.pushPacket(p.packet, performance.now(), p.raw),
      opts.jitterBufferMs ?? DEFAULT_HOLD_MS,
    );
    // Ask the POP to resend what went missing (RFC 4585 generic NACK); the hold gives it time to arrive.
    this.reorder.events.on('missing', (seqs) => {
      if (this.mediaSsrc === null || this.state !== 'playing') return;
      this.nacksSent++;
      this.sendRtcp([
        { type: 'nack', senderSsrc: this.ssrc, mediaSsrc: this.mediaSsrc, lost: seqs.slice(0, MAX_NACKED_PACKETS) },
      ]);
    });
  }

  get rtspUrl(): string {
    return this.url;
  }

  async setup(): Promise<void> {
    const o = this.opts;
    this.client = await RtspClient.open(o.popAddress, o.rtspPort, o.localAddress);
    this.offClientClose = this.client.events.on('close', () => this.closed('the POP closed the RTSP connection'));
    let transport: string;
    if ((o.transport ?? 'udp') === 'udp') {
      // POPs require RTP on an even port and RTCP on the next one.
      const pair = await bindRtpPortPair(o.localAddress);
      this.rtp = pair.rtp;
      this.rtcp = pair.rtcp;
      pair.rtp.on('message', (buf, from) => {
        // Only the POP's own RTP socket (known once SETUP is answered) is listened to: a port anyone
        // can send to must not let strangers disturb the picture or the key refreshes.
        const src = this.rtpSource;
        if (src !== null && from.address === src.address && (src.port === null || from.port === src.port)) {
          this.receive(buf);
        } else {
          this.strangerPackets++;
        }
      });
      transport = `RTP/AVP;unicast;client_port=${pair.rtp.address().port}-${pair.rtcp.address().port}`;
    } else {
      this.client.events.on('interleaved', (channel, payload) => {
        if (channel === 0) this.receive(payload);
      });
      transport = 'RTP/AVP/TCP;unicast;interleaved=0-1';
    }
    this.setupAt = performance.now();
    const res = await this.whileAlive(
      'SETUP',
      this.client.request('SETUP', `${this.url}/trackID=0`, { Transport: transport }, SETUP_TIMEOUT_MS),
    );
    if (res.status !== 200) {
      const detail = header(res, 'x-nak-detail');
      throw new PlayRefused(
        `the POP refused ${o.movie}: ${res.status} ${res.reason}${detail ? ` (${detail})` : ''}`,
        res.status,
        header(res, 'x-nak-reason') ?? null,
      );
    }
    this.client.session = (header(res, 'session') ?? '').split(';')[0]?.trim() || null;
    const spec = parseTransport(header(res, 'transport') ?? '');
    const serverPort = spec.ok ? spec.value[0]?.serverPort : undefined;
    if (serverPort !== undefined) this.serverRtcp = { address: o.popAddress, port: serverPort[1] };
    this.rtpSource = { address: o.popAddress, port: serverPort?.[0] ?? null };
    this.state = 'ready';
    this.reports = setInterval(() => this.sendRtcp([{ type: 'rr', ssrc: this.ssrc, reports: [] }]), RECEIVER_REPORT_MS);
    this.keepalive = setInterval(() => {
      this.client
        ?.request('GET_PARAMETER', this.url)
        // A server error mid-session: the POP is failing, so the player moves on (a close like any other).
        .then((r) => {
          if (r.status >= 500) this.closed(`the POP answered a keep-alive with ${r.status} ${r.reason}`);
        })
        .catch(() => {});
    }, o.keepaliveMs ?? KEEPALIVE_MS);
    this.ticker = setInterval(() => this.reorder.tick(performance.now()), 20);
    const client = this.client;
    this.reporter = new StatsReporter(
      (type, body) =>
        client.request('SET_PARAMETER', this.url, { 'Content-Type': type }, 5000, body).then((r) => r.status),
      () => this.viewerReport(),
      o.reportIntervalMs ?? DEFAULT_REPORT_INTERVAL_MS,
    );
  }

  async play(): Promise<void> {
    const last = this.opts.lastShown?.() ?? null;
    const headers: Record<string, string> = { Range: 'npt=now-' };
    if (last !== null) headers[LAST_FRAME_HEADER] = formatLastFrame({ ssrc: last.ssrc, rtptime: last.timestamp });
    await this.control('PLAY', headers);
    this.state = 'playing';
    // A pause is no stall: the gap is measured from PLAY on.
    if (this.lastFrameAt !== null) this.lastFrameAt = performance.now();
    this.reporter?.start();
  }

  async pause(): Promise<void> {
    await this.control('PAUSE');
    this.state = 'paused';
    this.reporter?.stop();
  }

  /** Whether playback reports are going to the POP (off, or refused by an older POP: false). */
  get reporting(): boolean {
    return this.reporter?.reporting ?? false;
  }

  /** The longest time without a frame since the first, ms, counting one going on now while playing. */
  longestStallMs(): number {
    const last = this.lastFrameAt;
    const now = this.state === 'playing' && last !== null ? performance.now() - last : 0;
    return Math.round(Math.max(this.longestStall, now));
  }

  /** This session's report to the POP (common/wire/viewer-report.ts). */
  private viewerReport(): ViewerReport {
    const s = this.stats();
    const before = this.opts.playback?.();
    const earlier = before?.earlier;
    return {
      v: VIEWER_REPORT_VERSION,
      startupMs: s.startupMs,
      fps: s.fps,
      bitrateKbps: s.bitrateKbps,
      framesReceived: s.framesReceived,
      framesLost: s.framesLost,
      packetsReceived: s.packetsReceived,
      packetsLost: s.packetsLost,
      jitterMs: Math.max(0, s.jitterMs),
      longestStallMs: this.longestStallMs(),
      failovers: before?.failovers ?? 0,
      ...(before?.timeline ?? {}),
      ...(earlier === undefined
        ? {}
        : {
            total: {
              framesReceived: earlier.framesReceived + s.framesReceived,
              framesLost: earlier.framesLost + s.framesLost,
            },
          }),
    };
  }

  /** Ends the session at the POP (which prunes the branch if it was the last viewer) and releases everything. */
  async teardown(): Promise<void> {
    if (this.client !== null && this.state !== 'closed' && this.state !== 'init') {
      await this.client.request('TEARDOWN', this.url, {}, 2000).catch(() => undefined);
    }
    this.close();
  }

  close(): void {
    this.state = 'closed';
    if (this.keepalive) clearInterval(this.keepalive);
    if (this.ticker) clearInterval(this.ticker);
    if (this.reports) clearInterval(this.reports);
    this.reporter?.stop();
    this.keepalive = this.ticker = this.reports = null;
    if (this.client) {
      this.offClientClose();
      this.client.close();
    }
    this.rtp?.close();
    this.rtcp?.close();
    this.rtp = this.rtcp = null;
  }

  stats(): SessionStats {
    const now = performance.now();
    while (this.recentFrames.length > 0 && (this.recentFrames[0] ?? 0) < now - 1000) this.recentFrames.shift();
    while (this.recentBytes.length > 0 && (this.recentBytes[0]?.at ?? 0) < now - 1000) this.recentBytes.shift();
    const s = this.assembler.stats;
    return {
      framesReceived: s.framesReceived,
      framesLost: s.framesLost,
      framesRejected: s.framesRejected,
      verifying: this.verifier !== null,
      packetsReceived: s.packetsReceived,
      packetsLost: s.packetsLost,
      bytesReceived: this.bytes,
      startupMs: this.firstFrameAt === null ? null : Math.round((this.firstFrameAt - this.setupAt) * 10) / 10,
      jitterMs: Math.round((s.jitter / 90) * 100) / 100,
      fps: this.recentFrames.length,
      bitrateKbps: Math.round((this.recentBytes.reduce((a, b) => a + b.n, 0) * 8) / 1000),
      state: this.state,
    };
  }

  private async control(method: string, headers: Record<string, string> = {}): Promise<void> {
    if (this.client === null) throw new RtspClientError(`${method} before SETUP`);
    const answer = this.client.request(method, this.url, headers);
    const res = method === 'PLAY' ? await this.whileAlive(method, answer) : await answer;
    if (res.status !== 200) throw new PlayRefused(`${method} refused: ${res.status} ${res.reason}`, res.status, null);
  }

  /** Waits for `answer`, giving up on the POP (RtspClientError) if it stops answering pings meanwhile. */
  private async whileAlive<T>(method: string, answer: Promise<T>): Promise<T> {
    const client = this.client;
    if (client === null) return answer;
    const o = this.opts;
    return whileAlive(
      { client, pop: o.popAddress, liveness: o.liveness, localAddress: o.localAddress },
      method,
      answer,
    );
  }

  private receive(buf: Buffer): void {
    if (this.state === 'closed') return;
    this.bytes += buf.length;
    const now = performance.now();
    this.recentBytes.push({ at: now, n: buf.length });
    while ((this.recentBytes[0]?.at ?? now) < now - 1000) this.recentBytes.shift();
    const rtp = decodeRtp(buf);
    if (!rtp.ok) {
      this.assembler.push(buf, performance.now()); // counted as malformed there
      return;
    }
    // Another server took over (a failover): its sequence numbers are unrelated, so start over.
    if (this.mediaSsrc !== null && rtp.value.ssrc !== this.mediaSsrc) this.reorder.reset();
    this.mediaSsrc = rtp.value.ssrc;
    this.reorder.push(rtp.value.sequenceNumber, { packet: rtp.value, raw: buf }, performance.now());
  }

  private sendRtcp(packets: RtcpPacket[]): void {
    let buf: Buffer;
    try {
      buf = encodeRtcp(packets);
    } catch {
      return;
    }
    if ((this.opts.transport ?? 'udp') === 'tcp') this.client?.sendInterleaved(1, buf);
    else if (this.serverRtcp !== null) this.rtcp?.send(buf, this.serverRtcp.port, this.serverRtcp.address);
  }

  private closed(why: string): void {
    if (this.state === 'closed') return;
    this.close();
    this.events.emit('close', why);
  }
}
