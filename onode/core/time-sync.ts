/**
 * A server's offset to the reference clock (the bootstrapper's), NTP-style, without I/O.
 *
 * TimeSync asks on its own schedule (a burst of SYNC_BURST_SAMPLES at start, then one every
 * SYNC_INTERVAL_MS): a request carries t0, this node's clock when sent; the reference answers at
 * once with `at`, its own clock; t3 is this node's clock when the answer came. Then
 *
 *     offset = at - (t0 + t3) / 2        error <= rtt / 2 = (t3 - t0) / 2
 *
 * whatever the split of the round trip between the two ways. Of a window of recent samples the one
 * with the least error wins, where a sample's error also grows with its age by MAX_DRIFT_PPM (the
 * two clocks drift apart meanwhile: NTP's dispersion), so a drifting clock is tracked and the
 * reported error stays a bound: |reference - referenceNow()| <= errorMs while the clocks drift apart
 * by at most MAX_DRIFT_PPM.
 *
 * Inputs are plain numbers: ms on this node's clock and ms on the reference's. Any two clocks work:
 * a daemon's ms since 1970 against the bootstrapper's, or simulated clocks seconds apart. When this
 * node's clock has another origin (a monotonic clock), the offset absorbs the difference.
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import { TypedEmitter } from '../../common/core/typed-emitter.ts';

/** Samples taken at start (and after each reconnection), SYNC_BURST_INTERVAL_MS apart. */
export const SYNC_BURST_SAMPLES = 8;
export const SYNC_BURST_INTERVAL_MS = 100;
/**
 * Then one sample this often: the drift since the last sample stays under 0.2 ms at 100 ppm, so the
 * error bound stays under 1 ms on one host (a round trip there is well under 1 ms). It costs a
 * ~60-byte line each way.
 */
export const SYNC_INTERVAL_MS = 2000;
/** The estimate comes from the best of at most this many recent samples (16 s)... */
export const SYNC_WINDOW_SAMPLES = 8;
/** ...none older than this (but the newest is kept, however old: an estimate is never thrown away). */
export const SYNC_WINDOW_MS = 60_000;
/** An answer later than this is stale (its request is forgotten); its error would be useless anyway. */
export const SYNC_MAX_RTT_MS = 10_000;
/** Requests awaiting an answer at most: a burst, with room for a slow path. */
export const MAX_OUTSTANDING_REQUESTS = 16;
/** How fast two clocks may drift apart (parts per million) for errorMs to remain a bound. */
export const MAX_DRIFT_PPM = 100;
/** Synced after this many samples, or after the burst with at least one. */
export const SYNC_MIN_SAMPLES = 4;

/** What to send the reference: an id to match the answer, and this node's clock at sending. */
export interface TimeRequest {
  readonly id: number;
  readonly t0: number;
}

/** One measurement: when (t3, this node's clock), the offset it gave and its round trip. */
export interface TimeSample {
  readonly at: number;
  readonly offsetMs: number;
  readonly rttMs: number;
}

/** The reference's time as this node knows it. What a server's channels pace their timeline by. */
export interface ReferenceClock {
  /** The reference's clock now (ms): this node's clock + offsetMs. */
  now(): number;
  /** True once the offset is measured (until then offsetMs is 0); it stays true, errorMs says how well. */
  readonly synced: boolean;
  readonly offsetMs: number;
  /** A bound on |true reference - now()| (ms). */
  readonly errorMs: number;
}

export interface TimeSyncCounters {
  /** Requests sent. */
  sent: number;
  /** Answers taken as samples. */
  accepted: number;
  /** Answers to a request never sent (forged). */
  unknown: number;
  /** Answers to a request already answered (duplicated) or given up (late). */
  stale: number;
  /** Answers that cannot be true: another t0, a negative or over-long round trip, a non-finite time. */
  absurd: number;
  /** Requests not sent: MAX_OUTSTANDING_REQUESTS were waiting. */
  skipped: number;
}

export interface TimeSyncEvents {
  /** The estimate moved (a better or newer sample): the new offset and its error now. */
  change: [offsetMs: number, errorMs: number];
}

export class TimeSync implements ReferenceClock {
  readonly counters: TimeSyncCounters = { sent: 0, accepted: 0, unknown: 0, stale: 0, absurd: 0, skipped: 0 };
  readonly events: TypedEmitter<TimeSyncEvents>;
  /** Requests awaiting an answer: id → t0. Insertion order is age order. */
  private readonly outstanding = new Map<number, number>();
  private window: TimeSample[] = [];
  private best: TimeSample | null = null;
  private nextId = 1;
  private burstLeft = 0;
  private acceptedSinceStart = 0;
  private isSynced = false;
  private timer: Timer | null = null;
  private running = false;

