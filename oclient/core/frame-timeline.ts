/**
 * The movie's timeline as the viewer saw it, over every session of a playback (POP failovers,
 * reroutes, a POP's fast start): each complete frame, by its (SSRC, RTP timestamp) in arrival
 * order, is shown or dropped so that no frame is shown twice or out of order.
 *
 * - Same SSRC as the last frame shown: a timestamp at or before it (modulo 2^32) was shown
 *   already or is late: dropped (framesDuplicate). A timestamp after it is shown; the frames of
 *   the timeline between the two were never shown (framesSkipped), whatever the cause: lost
 *   packets, a failover's gap, a server at another point of the movie.
 * - Another SSRC is another timeline (a server with its own clock): shown, nothing counted.
 * - A source that restarted its clock under the same SSRC lands far from the last frame: a frame
 *   more than MAX_BEHIND_TICKS behind, or MAX_DROPS_IN_A_ROW dropped frames in a row, starts a new
 *   timeline, so a restart cannot freeze the picture; those frames count as repeated (the viewer
 *   may see again what it saw), which is what framesRepeated is for.
 *
 * No I/O, no time: the caller feeds frames in the order they completed.
 */

/** RTP/JPEG's clock (RFC 2435): 90 kHz. */
export const RTP_TICKS_PER_SECOND = 90_000;
/** Behind the last frame shown by more than this (10 s): not a resend but a source that restarted. */
export const MAX_BEHIND_TICKS = 10 * RTP_TICKS_PER_SECOND;
/** Ahead by more than this (10 min) is a restarted clock too: a new timeline, not millions skipped. */
export const MAX_AHEAD_TICKS = 600 * RTP_TICKS_PER_SECOND;
/** This many frames dropped in a row (2 s at 25 fps): the source went back for good; follow it. */
export const MAX_DROPS_IN_A_ROW = 50;

export interface TimelineCounts {
  /** Frames shown although one at or after their timestamp (same SSRC) had been shown. */
  framesRepeated: number;
  /** Frames of the timeline never shown between two that were (a jump forward). */
  framesSkipped: number;
  /** Frames dropped because they were shown already (or are older than one shown). */
  framesDuplicate: number;
}

export type TimelineVerdict = 'show' | 'drop';

export interface FrameTimelineOptions {
  /** The movie's frame rate, for counting skipped frames; unknown (0): learnt from the stream. */
  readonly fps?: number;
}

export class FrameTimeline {
  readonly counts: TimelineCounts = { framesRepeated: 0, framesSkipped: 0, framesDuplicate: 0 };
  private last: { readonly ssrc: number; readonly timestamp: number } | null = null;
  /** The RTP ticks between two frames; null until known (no fps given, fewer than two frames). */
  private interval: number | null;
  /** Whether `interval` is learnt (the smallest step seen so far) rather than from the fps. */
  private readonly learning: boolean;
  private dropsInARow = 0;

  constructor(opts: FrameTimelineOptions = {}) {
    const fps = opts.fps ?? 0;
    this.interval = Number.isFinite(fps) && fps > 0 ? RTP_TICKS_PER_SECOND / fps : null;
    this.learning = this.interval === null;
  }

  /** The last frame shown, as the POP's fast start should know it; null before the first. */
  get lastShown(): { readonly ssrc: number; readonly timestamp: number } | null {
    return this.last;
  }

  /** A complete frame arrived: show it, or drop it (counted). */
  offer(ssrc: number, timestamp: number): TimelineVerdict {
    const last = this.last;
    const ts = timestamp >>> 0;
    if (last === null || last.ssrc !== ssrc >>> 0) return this.show(ssrc, ts);
    const ahead = (ts - last.timestamp) >>> 0;
    if (ahead === 0 || ahead >= 0x8000_0000) {
      const behind = (last.timestamp - ts) >>> 0;
      if (behind > MAX_BEHIND_TICKS || this.dropsInARow + 1 >= MAX_DROPS_IN_A_ROW) {
        this.counts.framesRepeated++;
        return this.show(ssrc, ts);
      }
      this.dropsInARow++;
      this.counts.framesDuplicate++;
      return 'drop';
    }
    if (ahead > MAX_AHEAD_TICKS) return this.show(ssrc, ts);
    // Without the fps, the smallest step seen is the frame interval (the first step counts nothing).
    if (this.learning) this.interval = Math.min(this.interval ?? ahead, ahead);
    if (this.interval !== null) this.counts.framesSkipped += Math.max(0, Math.round(ahead / this.interval) - 1);
    return this.show(ssrc, ts);
  }

  private show(ssrc: number, timestamp: number): 'show' {
    this.last = { ssrc: ssrc >>> 0, timestamp };
    this.dropsInARow = 0;
    return 'show';
  }
}
