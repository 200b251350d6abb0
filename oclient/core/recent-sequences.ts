/**
 * The last RECENT_SEQUENCES RTP sequence numbers handed on, to tell a duplicate (seen, drop it)
 * from a late packet (never seen: its gap was given up on). A ring of numbers and a count per
 * number: constant memory and time, however the sequence jumps.
 */

/** Sequence numbers remembered per stream. */
export const RECENT_SEQUENCES = 1024;

export class RecentSequences {
  private readonly ring = new Uint16Array(RECENT_SEQUENCES);
  private readonly counts = new Uint8Array(0x10000);
  private added = 0;

  has(seq: number): boolean {
    return (this.counts[seq & 0xffff] ?? 0) !== 0;
  }

  add(seq: number): void {
    const slot = this.added % RECENT_SEQUENCES;
    if (this.added >= RECENT_SEQUENCES) {
      const old = this.ring[slot] ?? 0;
      this.counts[old] = Math.max(0, (this.counts[old] ?? 0) - 1);
    }
    const s = seq & 0xffff;
    this.ring[slot] = s;
    // A count, not a flag: the same number may be in the ring twice (after a wrap).
    this.counts[s] = Math.min(255, (this.counts[s] ?? 0) + 1);
    this.added++;
  }
}
