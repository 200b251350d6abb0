/**
 * The media side of one RTSP session: RTP while playing (through the bounded send queue when
 * interleaved on TCP), retransmissions within a budget, RTCP sender reports. Every send is
 * isolated: a send that throws, or keeps failing later, closes this viewer and nobody else
 * notices; so does a TCP viewer that stays stuck over its queue limit.
 */
import { RateWindow } from '../../common/core/rate-window.ts';
import { MAX_NACKED_PACKETS } from '../../common/wire/rtcp.ts';
import { RTP_HEADER_BYTES, rtpMarker, rtpSsrc, rtpTimestamp } from '../../common/wire/rtp.ts';
import { RTP_JPEG_CLOCK_RATE } from '../../common/wire/rtp-jpeg.ts';
import type { Clock } from '../../common/core/clock.ts';
import { encodeRtcp, ntpFromUnixMs } from '../../common/wire/rtcp.ts';
import type { Delivery, RtspPeer, SendCallback, SendTarget } from './rtsp-delivery.ts';
import { FrameGate } from './rtsp-send-gate.ts';

/** Retransmitted packets per viewer per second, whatever NACKs ask: a spoofed NACK must not amplify. */
export const MAX_RETRANSMITS_PER_SEC = 128;
/**
 * One send in this many asks for its outcome. Errors reported later (EPERM, ENETUNREACH, EMSGSIZE)
 * belong to the destination and show on any send; a callback on every one would cost a call into
 * JavaScript per packet whenever the socket queues.
 */
export const SEND_CHECK_INTERVAL = 16;
/**
 * Checked sends failed in a row before a viewer is closed (one may be a passing ENOBUFS); a throw closes it at
 * once.
 */
export const MAX_SEND_FAILURES = 8;

export interface ViewerDeps {
  readonly clock: Clock;
  /** May throw: only this viewer is closed. `sent`, when given, hears how a later-completing send went. */
  sendRtp(target: SendTarget, rtp: Buffer, sent?: SendCallback): void;
  sendRtcp(target: SendTarget, rtcp: Buffer, sent?: SendCallback): void;
  /** Bytes still waiting to be written on a control connection (what its TCP viewers have queued). */
  queuedBytes(peer: RtspPeer): number;
  /** Ends a control connection whose viewer stopped reading. */
  closeConnection(peer: RtspPeer): void;
  /** Wall clock for RTCP's NTP timestamps (ms since 1970). */
  wallClockMs(): number;
  /** Cached packets of a movie's stream, for retransmission. */
  repair(movie: string, ssrc: number, seqs: readonly number[]): Buffer[];
}

/** Shared by every viewer of a POP (RtspCounters holds them). */
export interface ViewerCounters {
  sendErrors: number;
  packetsDropped: number;
  framesDropped: number;
  /** Closed because their sends failed. */
  sessionsFailed: number;
  /** TCP viewers closed after staying over their send queue limit. */
  sessionsStuck: number;
  retransmitted: number;
  retransmitsLimited: number;
}

export class Viewer implements SendTarget {
  playing = false;
  /** Failed or stuck: no more sends, `close` runs on the next turn. */
  closing = false;
  packets = 0;
  octets = 0;
  retransmitted = 0;
  /** TCP interleaved only: the bounded send queue. */
  private readonly gate: FrameGate | null;
  /** The last RTP packet's SSRC: the SR's. */
  private lastSsrc: number | null = null;
  /**
   * The SR's clock: an RTP timestamp and when it was current, and the least (timestamp − arrival
   * in ticks) since, relative to them. The least, not the last: H.264 packets leave in decode
   * order with presentation timestamps, up to a few frames ahead, and AAC's do not, so the least
   * is what keeps both tracks' reports on one wall clock (lip sync).
   */
  private anchorTimestamp = 0;
  private anchorAt = 0;
  private leastOffset = Number.POSITIVE_INFINITY;
  private readonly retransmits = new RateWindow(MAX_RETRANSMITS_PER_SEC);
  private failures = 0;
  private sends = 0;
  private readonly checked: SendCallback = (err) => this.onSent(err);

  constructor(
    readonly peer: RtspPeer,
    readonly delivery: Delivery,
    private readonly movie: string,
    private readonly deps: ViewerDeps,
    private readonly counters: ViewerCounters,
    /** Removes the session; called at most once, never from inside a send. */
    private readonly close: () => void,
    /** The stream's RTP clock (SR timestamps): 90 kHz for JPEG and H.264, the sampling rate for AAC. */
    private readonly clockRate = RTP_JPEG_CLOCK_RATE,
    /**
     * H.264: where a viewer may start (a keyframe's first packet). Until one is delivered, other
     * packets are held back, so the player's first picture decodes whole.
     */
    private readonly startsAt: ((rtp: Buffer) => boolean) | null = null,
    /** A sender report right after a source's first packet: players sync several tracks by them. */
    private readonly reportAtStart = false,
  ) {
    this.gate = delivery.kind === 'tcp' ? new FrameGate() : null;
    this.started = startsAt === null;
  }

  /** False until a packet where the stream may start was delivered (always true without startsAt). */
  private started: boolean;

  get packetsDropped(): number {
    return this.gate?.packetsDropped ?? 0;
  }

  get framesDropped(): number {
    return this.gate?.framesDropped ?? 0;
  }

