/**
 * One movie's shared timeline (epoch locking): frame n of the timeline is due at reference time
 * n · period (for H.264 and AAC streams, unit i of loop k at k · loopMs plus the unit's own time),
 * where the reference is the clock every server synchronises to (the bootstrapper's).
 * Its frame, RTP timestamp and sequence numbers are functions of n and of the movie's content
 * alone, so every server holding the same movie emits the same packets at the same moment, and a
 * tree that moves from one server to another sees one stream: nothing skipped, nothing repeated.
 */
import { createHash } from 'node:crypto';
import { RTP_JPEG_CLOCK_RATE } from '../../common/wire/rtp-jpeg.ts';

/** The RTP/JPEG payloads of one frame, computed once when the movie is loaded. */
export type FramePayloads = readonly Buffer[];

export interface ChannelMovie {
  /** The overlay stream's name: the movie's, or its audio stream's (common/wire/movie-tracks.ts). */
  readonly name: string;
  readonly fps: number;
  /** Every unit's RTP payloads: MJPEG frames, H.264 access units or AAC packet groups. */
  readonly frames: readonly FramePayloads[];
  /** Units that are not evenly spaced (H.264, AAC); absent for MJPEG, whose frame n is due at n / fps. */
  readonly schedule?: UnitSchedule;
}

/** When each unit of one loop is due and what RTP timestamp it has (common/media/av-rtp-plan.ts). */
export interface UnitSchedule {
  readonly payloadType: number;
  readonly clockRate: number;
  /** Per unit, non-decreasing: ms after the loop's start. */
  readonly dueMs: readonly number[];
  /** Per unit: RTP ticks after the loop's start. */
  readonly ticks: readonly number[];
  readonly loopMs: number;
  /** Whole ticks per loop, so that loops join without a jump. */
  readonly loopTicks: number;
  /** Per unit: a decoder may start there (H.264 IDR access units); absent when any unit may start. */
  readonly keyframes?: readonly boolean[];
}

/** A stream's RTP identity: the same for every server whose movie has the same name and content. */
export interface ChannelIdentity {
  readonly ssrc: number;
  readonly seqBase: number;
  readonly timestampBase: number;
}

const TWO_32 = 0x1_0000_0000;
/** Ticks per RTP-timestamp segment when a frame is not a whole number of RTP ticks (29.97 fps). */
const SEGMENT_TICKS = 2 ** 20;

/** SSRC and bases from a hash of the name, rate and every payload: identical movies lock together. */
export function channelIdentity(movie: ChannelMovie): ChannelIdentity {
  const h = createHash('sha256').update(`${movie.name}\n${movie.fps}\n`);
  const sc = movie.schedule;
  if (sc !== undefined)
    h.update(JSON.stringify([sc.payloadType, sc.clockRate, sc.loopMs, sc.loopTicks, sc.dueMs, sc.ticks]));
  for (const frame of movie.frames) {
    for (const payload of frame) h.update(payload);
    h.update('\n');
  }
  const d = h.digest();
  return { ssrc: d.readUInt32BE(0), seqBase: d.readUInt16BE(4), timestampBase: d.readUInt32BE(6) };
}

export class ChannelTimeline {
  readonly periodMs: number;
  /** Sequence number offset of each frame within one loop of the movie. */
  private readonly prefix: number[];
  /** Packets in one loop of the movie. */
  private readonly loopPackets: number;
  private readonly ticksPerFrame: number;

  constructor(
    readonly movie: ChannelMovie,
    readonly identity: ChannelIdentity = channelIdentity(movie),
  ) {
    const n = movie.frames.length;
    // Scheduled units: the mean spacing (it sizes resend spans and catch-up only).
    this.periodMs = movie.schedule === undefined || n === 0 ? 1000 / movie.fps : movie.schedule.loopMs / n;
    this.ticksPerFrame = RTP_JPEG_CLOCK_RATE / movie.fps;
    this.prefix = [];
    let packets = 0;
    for (const f of movie.frames) {
      this.prefix.push(packets);
      packets += f.length;
    }
    this.loopPackets = packets;
  }