  /**
   * @param clock this node's clock (its readings are t0, t3 and the base of now())
   * @param send hands a request to the path to the reference; one that is lost simply goes unanswered
   */
  constructor(
    private readonly clock: Clock,
    private readonly send: (req: TimeRequest) => void,
    onListenerError?: (err: unknown) => void,
  ) {
    this.events = new TypedEmitter(onListenerError);
  }

  /** Starts sampling: a burst at once, then every SYNC_INTERVAL_MS. Safe to call twice. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.resync();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = null;
    this.outstanding.clear();
  }

  /**
   * A new path to the reference (a new connection, another bootstrapper): answers to earlier
   * requests are no longer expected, and a new burst measures the new path. Samples are kept.
   */
  resync(): void {
    this.outstanding.clear();
    this.burstLeft = SYNC_BURST_SAMPLES;
    this.acceptedSinceStart = 0;
    if (!this.running) return;
    this.timer?.cancel();
    this.tick();
  }

  /** An answer: the request's id and t0 as echoed, the reference's clock `at`, and when it came (t3). */
  reply(id: number, t0: number, at: number, t3 = this.clock.now()): void {
    const sentAt = this.outstanding.get(id);
    if (sentAt === undefined) {
      if (Number.isInteger(id) && id > 0 && id < this.nextId) this.counters.stale++;
      else this.counters.unknown++;
      return;
    }
    const rtt = t3 - sentAt;
    if (t0 !== sentAt || !Number.isFinite(at) || !Number.isFinite(rtt) || rtt < 0 || rtt > SYNC_MAX_RTT_MS) {
      this.counters.absurd++;
      return;
    }
    this.outstanding.delete(id);
    this.counters.accepted++;
    this.acceptedSinceStart++;
    this.add({ at: t3, offsetMs: at - (t0 + t3) / 2, rttMs: rtt });
  }

  get offsetMs(): number {
    return this.best?.offsetMs ?? 0;
  }

  /** The best sample's half round trip, plus what the clocks may have drifted since (Infinity before any). */
  get errorMs(): number {
    const b = this.best;
    if (b === null) return Number.POSITIVE_INFINITY;
    return score(b, this.clock.now());
  }

  get synced(): boolean {
    return this.isSynced;
  }

  /** Samples in the window now. */
  get samples(): number {
    return this.window.length;
  }

  /** The reference's clock now, as far as this node knows (its own clock before the first sample). */
  referenceNow(): number {
    return this.clock.now() + this.offsetMs;
  }

  now(): number {
    return this.referenceNow();
  }

  private tick(): void {
    this.timer = null;
    if (!this.running) return;
    this.expire();
    if (this.outstanding.size >= MAX_OUTSTANDING_REQUESTS) {
      this.counters.skipped++;
    } else {
      const req: TimeRequest = { id: this.nextId++, t0: this.clock.now() };
      this.outstanding.set(req.id, req.t0);
      this.counters.sent++;
      this.send(req);
    }
    if (this.burstLeft > 0) this.burstLeft--;
    if (this.burstLeft === 0) this.checkSynced();
    const wait = this.burstLeft > 0 ? SYNC_BURST_INTERVAL_MS : SYNC_INTERVAL_MS;
    // send() may have stopped or resynced us (re-entrant): only one timer at a time.
    if (this.running && this.timer === null) this.timer = this.clock.setTimer(wait, () => this.tick());
  }

  /** Requests unanswered for SYNC_MAX_RTT_MS are given up: their answers, if ever, are stale. */
  private expire(): void {
    const now = this.clock.now();
    for (const [id, t0] of this.outstanding) {
      if (now - t0 <= SYNC_MAX_RTT_MS) break;
      this.outstanding.delete(id);
    }
  }

  private add(sample: TimeSample): void {
    const now = sample.at;
    this.window.push(sample);
    if (this.window.length > SYNC_WINDOW_SAMPLES) this.window.shift();
    const newest = this.window.at(-1);
    this.window = this.window.filter((s) => s === newest || now - s.at <= SYNC_WINDOW_MS);
    let best = this.window[0] ?? sample;
    for (const s of this.window) if (score(s, now) < score(best, now)) best = s;
    this.checkSynced();
    if (best === this.best) return;
    const moved = this.best === null || best.offsetMs !== this.best.offsetMs;
    this.best = best;
    if (moved) this.events.emit('change', best.offsetMs, score(best, this.clock.now()));
  }

  private checkSynced(): void {
    if (this.window.length > 0 && (this.acceptedSinceStart >= SYNC_MIN_SAMPLES || this.burstLeft === 0)) {
      this.isSynced = true;
    }
  }
}

/** A sample's error bound at `now`: half its round trip, plus the drift since. */
function score(s: TimeSample, now: number): number {
  return s.rttMs / 2 + Math.max(0, now - s.at) * MAX_DRIFT_PPM * 1e-6;
}

/** The reference itself (the bootstrapper's own server): offset 0, error 0. */
export function selfReference(clock: Clock): ReferenceClock {
  return { now: () => clock.now(), synced: true, offsetMs: 0, errorMs: 0 };
}
