/**
 * Fixed one-window rate budgets: at most `limit` units per `windowMs`, counted on the caller's
 * clock. RateWindow is one budget; KeyedRateWindows is one per key (a client address), in a table
 * bounded by `maxKeys` that starts over each window, so a flood from many keys costs memory only
 * up to the bound and one noisy key never spends the others' budget.
 */
export class RateWindow {
  private startedAt = -Infinity;
  private used = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs = 1000,
  ) {}

  /** What is left of this window's budget. */
  remaining(now: number): number {
    this.roll(now);
    return Math.max(0, this.limit - this.used);
  }

  /** Spends `units` if the budget has them all; false (nothing spent) when it does not. */
  take(now: number, units = 1): boolean {
    this.roll(now);
    if (this.used + units > this.limit) return false;
    this.used += units;
    return true;
  }

  /** Records units spent that remaining() allowed. */
  spend(now: number, units: number): void {
    this.roll(now);
    this.used += units;
  }

  private roll(now: number): void {
    if (now - this.startedAt < this.windowMs) return;
    this.startedAt = now;
    this.used = 0;
  }
}

export class KeyedRateWindows {
  private startedAt = -Infinity;
  private readonly used = new Map<string, number>();
  private overflowUsed = 0;

  /**
   * Keys that find the table full share one budget of `overflow` units a window: with 0, they wait
   * for the next window; with more, many keys (spoofable addresses) cannot shut new ones out, while
   * the table still bounds memory.
   */
  constructor(
    private readonly perKey: number,
    private readonly maxKeys: number,
    private readonly windowMs = 1000,
    private readonly overflow = 0,
  ) {}

  /** Spends one unit of `key`'s budget (or of the shared overflow when the table is full of others). */
  take(now: number, key: string): boolean {
    if (now - this.startedAt >= this.windowMs) {
      this.startedAt = now;
      this.used.clear();
      this.overflowUsed = 0;
    }
    const n = this.used.get(key);
    if (n === undefined && this.used.size >= this.maxKeys) {
      if (this.overflowUsed >= this.overflow) return false;
      this.overflowUsed++;
      return true;
    }
    if ((n ?? 0) >= this.perKey) return false;
    this.used.set(key, (n ?? 0) + 1);
    return true;
  }
}