  /** The frame due at or before reference time `ms`. */
  tickAt(ms: number): number {
    const sc = this.movie.schedule;
    const n = this.movie.frames.length;
    if (sc === undefined || n === 0) return Math.floor(ms / this.periodMs);
    const loops = Math.floor(ms / sc.loopMs);
    const within = ms - loops * sc.loopMs;
    // The last unit due at or before `within` (-1: the previous loop's last).
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sc.dueMs[mid] ?? 0) <= within) lo = mid + 1;
      else hi = mid;
    }
    // Floating point: settle the guess against dueAt itself, so that a unit due by dueAt is due here.
    let tick = loops * n + lo - 1;
    while (this.dueAt(tick + 1) <= ms) tick++;
    while (this.dueAt(tick) > ms) tick--;
    return tick;
  }

  /** Reference time at which frame `tick` is due. */
  dueAt(tick: number): number {
    const sc = this.movie.schedule;
    const n = this.movie.frames.length;
    if (sc === undefined || n === 0) return tick * this.periodMs;
    return Math.floor(tick / n) * sc.loopMs + (sc.dueMs[mod(tick, n)] ?? 0);
  }

  /**
   * The newest unit at or before `tick` where a decoder may start, at most `maxUnits` back: a
   * channel starting cold sends from there, so its first viewer's first picture decodes at once.
   * `tick` itself when none is that close (a file with rare keyframes must not start with a flood).
   */
  startOf(tick: number, maxUnits: number): number {
    const keyframes = this.movie.schedule?.keyframes;
    const n = this.movie.frames.length;
    if (keyframes === undefined || n === 0) return tick;
    for (let t = tick; t >= tick - Math.min(maxUnits, n - 1); t--) if (keyframes[mod(t, n)] === true) return t;
    return tick;
  }

  frameOf(tick: number): FramePayloads {
    const n = this.movie.frames.length;
    return n === 0 ? [] : (this.movie.frames[mod(tick, n)] ?? []);
  }

  /** The sequence number of the frame's first packet. */
  firstSeq(tick: number): number {
    const n = this.movie.frames.length;
    if (n === 0) return this.identity.seqBase;
    const loops = Math.floor(tick / n);
    const inLoop = this.prefix[mod(tick, n)] ?? 0;
    // Reduced before multiplying, so the product stays an exact integer at any tick.
    return mod(this.identity.seqBase + mod(loops, 0x10000) * mod(this.loopPackets, 0x10000) + inLoop, 0x10000);
  }

  timestamp(tick: number): number {
    const sc = this.movie.schedule;
    const n = this.movie.frames.length;
    if (sc !== undefined && n > 0) {
      // Exact at any tick: loops · loopTicks can pass 2^53 over a long-running reference clock.
      const loops = BigInt(Math.floor(tick / n));
      const within = BigInt(sc.ticks[mod(tick, n)] ?? 0);
      const m = BigInt(TWO_32);
      return Number((((BigInt(this.identity.timestampBase) + loops * BigInt(sc.loopTicks) + within) % m) + m) % m);
    }
    const k = this.ticksPerFrame;
    if (Number.isInteger(k)) return mod(this.identity.timestampBase + mod(tick, TWO_32) * k, TWO_32);
    // A fractional frame length is exact only over short spans: count whole segments apart.
    const segments = Math.floor(tick / SEGMENT_TICKS);
    const within = Math.round((tick - segments * SEGMENT_TICKS) * k);
    return mod(this.identity.timestampBase + mod(segments, TWO_32) * Math.round(SEGMENT_TICKS * k) + within, TWO_32);
  }

  /**
   * The ticks among (newest - span, newest] whose frames hold any of `seqs`, newest first, with
   * the packet indexes asked of each: what a server needs to send again what it (or any server
   * of the movie) sent then.
   */
  locate(seqs: ReadonlySet<number>, newest: number, span: number): Map<number, number[]> {
    const found = new Map<number, number[]>();
    let left = seqs.size;
    for (let tick = newest; tick > newest - span && left > 0; tick--) {
      const first = this.firstSeq(tick);
      const count = this.frameOf(tick).length;
      for (let i = 0; i < count; i++) {
        if (!seqs.has((first + i) & 0xffff)) continue;
        const list = found.get(tick) ?? [];
        list.push(i);
        found.set(tick, list);
        left--;
      }
    }
    return found;
  }
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}
