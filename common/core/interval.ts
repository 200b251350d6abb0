/**
 * A recurring timer on an injected Clock: `fn` runs every `ms` from start() until stop(). Both
 * are safe to call twice, and from inside `fn`. The next run is scheduled after `fn` returns, so
 * a slow run delays the next rather than piling up.
 */
import type { Clock, Timer } from './clock.ts';

export class Interval {
  private timer: Timer | null = null;
  private active = false;
  private dueAt: number | null = null;
  /**
   * How late (ms) the current or last run fired: a run far behind its time means this thread was
   * stalled (a busy host), and what arrived meanwhile is still unread in the sockets.
   */
  lateMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
    private readonly fn: () => void,
  ) {}

  get running(): boolean {
    return this.active;
  }

  /** Starts the timer; with `now`, `fn` also runs at once (then every `ms`). */
  start(now = false): void {
    if (this.active) return;
    this.active = true;
    if (now) this.fire();
    else this.schedule();
  }

  stop(): void {
    this.active = false;
    this.timer?.cancel();
    this.timer = null;
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.lateMs = this.dueAt === null ? 0 : Math.max(0, this.clock.now() - this.dueAt);
    this.dueAt = null;
    try {
      this.fn();
    } finally {
      // Even after `fn` threw (the error still propagates); not if `fn` stopped it, nor twice if it
      // stopped and restarted it.
      if (this.active && this.timer === null) this.schedule();
    }
  };

  private schedule(): void {
    this.dueAt = this.clock.now() + this.ms;
    this.timer = this.clock.setTimer(this.ms, this.fire);
  }
}
