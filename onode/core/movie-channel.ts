/**
 * A server's live channel for one movie: from its first viewer it emits the movie's frames as
 * RTP/JPEG at the movie's frame rate, looping at the end; later viewers join at the live point.
 * Frames are due at start + n * period on the injected clock, so timing does not drift.
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import { encodeRtp, type RtpPacket } from '../../common/wire/rtp.ts';
import { RTP_JPEG_CLOCK_RATE, RTP_JPEG_PAYLOAD_TYPE } from '../../common/wire/rtp-jpeg.ts';

/** The RTP/JPEG payloads of one frame, computed once when the movie is loaded. */
export type FramePayloads = readonly Buffer[];

export interface ChannelMovie {
  readonly name: string;
  readonly fps: number;
  readonly frames: readonly FramePayloads[];
}

/**
 * Encodes one frame's packets with the server's signature (FrameSigner.signFrame): packets get
 * their sequence numbers and timestamp only when sent, so frames are signed then.
 */
export type FrameSigning = (movie: string, packets: readonly RtpPacket[]) => Buffer[];

/** If the process stalls longer than this, skip ahead instead of bursting the backlog. */
const MAX_CATCH_UP_MS = 500;

export class MovieChannel {
  private timer: Timer | null = null;
  private startedAt = 0;
  private tick = 0;
  private stoppedAt: number | null = null;
  private frameIndex = 0;
  private seq: number;
  private readonly timestampBase: number;
  framesSent = 0;
  packetsSent = 0;

  constructor(
    private readonly clock: Clock,
    readonly movie: ChannelMovie,
    private readonly emit: (rtp: Buffer) => void,
    readonly ssrc: number,
    random: () => number = Math.random,
    /** Unsigned packets when null (simulations and tests that do not need signatures). */
    private readonly sign: FrameSigning | null = null,
  ) {
    // RFC 3550: initial sequence number and timestamp are random.
    this.seq = Math.floor(random() * 0x10000);
    this.timestampBase = Math.floor(random() * 0x1_0000_0000);
  }

  get running(): boolean {
    return this.timer !== null;
  }

  start(): void {
    if (this.timer !== null) return;
    const now = this.clock.now();
    // A restart plays from the first frame again, but the RTP clock keeps running (same SSRC and
    // sequence space): a receiver that stayed sees time move forward, never back.
    if (this.stoppedAt !== null) this.tick += Math.max(1, Math.ceil((now - this.stoppedAt) / this.periodMs));
    this.startedAt = now - this.tick * this.periodMs;
    this.frameIndex = 0;
    this.sendFrame();
  }

  stop(): void {
    if (this.timer === null) return;
    this.timer.cancel();
    this.timer = null;
    this.stoppedAt = this.clock.now();
  }

  private get periodMs(): number {
    return 1000 / this.movie.fps;
  }

  private sendFrame(): void {
    const frame = this.movie.frames[this.frameIndex];
    if (frame !== undefined) {
      const timestamp = (this.timestampBase + Math.round((this.tick * RTP_JPEG_CLOCK_RATE) / this.movie.fps)) >>> 0;
      const packets = frame.map(
        (payload, i): RtpPacket => ({
          marker: i === frame.length - 1,
          payloadType: RTP_JPEG_PAYLOAD_TYPE,
          sequenceNumber: (this.seq + i) & 0xffff,
          timestamp,
          ssrc: this.ssrc,
          csrcs: [],
          payload,
        }),
      );
      const encoded = this.sign === null ? packets.map((p) => encodeRtp(p)) : this.sign(this.movie.name, packets);
      this.seq = (this.seq + frame.length) & 0xffff;
      for (const rtp of encoded) {
        this.packetsSent++;
        this.emit(rtp);
      }
      this.framesSent++;
    }
    this.frameIndex = (this.frameIndex + 1) % Math.max(1, this.movie.frames.length);
    this.tick++;
    let due = this.startedAt + this.tick * this.periodMs;
    const now = this.clock.now();
    if (now - due > MAX_CATCH_UP_MS) {
      this.startedAt = now - this.tick * this.periodMs;
      due = now;
    }
    this.timer = this.clock.setTimer(due - now, () => this.sendFrame());
  }
}
