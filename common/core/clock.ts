/**
 * Time source injected into core logic, so protocol code runs in virtual time under test
 * and in real time in the daemons. Core code never calls Date.now() or setTimeout directly.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on this host's monotonic clock. Only differences are meaningful. */
  now(): number;
  /** Runs `fn` after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): Timer;
}

/** Real time: a monotonic clock (performance.now) and Node's timers, with an optional offset. */
export class SystemClock implements Clock {
  /** @param offsetMs added to every reading; tests use it to prove nothing relies on synchronised clocks. */
  constructor(private readonly offsetMs = 0) {}

  now(): number {
    return performance.now() + this.offsetMs;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref?.();
    return { cancel: () => clearTimeout(handle) };
  }
}

/**
 * Real time in ms since 1970 that never steps: the monotonic clock counted from the process's start
 * (performance.timeOrigin). What hosts compare (the bootstrapper's reference clock, time-sync.ts).
 */
export function epochClock(): SystemClock {
  return new SystemClock(performance.timeOrigin);
}

interface Scheduled {
  at: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Virtual time for tests and simulations: timers fire only when the test advances the clock,
 * in deadline order (ties in scheduling order), so runs are deterministic.
 */
export class VirtualClock implements Clock {
  private current: number;
  private order = 0;
  /** A binary min-heap by (at, order): simulations keep hundreds of thousands of timers. */
  private readonly queue: Scheduled[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const entry: Scheduled = { at: this.current + Math.max(0, ms), order: this.order++, fn, cancelled: false };
    this.insert(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Number of timers still waiting to fire. */
  pending(): number {
    return this.queue.filter((e) => !e.cancelled).length;
  }

  /** Advances time by `ms`, firing every timer due on the way (including ones they schedule). */
  advance(ms: number): void {
    this.runUntil(this.current + ms);
  }

  /**
   * Moves time by `ms` without firing anything, as when the thread was stalled (a busy host): the
   * timers that fell due fire late, in order, on the next advance.
   */
  stall(ms: number): void {
    this.current += ms;
  }

  runUntil(deadline: number): void {
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.at > deadline) break;
      this.pop();
      if (next.cancelled) continue;
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = Math.max(this.current, deadline);
  }

  private insert(entry: Scheduled): void {
    const q = this.queue;
    q.push(entry);
    let i = q.length - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (!before(q[i]!, q[parent]!)) break;
      [q[i], q[parent]] = [q[parent]!, q[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const q = this.queue;
    const last = q.pop();
    if (last === undefined || q.length === 0) return;
    q[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < q.length && before(q[l]!, q[m]!)) m = l;
      if (r < q.length && before(q[r]!, q[m]!)) m = r;
      if (m === i) return;
      [q[i], q[m]] = [q[m]!, q[i]!];
      i = m;
    }
  }
}

/** Heap order: earlier first; timers due together fire in the order they were set. */
function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

/** A host's own view of time: a shared clock plus a fixed offset (unsynchronised hosts, in simulations). */
export class OffsetClock implements Clock {
  constructor(
    private readonly base: Clock,
    private readonly offsetMs: number,
  ) {}
  now(): number {
    return this.base.now() + this.offsetMs;
  }
  setTimer(ms: number, fn: () => void): Timer {
    return this.base.setTimer(ms, fn);
  }
}

/**
 * A host's clock that is off and runs at its own rate (simulations of unsynchronised hosts):
 * base + offsetMs, gaining `ppm` ms per million of the base's. Its timers run on its own time.
 */
export class DriftClock implements Clock {
  private readonly rate: number;
  constructor(
    private readonly base: Clock,
    private readonly offsetMs: number,
    ppm: number,
  ) {
    this.rate = 1 + ppm * 1e-6;
  }
  now(): number {
    return this.base.now() * this.rate + this.offsetMs;
  }
  setTimer(ms: number, fn: () => void): Timer {
    return this.base.setTimer(ms / this.rate, fn);
  }
}
