/**
 * A server's live channel for one stream: from its first viewer it emits the movie's frames as
 * RTP/JPEG (or an H.264 or AAC track's units), looping at the end, on the movie's shared
 * timeline (channel-timeline.ts): frame n leaves at reference time n · period, with the same
 * sequence numbers and timestamp on every server of the movie. Timers run on the server's own
 * clock; `reference` converts it to the shared one (the server's synchronised estimate of the
 * bootstrapper's clock).
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import { encodeRtp, type RtpPacket } from '../../common/wire/rtp.ts';
import { RTP_JPEG_PAYLOAD_TYPE } from '../../common/wire/rtp-jpeg.ts';
import { type ChannelIdentity, type ChannelMovie, ChannelTimeline } from './channel-timeline.ts';

export type { ChannelMovie, FramePayloads } from './channel-timeline.ts';

/**
 * Encodes one frame's packets with the server's signature (FrameSigner.signFrame): packets get
 * their sequence numbers and timestamp only when sent, so frames are signed then.
 */
export type FrameSigning = (movie: string, packets: readonly RtpPacket[]) => Buffer[];

/** The shared clock, in ms: every server's estimate of the same reference. */
export type ReferenceTime = () => number;

/** If the process stalls longer than this, skip ahead instead of bursting the backlog. */
const MAX_CATCH_UP_MS = 500;
/**
 * How far back a starting H.264 channel looks for a keyframe to send from (its first burst): a
 * group of pictures is usually 1-2 s; a file with rarer keyframes starts at the current unit.
 */
export const MAX_START_BURST_MS = 2000;
/** How far back the channel sends frames again (repairs of what a failed server or path lost). */
export const RESEND_SPAN_MS = 4000;

export class MovieChannel {
  private timer: Timer | null = null;
  /** The newest frame sent (null before the first). */
  private lastTick: number | null = null;
  private readonly timeline: ChannelTimeline;
  framesSent = 0;
  packetsSent = 0;

  constructor(
    private readonly clock: Clock,
    readonly movie: ChannelMovie,
    private readonly emit: (rtp: Buffer) => void,
    /** The shared clock; by default this server's own (unsynchronised servers still run a timeline). */
    private readonly reference: ReferenceTime = () => clock.now(),
    /** Unsigned packets when null (simulations and tests that do not need signatures). */
    private readonly sign: FrameSigning | null = null,
    identity?: ChannelIdentity,
  ) {
    this.timeline = new ChannelTimeline(movie, identity);
  }

  get ssrc(): number {
    return this.timeline.identity.ssrc;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /**
   * Starts at the timeline's current frame, sent at once (a first viewer need not wait a period);
   * an H.264 stream from its last keyframe up to now, so the first picture decodes at once.
   */
  start(): void {
    if (this.timer !== null) return;
    const now = this.timeline.tickAt(this.reference());
    // Never a frame twice, even if the reference stepped back while stopped; but an H.264
    // stream's group of pictures again (a restart soon after a stop: the new viewer needs its
    // keyframe, and what downstream already has its caches drop as duplicates).
    const keyframe = this.timeline.startOf(now, Math.ceil(MAX_START_BURST_MS / this.timeline.periodMs));
    const from = keyframe < now || this.lastTick === null ? keyframe : Math.max(now, this.lastTick + 1);
    for (let tick = from; tick <= Math.max(now, from); tick++) this.send(tick);
    this.schedule();
  }

  stop(): void {
    if (this.timer === null) return;
    this.timer.cancel();
    this.timer = null;
  }

  /**
   * The packets among `seqs` of frames sent within RESEND_SPAN_MS before the newest, encoded and
   * signed as they were (by any server of the movie): frames this server did not send because it
   * was not yet carrying the movie included, so a tree moved here from a failed server gets
   * every frame. Nothing newer than the newest sent frame.
   */
  resend(seqs: readonly number[]): Buffer[] {
    if (this.lastTick === null || seqs.length === 0) return [];
    const span = Math.ceil(RESEND_SPAN_MS / this.timeline.periodMs);
    const located = this.timeline.locate(new Set(seqs), this.lastTick, span);
    const out: Buffer[] = [];
    for (const tick of [...located.keys()].sort((a, b) => a - b)) {
      const packets = this.encode(tick);
      for (const i of located.get(tick) ?? []) out.push(packets[i] as Buffer);
    }
    return out;
  }

  /** The sequence number of the newest packet sent, or null. */
  get newestSeq(): number | null {
    if (this.lastTick === null) return null;
    return (this.timeline.firstSeq(this.lastTick) + this.timeline.frameOf(this.lastTick).length - 1) & 0xffff;
  }

  private schedule(): void {
    const tick = (this.lastTick ?? 0) + 1;
    const wait = this.timeline.dueAt(tick) - this.reference();
    this.timer = this.clock.setTimer(Math.max(0, wait), () => this.onDue());
  }

  private onDue(): void {
    const now = this.timeline.tickAt(this.reference());
    const last = this.lastTick ?? now - 1;
    if (now > last) {
      // A short stall sends the backlog; a long one (or a reference that jumped ahead) skips to now.
      const behindMs = this.timeline.dueAt(now) - this.timeline.dueAt(last + 1);
      const from = behindMs > MAX_CATCH_UP_MS ? now : last + 1;
      for (let tick = from; tick <= now; tick++) this.send(tick);
    }
    this.schedule();
  }

  private send(tick: number): void {
    const encoded = this.encode(tick);
    for (const rtp of encoded) {
      this.packetsSent++;
      this.emit(rtp);
    }
    if (encoded.length > 0) this.framesSent++;
    this.lastTick = tick;
  }

  private encode(tick: number): Buffer[] {
    const frame = this.timeline.frameOf(tick);
    const first = this.timeline.firstSeq(tick);
    const timestamp = this.timeline.timestamp(tick);
    const packets = frame.map(
      (payload, i): RtpPacket => ({
        marker: i === frame.length - 1,
        payloadType: this.movie.schedule?.payloadType ?? RTP_JPEG_PAYLOAD_TYPE,
        sequenceNumber: (first + i) & 0xffff,
        timestamp,
        ssrc: this.ssrc,
        csrcs: [],
        payload,
      }),
    );
    return this.sign === null ? packets.map((p) => encodeRtp(p)) : this.sign(this.movie.name, packets);
  }
}
