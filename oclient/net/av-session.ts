/**
 * One RTSP session with a POP for an H.264 (+ AAC) movie: DESCRIBE, SETUP of each track in one
 * session (UDP: a port pair per track; TCP: interleaved channels 0-1 for video, 2-3 for audio),
 * PLAY, keep-alives, TEARDOWN. Each track's RTP goes through the signature check
 * (oclient/core/av-packet-gate.ts) into the AvReceiver, its RTCP sender reports sync the tracks,
 * and what goes missing is asked for again per track (RTCP NACK to that track's SSRC).
 * The MJPEG path is PlaySession (play-session.ts); this one shares its options and refusals.
 */
import type { Socket } from 'node:dgram';
import { SystemClock } from '../../common/core/clock.ts';
import { TypedEmitter } from '../../common/core/typed-emitter.ts';
import type { AvTrackKind } from '../../common/media/av-rtp-plan.ts';
import { bindRtpPortPair } from '../../common/net/rtp-port-pair.ts';
import { decodeRtcp, encodeRtcp, MAX_NACKED_PACKETS, type RtcpPacket } from '../../common/wire/rtcp.ts';
import { rtpSsrc, RTP_HEADER_BYTES } from '../../common/wire/rtp.ts';
import { header, type RtspResponse } from '../../common/wire/rtsp.ts';
import { parseTransport } from '../../common/wire/rtsp-headers.ts';
import { AvPacketGate } from '../core/av-packet-gate.ts';
import { AvReceiver, AvSdpError, type AvTrackCounters, type AvUnit } from '../core/av-receiver.ts';
import { ntpToMs } from '../core/av-timeline.ts';
import { PlayRefused, type SessionOptions } from './play-session.ts';
import { RtspClient, RtspClientError } from './rtsp-client.ts';
import { DEFAULT_REPORT_INTERVAL_MS, StatsReporter } from './stats-reporter.ts';
import { whileAlive } from './while-alive.ts';
import { VIEWER_REPORT_VERSION, type ViewerReport } from '../../common/wire/viewer-report.ts';

const KEEPALIVE_MS = 20_000;
const SETUP_TIMEOUT_MS = 10_000;
const RECEIVER_REPORT_MS = 2000;
const TICK_MS = 20;
const TRACKS: readonly AvTrackKind[] = ['video', 'audio'];

export interface AvSessionOptions extends Omit<SessionOptions, 'lastShown' | 'playback'> {
  /** The client's failovers so far (for the playback reports to the POP). */
  readonly failovers?: () => number;
}

/** One track's figures: the receiver's counters and the signature check's. */
export interface AvTrackStats extends AvTrackCounters {
  /** Packets dropped by the signature check (failed under a known key, or never vouched for). */
  rejected: number;
  unverified: number;
}

export interface AvSessionStats {
  readonly tracks: { readonly video?: AvTrackStats; readonly audio?: AvTrackStats };
  readonly verifying: boolean;
  /** SETUP sent → first unit, ms. */
  readonly startupMs: number | null;
  readonly bytesReceived: number;
  readonly nacksSent: number;
  readonly state: 'init' | 'ready' | 'playing' | 'paused' | 'closed';
}

export interface AvSessionEvents {
  /** A complete, verified unit of a track, in decode order; `ssrc`: the RTP stream it came in. */
  unit: [unit: AvUnit, ssrc: number];
  close: [why: string];
}

interface TrackLink {
  rtp: Socket | null;
  rtcp: Socket | null;
  /** The POP's RTCP address for this track (UDP), from SETUP's server_port. */
  serverRtcp: { address: string; port: number } | null;
  /** Where the POP sends this track's RTP from; null until its SETUP is answered. */
  source: { address: string; port: number | null } | null;
  /** The SSRC of the packets last offered: the stream the receiver's units come from. */
  ssrc: number;
  /** TCP: the interleaved channel of its RTP (RTCP on the next). */
  channel: number;
}

