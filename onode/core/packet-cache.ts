/**
 * The last packets of one stream, by RTP sequence number: lets a node drop duplicates (a repair
 * overlapping the live stream, make-before-break) and resend what a rerouted neighbour or a
 * viewer missed. A fixed-size ring, so memory per stream is bounded whatever the traffic.
 */
import { seqDiff } from '../../common/wire/rtp.ts';

/** About 3 s of a 25 fps 320x240 movie (~140 packets/s). */
export const CACHE_PACKETS = 512;

export interface CachedPacket {
  readonly seq: number;
  readonly rtp: Buffer;
}

export class PacketCache {
  private readonly slots: (CachedPacket | undefined)[];
  private ssrc: number | null = null;
  private highest: number | null = null;

  constructor(private readonly size = CACHE_PACKETS) {
    this.slots = new Array<CachedPacket | undefined>(size);
  }

  /** The RTP source whose packets the cache holds (a new source empties it). */
  get source(): number | null {
    return this.ssrc;
  }

  get highestSeq(): number | null {
    return this.highest;
  }

  /**
   * Remembers a packet; false when it is a duplicate (or too old to tell) and must not be forwarded.
   * Packets shorter than an RTP header are passed (true) without being cached.
   */
  add(rtp: Buffer): boolean {
    if (rtp.length < 12) return true;
    const ssrc = rtp.readUInt32BE(8);
    const seq = rtp.readUInt16BE(2);
    if (ssrc !== this.ssrc) {
      this.slots.fill(undefined);
      this.ssrc = ssrc;
      this.highest = null;
    }
    if (this.highest !== null && seqDiff(seq, this.highest) <= -this.size) return false;
    const slot = seq % this.size;
    if (this.slots[slot]?.seq === seq) return false;
    this.slots[slot] = { seq, rtp };
    if (this.highest === null || seqDiff(seq, this.highest) > 0) this.highest = seq;
    return true;
  }

  /** Cached packets of `ssrc` newer than `after` (and not newer than `upTo`), oldest first. */
  after(ssrc: number, after: number, upTo: number | null = null): Buffer[] {
    if (ssrc !== this.ssrc || this.highest === null) return [];
    const out: CachedPacket[] = [];
    for (const p of this.slots) {
      if (p !== undefined && seqDiff(p.seq, after) > 0 && (upTo === null || seqDiff(p.seq, upTo) <= 0)) out.push(p);
    }
    return out.sort((a, b) => seqDiff(a.seq, b.seq)).map((p) => p.rtp);
  }

  /**
   * The packets of the newest complete frame (marker packet and every packet of its timestamp
   * before it) and of the frame in progress after it, oldest first; [] when no frame is cached whole. A new viewer gets it at once instead
   * of waiting for the next frame (every MJPEG frame stands alone).
   */
  lastFrame(): Buffer[] {
    if (this.highest === null) return [];
    for (let back = 0; back < Math.min(this.size, 256); back++) {
      const end = this.slotFor((this.highest - back) & 0xffff);
      if (end === undefined || (end.rtp[1]! & 0x80) === 0) continue;
      const frame = this.frameEndingAt(end);
      // The frame in progress follows, so the viewer's next frame is whole too.
      if (frame !== null) return [...frame, ...this.after(this.ssrc ?? 0, end.seq)];
    }
    return [];
  }

  /** The frame whose marker packet is `end`, or null when a packet of it is missing. */
  private frameEndingAt(end: CachedPacket): Buffer[] | null {
    const ts = end.rtp.readUInt32BE(4);
    const frame = [end.rtp];
    for (let seq = (end.seq - 1) & 0xffff; frame.length < 512; seq = (seq - 1) & 0xffff) {
      const p = this.slotFor(seq);
      if (p === undefined) return null;
      if (p.rtp.readUInt32BE(4) !== ts) return frame;
      frame.unshift(p.rtp);
    }
    return null;
  }

  private slotFor(seq: number): CachedPacket | undefined {
    const p = this.slots[seq % this.size];
    return p?.seq === seq ? p : undefined;
  }

  /** The cached packets among `seqs` of source `ssrc`. */
  pick(ssrc: number, seqs: readonly number[]): Buffer[] {
    if (ssrc !== this.ssrc) return [];
    const out: Buffer[] = [];
    for (const seq of seqs) {
      const p = this.slots[seq % this.size];
      if (p?.seq === seq) out.push(p.rtp);
    }
    return out;
  }
}
