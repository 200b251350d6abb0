/**
 * The last packets of one stream, by RTP sequence number: lets a node drop duplicates (a repair
 * overlapping the live stream, make-before-break) and resend what a rerouted neighbour or a
 * viewer missed. A fixed-size ring, so memory per stream is bounded whatever the traffic; two
 * parallel arrays, so caching a packet on the forwarding path allocates nothing.
 */
import { RTP_HEADER_BYTES, rtpMarker, rtpSequence, rtpSsrc, rtpTimestamp, seqDiff } from '../../common/wire/rtp.ts';

/** About 3 s of a 25 fps 320x240 movie (~140 packets/s). */
export const CACHE_PACKETS = 512;

/** How far back lastFrame looks for a complete frame. */
const LAST_FRAME_SEARCH = 256;

export class PacketCache {
  /** Sequence number held in each slot; -1 when empty. */
  private readonly seqs: Int32Array;
  private readonly packets: (Buffer | undefined)[];
  private ssrc: number | null = null;
  private highest: number | null = null;
  private first = 0;

  constructor(private readonly size = CACHE_PACKETS) {
    this.seqs = new Int32Array(size).fill(-1);
    this.packets = new Array<Buffer | undefined>(size);
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
    if (rtp.length < RTP_HEADER_BYTES) return true;
    const ssrc = rtpSsrc(rtp);
    const seq = rtpSequence(rtp);
    if (ssrc !== this.ssrc) {
      this.seqs.fill(-1);
      this.packets.fill(undefined);
      this.ssrc = ssrc;
      this.highest = null;
    }
    if (this.holds(seq)) return false;
    const slot = seq % this.size;
    this.seqs[slot] = seq;
    this.packets[slot] = rtp;
    if (this.highest === null) this.first = seq;
    if (this.highest === null || seqDiff(seq, this.highest) > 0) this.highest = seq;
    return true;
  }

  /** The sequence number of the first packet held since the cache was empty (or its source changed). */
  get firstSeq(): number | null {
    return this.highest === null ? null : this.first;
  }

  /** Whether add() would refuse this packet as a duplicate (same source, held or too old): no need to check it. */
  has(rtp: Buffer): boolean {
    if (rtp.length < RTP_HEADER_BYTES || rtpSsrc(rtp) !== this.ssrc) return false;
    return this.holds(rtpSequence(rtp));
  }

  /**
   * Whether `seq` could be missing from the cache's source: not newer than the newest packet and
   * not older than the window. Nothing outside it was ever lost here, so no one may ask for it.
   */
  inWindow(seq: number): boolean {
    if (this.highest === null) return false;
    const d = seqDiff(seq, this.highest);
    return d <= 0 && d > -this.size;
  }

  /** The duplicate test of add() and has(): held already, or too old to hold (same source). */
  private holds(seq: number): boolean {
    if (this.highest !== null && seqDiff(seq, this.highest) <= -this.size) return true;
    return this.seqs[seq % this.size] === seq;
  }

  /** Cached packets of `ssrc` newer than `after` (and not newer than `upTo`), oldest first. */
  after(ssrc: number, after: number, upTo: number | null = null): Buffer[] {
    if (ssrc !== this.ssrc || this.highest === null) return [];
    const last = upTo !== null && seqDiff(upTo, this.highest) < 0 ? upTo : this.highest;
    const count = Math.min(seqDiff(last, after), this.size);
    const out: Buffer[] = [];
    for (let i = count - 1; i >= 0; i--) {
      const p = this.get((last - i) & 0xffff);
      if (p !== undefined) out.push(p);
    }
    return out;
  }

  /** Sequence numbers missing between the oldest cached packet and the newest, oldest first. */
  holes(): number[] {
    if (this.highest === null) return [];
    const out: number[] = [];
    let seenOldest = false;
    for (let back = this.size - 1; back > 0; back--) {
      const seq = (this.highest - back) & 0xffff;
      const held = this.seqs[seq % this.size] === seq;
      if (held) seenOldest = true;
      else if (seenOldest) out.push(seq);
    }
    return out;
  }

  /** The cached packets among `seqs` of source `ssrc`. */
  pick(ssrc: number, seqs: readonly number[]): Buffer[] {
    if (ssrc !== this.ssrc) return [];
    const out: Buffer[] = [];
    for (const seq of seqs) {
      const p = this.get(seq);
      if (p !== undefined) out.push(p);
    }
    return out;
  }

  /**
   * The packets of the newest complete frame (marker packet and every packet of its timestamp
   * before it) and of the frame in progress after it, oldest first; [] when no frame is cached
   * whole. A new viewer gets it at once instead of waiting for the next frame (every MJPEG frame
   * stands alone).
   */
  lastFrame(): Buffer[] {
    if (this.highest === null) return [];
    for (let back = 0; back < Math.min(this.size, LAST_FRAME_SEARCH); back++) {
      const seq = (this.highest - back) & 0xffff;
      const end = this.get(seq);
      if (end === undefined || !rtpMarker(end)) continue;
      const frame = this.frameEndingAt(seq, end);
      // The frame in progress follows, so the viewer's next frame is whole too.
      if (frame !== null) return [...frame, ...this.after(this.ssrc ?? 0, seq)];
    }
    return [];
  }

  /**
   * The packets from the newest one `startsHere` accepts (an H.264 keyframe's first packet) to the
   * newest, when none between is missing; [] otherwise. A new H.264 viewer starts with the current
   * group of pictures, so its first picture decodes whole (as far back as the cache reaches).
   */
  lastFrom(startsHere: (rtp: Buffer) => boolean): Buffer[] {
    if (this.highest === null) return [];
    for (let back = 0; back < this.size; back++) {
      const seq = (this.highest - back) & 0xffff;
      const p = this.get(seq);
      if (p === undefined) return [];
      if (startsHere(p)) return [p, ...this.after(this.ssrc ?? 0, seq)];
    }
    return [];
  }

  /** The frame whose marker packet is `end` (sequence `seq`), or null when a packet of it is missing. */
  private frameEndingAt(seq: number, end: Buffer): Buffer[] | null {
    const ts = rtpTimestamp(end);
    const frame = [end];
    for (let s = (seq - 1) & 0xffff; frame.length < this.size; s = (s - 1) & 0xffff) {
      const p = this.get(s);
      if (p === undefined) return null;
      if (rtpTimestamp(p) !== ts) return frame.reverse();
      frame.push(p);
    }
    return null;
  }

  private get(seq: number): Buffer | undefined {
    const slot = seq % this.size;
    return this.seqs[slot] === seq ? this.packets[slot] : undefined;
  }
}
