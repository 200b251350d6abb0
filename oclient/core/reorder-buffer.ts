/**
 * The client's jitter buffer for RTP packets: packets in sequence pass straight through (so a
 * stream starts without delay), while a gap holds later packets until the missing one arrives
 * or `holdMs` passes since the gap was seen; then delivery skips it and the frame assembler
 * counts the loss. Duplicates and packets older than what was delivered are dropped.
 * Time is passed in, so the buffer is deterministic; the caller calls tick() periodically.
 */
import { TypedEmitter } from '../../common/core/typed-emitter.ts';
import { seqDiff, seqNewer } from '../../common/wire/rtp.ts';

/** Held packets beyond this are flushed regardless of time: a burst must not grow memory. */
export const MAX_HELD_PACKETS = 2048;
/** Long enough for a repair that the POP must itself fetch upstream (a loaded host, a rerouted tree). */
export const DEFAULT_HOLD_MS = 400;
/** A gap still open after this long is asked for again (the NACK, or the POP's repair, may have been lost). */
export const RENACK_MS = 100;

export interface ReorderCounters {
  reordered: number;
  duplicates: number;
  late: number;
  skipped: number;
}

export interface ReorderBufferEvents {
  missing: [seqs: number[]];
}

export class ReorderBuffer<T = Buffer> {
  readonly counters: ReorderCounters = { reordered: 0, duplicates: 0, late: 0, skipped: 0 };
  private next: number | null = null;
  private readonly held = new Map<number, T>();
  private gapSince: number | null = null;
  /** When the open gap's packets were last asked for. */
  private askedAt: number | null = null;

  /** `missing`: sequence numbers that just went missing (a gap opened), to ask for a retransmission. */
  readonly events = new TypedEmitter<ReorderBufferEvents>();
  private highestSeen: number | null = null;

  constructor(
    private readonly deliver: (seq: number, packet: T) => void,
    private readonly holdMs = DEFAULT_HOLD_MS,
  ) {}

  /** Forget the sequence (a new source, or after a seek): the next packet starts over. */
  reset(): void {
    this.next = null;
    this.highestSeen = null;
    this.held.clear();
    this.gapSince = null;
    this.askedAt = null;
  }

  push(seq: number, packet: T, nowMs: number): void {
    if (this.next === null) this.next = seq;
    const d = seqDiff(seq, this.next);
    if (d < 0) {
      if (d < -0x4000) {
        // Far behind: the sender restarted its sequence. Start over rather than drop everything.
        this.reset();
        this.next = seq;
      } else {
        this.counters.late++;
        return;
      }
    }
    if (seqDiff(seq, this.next) === 0) {
      this.emit(seq, packet);
      this.drain();
    } else {
      if (this.held.has(seq)) {
        this.counters.duplicates++;
        return;
      }
      this.counters.reordered++;
      this.held.set(seq, packet);
      this.reportMissing(seq);
      this.gapSince ??= nowMs;
      this.askedAt ??= nowMs;
      if (this.held.size > MAX_HELD_PACKETS) this.skipGap();
    }
    this.tick(nowMs);
  }

  /** Gives up on a gap older than holdMs; asks again for what a gap still lacks every RENACK_MS. */
  tick(nowMs: number): void {
    while (this.gapSince !== null && nowMs - this.gapSince >= this.holdMs) this.skipGap(nowMs);
    if (this.gapSince === null) {
      this.askedAt = null;
      return;
    }
    this.askedAt ??= nowMs;
    if (nowMs - this.askedAt < RENACK_MS) return;
    this.askedAt = nowMs;
    const missing = this.stillMissing();
    if (missing.length > 0) this.events.emit('missing', missing);
  }

  /** Sequence numbers between the next to deliver and the highest seen that are not held. */
  private stillMissing(): number[] {
    const missing: number[] = [];
    if (this.next === null || this.highestSeen === null) return missing;
    for (let s = this.next; seqNewer(this.highestSeen, s) && missing.length < MAX_HELD_PACKETS; s = (s + 1) & 0xffff) {
      if (!this.held.has(s)) missing.push(s);
    }
    return missing;
  }

  get heldPackets(): number {
    return this.held.size;
  }

  /** Reports the numbers between the highest seen and `seq` once, when `seq` jumps ahead. */
  private reportMissing(seq: number): void {
    const from =
      this.highestSeen !== null && seqDiff(this.highestSeen, this.next ?? seq) >= 0
        ? (this.highestSeen + 1) & 0xffff
        : this.next;
    if (from === null || seqDiff(seq, from) <= 0) {
      if (this.highestSeen === null || seqNewer(seq, this.highestSeen)) this.highestSeen = seq;
      return;
    }
    const missing: number[] = [];
    for (let s = from; seqNewer(seq, s) && missing.length < MAX_HELD_PACKETS; s = (s + 1) & 0xffff) {
      if (!this.held.has(s)) missing.push(s);
    }
    this.highestSeen = seq;
    if (missing.length > 0) this.events.emit('missing', missing);
  }

  private emit(seq: number, packet: T): void {
    if (this.highestSeen === null || seqNewer(seq, this.highestSeen)) this.highestSeen = seq;
    this.next = (seq + 1) & 0xffff;
    this.deliver(seq, packet);
  }

  private drain(): void {
    for (;;) {
      const n = this.next;
      if (n === null) return;
      const p = this.held.get(n);
      if (p === undefined) break;
      this.held.delete(n);
      this.emit(n, p);
    }
    this.gapSince = this.held.size > 0 ? this.gapSince : null;
  }

  /** Jumps to the lowest held sequence number, counting what is skipped. */
  private skipGap(nowMs?: number): void {
    if (this.next === null || this.held.size === 0) {
      this.gapSince = null;
      return;
    }
    const base = this.next;
    let lowest: number | null = null;
    for (const s of this.held.keys()) if (lowest === null || seqDiff(s, base) < seqDiff(lowest, base)) lowest = s;
    if (lowest === null) return;
    this.counters.skipped += seqDiff(lowest, base);
    this.next = lowest;
    this.drain();
    // A further gap among the held packets gets its own full wait.
    if (this.held.size > 0) this.gapSince = nowMs ?? this.gapSince;
  }
}