export class AvSession {
  readonly events = new TypedEmitter<AvSessionEvents>((err, event) =>
    process.emitWarning(`oclient: a '${String(event)}' listener threw: ${(err as Error).stack ?? String(err)}`),
  );
  private readonly url: string;
  private client: RtspClient | null = null;
  private offClientClose: () => void = () => {};
  private rx: AvReceiver | null = null;
  private gate: AvPacketGate | null = null;
  private readonly links: Record<AvTrackKind, TrackLink> = {
    video: { rtp: null, rtcp: null, serverRtcp: null, source: null, ssrc: 0, channel: 0 },
    audio: { rtp: null, rtcp: null, serverRtcp: null, source: null, ssrc: 0, channel: 0 },
  };
  private timers: NodeJS.Timeout[] = [];
  private state: AvSessionStats['state'] = 'init';
  private setupAt = 0;
  private firstUnitAt: number | null = null;
  private bytes = 0;
  private readonly ssrc = (Math.random() * 0x1_0000_0000) >>> 0;
  /** UDP datagrams from anyone but the POP: dropped. */
  strangerPackets = 0;
  nacksSent = 0;
  private reporter: StatsReporter | null = null;
  /** Video units' arrival over the last second, and the longest time between two (ms). */
  private readonly recentUnits: number[] = [];
  private lastUnitAt: number | null = null;
  private longestStall = 0;

  constructor(private readonly opts: AvSessionOptions) {
    this.url = `rtsp://${opts.popAddress}:${opts.rtspPort}/${encodeURIComponent(opts.movie)}`;
  }

  get rtspUrl(): string {
    return this.url;
  }

  /** The tracks the POP described (after setup()). */
  get receiver(): AvReceiver | null {
    return this.rx;
  }

  /** DESCRIBE, then SETUP of every track the description has. @throws PlayRefused, RtspClientError */
  async setup(): Promise<void> {
    const o = this.opts;
    const client = await RtspClient.open(o.popAddress, o.rtspPort, o.localAddress);
    this.client = client;
    this.offClientClose = client.events.on('close', () => this.closed('the POP closed the RTSP connection'));
    this.setupAt = performance.now();
    const described = await client.request('DESCRIBE', this.url, { Accept: 'application/sdp' });
    if (described.status !== 200) throw refusal(`the POP refused ${o.movie}`, described);
    const rx = this.newReceiver(described.body.toString('utf8'));
    const tracks = TRACKS.filter((t) => rx.tracks[t] !== undefined);
    for (const [i, track] of tracks.entries()) await this.setupTrack(track, rx.tracks[track]?.control ?? '', i);
    this.state = 'ready';
    const every = (ms: number, fn: () => void) => this.timers.push(setInterval(fn, ms));
    every(RECEIVER_REPORT_MS, () => {
      for (const t of tracks) this.sendRtcp(t, [{ type: 'rr', ssrc: this.ssrc, reports: [] }]);
    });
    every(o.keepaliveMs ?? KEEPALIVE_MS, () => {
      client
        .request('GET_PARAMETER', this.url)
        .then((r) => {
          if (r.status >= 500) this.closed(`the POP answered a keep-alive with ${r.status} ${r.reason}`);
        })
        .catch(() => {});
    });
    every(TICK_MS, () => this.rx?.tick(performance.now()));
    this.reporter = new StatsReporter(
      (type, body) =>
        client.request('SET_PARAMETER', this.url, { 'Content-Type': type }, 5000, body).then((r) => r.status),
      () => this.viewerReport(),
      o.reportIntervalMs ?? DEFAULT_REPORT_INTERVAL_MS,
    );
  }

  /** Whether playback reports are going to the POP. */
  get reporting(): boolean {
    return this.reporter?.reporting ?? false;
  }

  /** This session's report to the POP (common/wire/viewer-report.ts): video units as frames. */
  private viewerReport(): ViewerReport {
    const s = this.stats();
    const now = performance.now();
    while ((this.recentUnits[0] ?? now) < now - 1000) this.recentUnits.shift();
    const ongoing = this.state === 'playing' && this.lastUnitAt !== null ? now - this.lastUnitAt : 0;
    return {
      v: VIEWER_REPORT_VERSION,
      startupMs: s.startupMs,
      fps: this.recentUnits.length,
      bitrateKbps: 0,
      framesReceived: s.tracks.video?.units ?? 0,
      framesLost: s.tracks.video?.lost ?? 0,
      packetsReceived: (s.tracks.video?.packets ?? 0) + (s.tracks.audio?.packets ?? 0),
      packetsLost: 0,
      jitterMs: 0,
      longestStallMs: Math.round(Math.max(this.longestStall, ongoing)),
      failovers: this.opts.failovers?.() ?? 0,
    };
  }

