/**
 * The failover policy's memory of which POPs failed lately (its hysteresis): a POP that failed
 * (stalled, dropped the connection, answered with an error) is penalised for a cooldown that
 * doubles with each failure in a row, from COOLDOWN_MS up to MAX_COOLDOWN_MS, and forgiven once
 * it has played RECOVERED_AFTER_MS without failing. The next POP is the best (by RTT, the order
 * given) that is not penalised; when all are, the one whose cooldown ends first. Two flaky POPs
 * therefore cannot make a client switch back and forth at every hiccup: returning to one waits
 * for its cooldown, which grows each time.
 *
 * No I/O: times are the caller's clock readings.
 */

/** A POP's cooldown after its first failure in a row. */
export const COOLDOWN_MS = 5000;
/** The longest cooldown, however often a POP failed. */
export const MAX_COOLDOWN_MS = 60_000;
/** A POP that played this long without failing starts again from COOLDOWN_MS. */
export const RECOVERED_AFTER_MS = 30_000;

interface PopRecord {
  failures: number;
  until: number;
}

export class PopPenalties {
  /** One entry per POP of the policy's list (its size is the list's, deduplicated). */
  private readonly records = new Map<string, PopRecord>();

  constructor(private readonly pops: readonly string[]) {
    for (const pop of pops) this.records.set(pop, { failures: 0, until: -Infinity });
  }

  /** `pop` failed at `now`: penalised for a cooldown that grows with its failures in a row. */
  failed(pop: string, now: number): void {
    const r = this.records.get(pop);
    if (r === undefined) return;
    r.failures++;
    r.until = now + Math.min(MAX_COOLDOWN_MS, COOLDOWN_MS * 2 ** Math.min(r.failures - 1, 16));
  }

  /** `pop` has played RECOVERED_AFTER_MS without failing: its next failure counts as a first one. */
  recovered(pop: string): void {
    const r = this.records.get(pop);
    if (r !== undefined) r.failures = 0;
  }

  /** When `pop`'s cooldown ends (-Infinity when it never failed). */
  until(pop: string): number {
    return this.records.get(pop)?.until ?? -Infinity;
  }

  /** Failures in a row of `pop` (for tests and the status). */
  failures(pop: string): number {
    return this.records.get(pop)?.failures ?? 0;
  }

  /** Whether every POP but `current` is in its cooldown at `now` (false when there is no other). */
  othersPenalised(current: string, now: number): boolean {
    const others = this.pops.filter((p) => p !== current);
    return others.length > 0 && others.every((p) => this.until(p) > now);
  }

  /** The soonest end of a cooldown among the POPs other than `current`. */
  soonestOtherEnd(current: string): number {
    let soonest = Infinity;
    for (const p of this.pops) if (p !== current) soonest = Math.min(soonest, this.until(p));
    return soonest;
  }

  /**
   * The POP to move to from `current`: the first (best RTT) other POP out of its cooldown, else the
   * other POP whose cooldown ends first (ties: the better RTT), else `current` (the only one).
   */
  next(current: string, now: number): string {
    const others = this.pops.filter((p) => p !== current);
    const free = others.find((p) => this.until(p) <= now);
    if (free !== undefined) return free;
    let best: string | undefined;
    for (const p of others) if (best === undefined || this.until(p) < this.until(best)) best = p;
    return best ?? current;
  }
}
