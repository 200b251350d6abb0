/**
 * How loaded the machine is while an end-to-end test runs: the worst lateness of a short timer in
 * this (mostly idle) test process. Timing bounds in e2e tests (a failover's longest gap) are
 * measured by other processes on the same cores; when the scheduler makes this process wait, it
 * made those wait too, so a bound widened by what was measured here keeps its meaning on an idle
 * machine and stops flaking on a busy one.
 */

/** How often the meter wakes up, ms. */
const TICK_MS = 20;

export class StallMeter {
  private worst = 0;
  private last = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => {
      const now = performance.now();
      this.worst = Math.max(this.worst, now - this.last - TICK_MS);
      this.last = now;
    }, TICK_MS);
    this.timer.unref();
  }

  /** The longest this process waited past a timer's due time so far, ms. */
  get worstLateMs(): number {
    return Math.round(this.worst);
  }

  /**
   * `baseMs` plus `perStall` times the worst lateness seen: a gap measured across several processes
   * (relay, POP, client) can include a stall in each of them.
   */
  bound(baseMs: number, perStall = 3): number {
    return baseMs + perStall * this.worstLateMs;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