  async play(): Promise<void> {
    const client = this.client;
    if (client === null) throw new RtspClientError('PLAY before SETUP');
    const res = await this.alive('PLAY', client.request('PLAY', this.url, { Range: 'npt=now-' }));
    if (res.status !== 200) throw new PlayRefused(`PLAY refused: ${res.status} ${res.reason}`, res.status, null);
    this.state = 'playing';
    if (this.lastUnitAt !== null) this.lastUnitAt = performance.now(); // a pause is no stall
    this.reporter?.start();
  }

  async pause(): Promise<void> {
    const res = await this.client?.request('PAUSE', this.url);
    if (res === undefined) throw new RtspClientError('PAUSE before SETUP');
    if (res.status !== 200) throw new PlayRefused(`PAUSE refused: ${res.status} ${res.reason}`, res.status, null);
    this.state = 'paused';
    this.reporter?.stop();
  }

  async teardown(): Promise<void> {
    if (this.client !== null && this.state !== 'closed' && this.state !== 'init') {
      await this.client.request('TEARDOWN', this.url, {}, 2000).catch(() => undefined);
    }
    this.close();
  }

  close(): void {
    if (this.state !== 'closed') this.rx?.flush();
    this.state = 'closed';
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.reporter?.stop();
    this.gate?.stop();
    if (this.client) {
      this.offClientClose();
      this.client.close();
    }
    for (const l of Object.values(this.links)) {
      l.rtp?.close();
      l.rtcp?.close();
      l.rtp = l.rtcp = null;
    }
  }

  stats(): AvSessionStats {
    const rx = this.rx;
    const gate = this.gate;
    const tracks: { video?: AvTrackStats; audio?: AvTrackStats } = {};
    if (rx !== null && gate !== null) {
      for (const t of TRACKS) {
        if (rx.tracks[t] === undefined) continue;
        const g = gate.counters(t);
        tracks[t] = { ...rx.counters[t], rejected: g.rejected + g.malformed, unverified: g.unverified };
      }
    }
    return {
      tracks,
      verifying: gate?.verifying ?? false,
      startupMs: this.firstUnitAt === null ? null : Math.round((this.firstUnitAt - this.setupAt) * 10) / 10,
      bytesReceived: this.bytes,
      nacksSent: this.nacksSent,
      state: this.state,
    };
  }

  private newReceiver(sdp: string): AvReceiver {
    let rx: AvReceiver;
    try {
      rx = new AvReceiver(sdp, { holdMs: this.opts.jitterBufferMs });
    } catch (err) {
      if (err instanceof AvSdpError) throw new PlayRefused(`${this.opts.movie}: ${err.message}`, 415, null);
      throw err;
    }
    rx.events.on('unit', (unit) => {
      const now = performance.now();
      this.firstUnitAt ??= now;
      if (unit.track === 'video') {
        if (this.lastUnitAt !== null) this.longestStall = Math.max(this.longestStall, now - this.lastUnitAt);
        this.lastUnitAt = now;
        this.recentUnits.push(now);
        while ((this.recentUnits[0] ?? now) < now - 1000) this.recentUnits.shift();
      }
      this.events.emit('unit', unit, this.links[unit.track].ssrc);
    });
    rx.events.on('missing', (track, ssrc, seqs) => {
      if (this.state !== 'playing') return;
      this.nacksSent++;
      this.sendRtcp(track, [
        { type: 'nack', senderSsrc: this.ssrc, mediaSsrc: ssrc, lost: seqs.slice(0, MAX_NACKED_PACKETS) },
      ]);
    });
    this.gate = new AvPacketGate({
      movie: this.opts.movie,
      keys: this.opts.keys ?? null,
      clock: new SystemClock(),
      pass: (track, rtp) => {
        this.links[track].ssrc = rtpSsrc(rtp);
        rx.offer(track, rtp, performance.now());
      },
      ...(this.opts.onUnknownKey ? { onUnknownKey: this.opts.onUnknownKey } : {}),
    });
    this.rx = rx;
    return rx;
  }

