/**
 * When to leave a working upstream, as numbers only (the moves themselves are in
 * upstream-switch.ts): a clearly faster route to the same server, confirmed over several refreshes
 * (hysteresis, so two near-equal routes do not flap), or an upstream that fell silent for several
 * frame periods (the usual gap between frames, and how much it varies, are learned from the data).
 */

/** Hysteresis: an upstream is replaced only by a route to the same server this much faster… */
export const SWITCH_MARGIN = 0.2;
/** …and by at least this many ms… */
export const MIN_SWITCH_GAIN_MS = 2;
/** …seen on this many refreshes in a row… */
export const SWITCH_CONFIRMATIONS = 3;
/** …through a link up for at least this long (a link that just came back may flap again). */
export const SWITCH_STABLE_MS = 5000;
/** Silence from the upstream that starts a make-before-break rejoin: this many frame gaps… */
export const DATA_SILENCE_FRAMES = 3;
/** …and never less than this. */
export const MIN_DATA_SILENCE_MS = 150;
/** Gaps between arrivals shorter than this are packets of one frame, not the gap between frames. */
export const SAME_FRAME_GAP_MS = 5;
/** The frame gap is a moving average that moves 1/8 of the way to each new gap (smooth, yet follows a rate change). */
export const FRAME_GAP_SMOOTHING = 8;
/**
 * Its mean deviation moves 1/4 of the way, and the silence limit is at least the gap plus this many
 * deviations (as TCP's RTO is SRTT + 4 RTTVAR): on a busy host, where frames arrive in bursts, an
 * upstream is given longer before it is called silent, so the tree does not flap between relays.
 */
export const GAP_DEVIATION_SMOOTHING = 4;
export const SILENCE_DEVIATIONS = 4;

/** True when a route of `bestMs` is clearly faster than the current one of `currentMs` (both known). */
export function clearlyFaster(currentMs: number | undefined, bestMs: number | undefined): boolean {
  if (currentMs === undefined || bestMs === undefined) return false;
  return bestMs <= currentMs * (1 - SWITCH_MARGIN) && currentMs - bestMs >= MIN_SWITCH_GAIN_MS;
}

/** Counts refreshes in a row that found a clearly faster route. */
export class SwitchHysteresis {
  private streak = 0;

  /** One refresh's finding; true when it completes SWITCH_CONFIRMATIONS in a row (the count then restarts). */
  confirm(faster: boolean): boolean {
    if (!faster) {
      this.streak = 0;
      return false;
    }
    if (++this.streak < SWITCH_CONFIRMATIONS) return false;
    this.streak = 0;
    return true;
  }
}

/** When data last came from the upstream, and the usual gap between frames. */
export class FrameGap {
  private lastAt: number | null = null;
  private gap: number | null = null;
  private deviation = 0;

  /** The learned gap between frames in ms; null until two frames arrived. */
  get gapMs(): number | null {
    return this.gap;
  }

  /** A packet from the upstream arrived (called per packet: no allocation). */
  arrived(now: number): void {
    if (this.lastAt !== null) {
      const gap = now - this.lastAt;
      if (gap > SAME_FRAME_GAP_MS) {
        if (this.gap !== null) this.deviation += (Math.abs(gap - this.gap) - this.deviation) / GAP_DEVIATION_SMOOTHING;
        this.gap = this.gap === null ? gap : this.gap + (gap - this.gap) / FRAME_GAP_SMOOTHING;
      }
    }
    this.lastAt = now;
  }

  /**
   * This thread stalled until `now`: the silence so far is its own, so it starts again here, and the
   * backlog read next is not taken for a long gap between frames.
   */
  restart(now: number): void {
    if (this.lastAt !== null) this.lastAt = now;
  }

  /**
   * The silence limit in ms when the upstream has been silent that long, else null. Restarts the
   * silence, so one silence is reported once.
   */
  overdue(now: number): number | null {
    if (this.lastAt === null || this.gap === null) return null;
    const limit = Math.max(
      MIN_DATA_SILENCE_MS,
      DATA_SILENCE_FRAMES * this.gap,
      this.gap + SILENCE_DEVIATIONS * this.deviation,
    );
    if (now - this.lastAt < limit) return null;
    this.lastAt = now;
    return limit;
  }
}
