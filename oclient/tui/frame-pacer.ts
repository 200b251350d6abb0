/**
 * Hands the newest frame to a drawing function, never a backlog: a frame that arrives while
 * another waits replaces it (counted as skipped), draws are at least minIntervalMs apart, and
 * while the output is still flushing the last draw (a slow terminal) nothing is drawn. Drawing
 * happens on a timer, after the socket callbacks that delivered a burst of frames have run, so
 * only the last of the burst is drawn.
 */

export interface PacerOptions {
  /** Minimum time between two draws; default 1000 / 30. */
  readonly minIntervalMs?: number;
  /** Whether the output can take another frame now; default always. */
  readonly ready?: () => boolean;
  /** Calls back once the output can take another frame (e.g. stdout's 'drain'). */
  readonly whenReady?: (callback: () => void) => void;
  readonly now?: () => number;
}

export class FramePacer<T> {
  shown = 0;
  skipped = 0;
  private latest: T | null = null;
  private timer: NodeJS.Timeout | null = null;
  private waiting = false;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private readonly minIntervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly draw: (frame: T) => void,
    private readonly opts: PacerOptions = {},
  ) {
    this.minIntervalMs = opts.minIntervalMs ?? 1000 / 30;
    this.now = opts.now ?? (() => performance.now());
  }

  push(frame: T): void {
    if (this.stopped) return;
    if (this.latest !== null) this.skipped++;
    this.latest = frame;
    this.arm();
  }

  /** Drops the waiting frame, if any, and stops drawing. */
  stop(): void {
    this.stopped = true;
    this.latest = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer !== null || this.waiting || this.stopped) return;
    const delay = Math.max(0, this.lastDraw + this.minIntervalMs - this.now());
    this.timer = setTimeout(() => this.flush(), delay);
  }

  private flush(): void {
    this.timer = null;
    const frame = this.latest;
    if (frame === null || this.stopped) return;
    if (this.opts.ready && !this.opts.ready()) {
      this.waiting = true;
      const resume = (): void => {
        this.waiting = false;
        this.arm();
      };
      if (this.opts.whenReady) this.opts.whenReady(resume);
      else setTimeout(resume, this.minIntervalMs);
      return;
    }
    this.latest = null;
    this.lastDraw = this.now();
    this.shown++;
    this.draw(frame);
  }
}