  private async setupTrack(track: AvTrackKind, control: string, index: number): Promise<void> {
    const o = this.opts;
    const client = this.client as RtspClient;
    const link = this.links[track];
    let transport: string;
    if ((o.transport ?? 'udp') === 'udp') {
      const pair = await bindRtpPortPair(o.localAddress);
      link.rtp = pair.rtp;
      link.rtcp = pair.rtcp;
      // Only the POP's own sockets (known once SETUP is answered) are listened to.
      const fromPop = (from: { address: string; port: number }, port: number | null | undefined) =>
        link.source !== null && from.address === link.source.address && (port == null || from.port === port);
      pair.rtp.on('message', (buf, from) => {
        if (fromPop(from, link.source?.port)) this.receive(track, buf);
        else this.strangerPackets++;
      });
      pair.rtcp.on('message', (buf, from) => {
        if (fromPop(from, link.serverRtcp?.port)) this.receiveRtcp(track, buf);
        else this.strangerPackets++;
      });
      transport = `RTP/AVP;unicast;client_port=${pair.rtp.address().port}-${pair.rtcp.address().port}`;
    } else {
      const channel = 2 * index;
      client.events.on('interleaved', (ch, payload) => {
        if (ch === channel) this.receive(track, payload);
        else if (ch === channel + 1) this.receiveRtcp(track, payload);
      });
      transport = `RTP/AVP/TCP;unicast;interleaved=${channel}-${channel + 1}`;
    }
    link.channel = 2 * index;
    const url = /^rtsp:\/\//i.test(control) ? control : `${this.url}/${control}`;
    const res = await this.alive('SETUP', client.request('SETUP', url, { Transport: transport }, SETUP_TIMEOUT_MS));
    if (res.status !== 200) throw refusal(`the POP refused ${o.movie} (${track})`, res);
    client.session ??= (header(res, 'session') ?? '').split(';')[0]?.trim() || null;
    const spec = parseTransport(header(res, 'transport') ?? '');
    const serverPort = spec.ok ? spec.value[0]?.serverPort : undefined;
    if (serverPort !== undefined) link.serverRtcp = { address: o.popAddress, port: serverPort[1] };
    link.source = { address: o.popAddress, port: serverPort?.[0] ?? null };
  }

  private receive(track: AvTrackKind, buf: Buffer): void {
    if (this.state === 'closed' || buf.length < RTP_HEADER_BYTES) return;
    this.bytes += buf.length;
    this.gate?.push(track, buf);
  }

  private receiveRtcp(track: AvTrackKind, buf: Buffer): void {
    const rtcp = decodeRtcp(buf);
    if (!rtcp.ok || this.rx === null) return;
    for (const p of rtcp.value) {
      if (p.type === 'sr') this.rx.senderReport(track, ntpToMs(p.ntpSec, p.ntpFrac), p.rtpTimestamp);
    }
  }

  private sendRtcp(track: AvTrackKind, packets: RtcpPacket[]): void {
    let buf: Buffer;
    try {
      buf = encodeRtcp(packets);
    } catch {
      return;
    }
    const link = this.links[track];
    if ((this.opts.transport ?? 'udp') === 'tcp') this.client?.sendInterleaved(link.channel + 1, buf);
    else if (link.serverRtcp !== null) link.rtcp?.send(buf, link.serverRtcp.port, link.serverRtcp.address);
  }

  private alive<T>(method: string, answer: Promise<T>): Promise<T> {
    const client = this.client;
    if (client === null) return answer;
    const o = this.opts;
    return whileAlive(
      { client, pop: o.popAddress, liveness: o.liveness, localAddress: o.localAddress },
      method,
      answer,
    );
  }

  private closed(why: string): void {
    if (this.state === 'closed') return;
    this.close();
    this.events.emit('close', why);
  }
}

function refusal(what: string, res: RtspResponse): PlayRefused {
  const detail = header(res, 'x-nak-detail');
  return new PlayRefused(
    `${what}: ${res.status} ${res.reason}${detail ? ` (${detail})` : ''}`,
    res.status,
    header(res, 'x-nak-reason') ?? null,
  );
}