  /** A packet of the live stream, or (`replay`) of the fast-start frame or group of pictures. */
  deliver(rtp: Buffer, replay = false): void {
    if (!this.playing || this.closing || rtp.length < RTP_HEADER_BYTES) return;
    if (!this.started) {
      if (!this.startsAt?.(rtp)) return;
      this.started = true;
    }
    const now = this.deps.clock.now();
    if (this.gate !== null) {
      const framesBefore = this.gate.framesDropped;
      const decision = this.gate.decide(this.deps.queuedBytes(this.peer), rtpMarker(rtp), now);
      this.counters.framesDropped += this.gate.framesDropped - framesBefore;
      if (decision !== 'send') {
        this.counters.packetsDropped++;
        if (decision === 'stuck') this.stuck();
        return;
      }
    }
    this.packets++;
    this.octets += rtp.length - RTP_HEADER_BYTES;
    this.send('rtp', rtp);
    if (!replay) this.clockFrom(rtp, now);
  }

  /**
   * Before a replay (the POP's cached group of pictures): its first packet times the reports, as
   * if it were live now. Players then show the replayed keyframe at once and play on from it
   * (ffmpeg dropped the B-frames of a replay timed by its newest packet, as already past).
   */
  startClock(first: Buffer): void {
    if (!this.playing || this.closing || first.length < RTP_HEADER_BYTES || rtpSsrc(first) === this.lastSsrc) return;
    this.clockFrom(first, this.deps.clock.now());
  }

  /** A live packet times the reports (rather than a replayed one, sent later than its timestamp says). */
  private clockFrom(rtp: Buffer, now: number): void {
    const ssrc = rtpSsrc(rtp);
    const timestamp = rtpTimestamp(rtp);
    if (ssrc !== this.lastSsrc) {
      this.lastSsrc = ssrc;
      this.anchorTimestamp = timestamp;
      this.anchorAt = now;
      this.leastOffset = 0;
      // A new source's first report at once: players that sync tracks by SR (ffmpeg) would
      // otherwise time the first seconds by arrival and step when the first report came.
      if (this.reportAtStart) {
        const { ntpSec, ntpFrac } = ntpFromUnixMs(this.deps.wallClockMs());
        this.report(now, ntpSec, ntpFrac);
      }
      return;
    }
    const offset = ((timestamp - this.anchorTimestamp) | 0) - (now - this.anchorAt) * (this.clockRate / 1000);
    if (offset < this.leastOffset) this.leastOffset = offset;
  }

  /** Resends what a NACK asks for, within the retransmission budget and the send queue. */
  retransmit(ssrc: number, lost: readonly number[]): void {
    if (!this.playing || this.closing) return;
    const now = this.deps.clock.now();
    const budget = Math.min(MAX_NACKED_PACKETS, this.retransmits.remaining(now));
    // Sliced before deduplicating, so a huge list costs no more than a short one.
    const wanted = [...new Set(lost.slice(0, MAX_NACKED_PACKETS))];
    if (wanted.length > budget) this.counters.retransmitsLimited += wanted.length - budget;
    if (budget === 0 || !this.hasRoom()) return;
    const asked = wanted.slice(0, budget);
    const resend = this.deps.repair(this.movie, ssrc, asked);
    for (const rtp of resend) this.send('rtp', rtp);
    // Charged for what was asked, found or not: what the POP lacks it asks upstream for, which is
    // the costlier part, so asking for packets nobody has must spend the budget too.
    this.retransmits.spend(now, asked.length);
    this.retransmitted += resend.length;
    this.counters.retransmitted += resend.length;
  }

  /** An RFC 3550 sender report, so players can sync and measure. */
  report(now: number, ntpSec: number, ntpFrac: number): void {
    if (!this.playing || this.closing || this.lastSsrc === null || !this.hasRoom()) return;
    const offset = Number.isFinite(this.leastOffset) ? this.leastOffset : 0;
    const rtpTimestamp =
      (this.anchorTimestamp + Math.round(offset + (now - this.anchorAt) * (this.clockRate / 1000))) >>> 0;
    // The next report measures from this one.
    this.anchorTimestamp = rtpTimestamp;
    this.anchorAt = now;
    this.leastOffset = Number.POSITIVE_INFINITY;
    const sr = encodeRtcp([
      {
        type: 'sr',
        ssrc: this.lastSsrc,
        ntpSec,
        ntpFrac,
        rtpTimestamp,
        packetCount: this.packets >>> 0,
        octetCount: this.octets >>> 0,
        reports: [],
      },
      { type: 'sdes', chunks: [{ ssrc: this.lastSsrc, cname: 'onode', items: [] }] },
    ]);
    this.send('rtcp', sr);
  }

  /** Stops sending now and closes the session on the next turn (we may be inside the tree's delivery loop). */
  fail(why: 'failed' | 'stuck'): void {
    if (this.closing) return;
    this.closing = true;
    if (why === 'failed') this.counters.sessionsFailed++;
    else this.counters.sessionsStuck++;
    this.deps.clock.setTimer(0, this.close);
  }

  private hasRoom(): boolean {
    return this.gate === null || FrameGate.hasRoom(this.deps.queuedBytes(this.peer));
  }

  private send(kind: 'rtp' | 'rtcp', buf: Buffer): void {
    const sent = this.sends++ % SEND_CHECK_INTERVAL === 0 ? this.checked : undefined;
    try {
      if (kind === 'rtp') this.deps.sendRtp(this, buf, sent);
      else this.deps.sendRtcp(this, buf, sent);
    } catch {
      this.counters.sendErrors++;
      this.fail('failed');
    }
  }

  private onSent(err: Error | null): void {
    if (err === null) {
      this.failures = 0;
      return;
    }
    this.counters.sendErrors++;
    if (++this.failures >= MAX_SEND_FAILURES) this.fail('failed');
  }

  private stuck(): void {
    try {
      this.deps.closeConnection(this.peer);
    } catch {
      // The connection is going anyway; the session closes below.
    }
    this.fail('stuck');
  }
}
