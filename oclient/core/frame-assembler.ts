/**
 * Rebuilds JPEG frames from RTP/JPEG packets (RFC 2435), tolerating reordering and duplicates.
 * A frame is complete when its first fragment (offset 0), its marker packet and every sequence
 * number between them have arrived; it is then assembled and emitted, in timestamp order.
 * A frame still incomplete when a later frame completes, or after MAX_PENDING_FRAMES newer
 * frames started, is counted lost and dropped: a viewer never sees a corrupt frame. With a
 * `verify` check (the servers' frame signatures), a complete frame that fails it is counted
 * rejected and dropped too.
 */
import { decodeRtp, seqDiff, type RtpPacket } from '../../common/wire/rtp.ts';
import {
  assembleJpeg,
  decodeJpegFragment,
  type JpegFragment,
  RTP_JPEG_CLOCK_RATE,
  RTP_JPEG_PAYLOAD_TYPE,
} from '../../common/wire/rtp-jpeg.ts';
import type { JpegImage } from '../../common/media/jpeg.ts';

/** Frames kept waiting for late packets; older ones are given up. */
export const MAX_PENDING_FRAMES = 8;
/** A frame larger than this many packets is not ours. */
export const MAX_PACKETS_PER_FRAME = 4096;

export interface AssemblerStats {
  packetsReceived: number;
  packetsDuplicate: number;
  packetsMalformed: number;
  /** Expected minus received, by sequence number, since the first packet (RFC 3550 A.3). */
  packetsLost: number;
  framesReceived: number;
  framesLost: number;
  /** Complete frames the verify check refused (forged, altered, or signed by no known server). */
  framesRejected: number;
  /** Interarrival jitter in RTP timestamp units (RFC 3550 A.8). */
  jitter: number;
}

interface PendingFrame {
  readonly timestamp: number;
  /** Decoded fragments by sequence number (decoded once, on arrival). */
  readonly packets: Map<number, JpegFragment>;
  /** The packets as received, by sequence number, for the verify check. */
  readonly raws: Map<number, Buffer>;
  firstSeq: number | null;
  markerSeq: number | null;
}

export class FrameAssembler {
  readonly stats: AssemblerStats = {
    packetsReceived: 0,
    packetsDuplicate: 0,
    packetsMalformed: 0,
    packetsLost: 0,
    framesReceived: 0,
    framesLost: 0,
    framesRejected: 0,
    jitter: 0,
  };
  private readonly pending = new Map<number, PendingFrame>();
  private baseSeq: number | null = null;
  private maxSeq = 0;
  private cycles = 0;
  private readonly seen = new Set<number>();
  /** Timestamp of the last frame emitted or given up; older packets are late. */
  private lastDone: number | null = null;
  private lastDoneSeq: number | null = null;
  private transit: number | null = null;
  private ssrc: number | null = null;

  /**
   * @param onFrame receives each complete frame, with its RTP timestamp and SSRC
   * @param clockRate RTP clock, for jitter
   * @param verify checks each complete frame's packets (in sequence order) before it is assembled;
   *   null shows every frame
   */
  constructor(
    private readonly onFrame: (img: JpegImage, timestamp: number, ssrc: number) => void,
    private readonly clockRate = RTP_JPEG_CLOCK_RATE,
    private readonly verify: ((packets: readonly Buffer[]) => boolean) | null = null,
  ) {}

  /** Feeds one RTP datagram; arrivalMs is the local receive time (for jitter). */
  push(datagram: Buffer, arrivalMs: number): void {
    const rtp = decodeRtp(datagram);
    if (!rtp.ok) {
      this.stats.packetsMalformed++;
      return;
    }
    this.pushPacket(rtp.value, arrivalMs, datagram);
  }

  /** Feeds one already decoded RTP packet (the caller decoded it to reorder it), with its bytes for `verify`. */
  pushPacket(p: RtpPacket, arrivalMs: number, raw?: Buffer): void {
    if (p.payloadType !== RTP_JPEG_PAYLOAD_TYPE) {
      this.stats.packetsMalformed++;
      return;
    }
    if (this.ssrc !== null && p.ssrc !== this.ssrc) this.reset(); // the source changed (another server): start over
    this.ssrc = p.ssrc;
    const seq = p.sequenceNumber;
    if (!this.countSequence(seq)) return;
    this.updateJitter(p.timestamp, arrivalMs);
    if (this.lastDone !== null && !timestampAfter(p.timestamp, this.lastDone)) {
      // Older than what was shown: late for its frame, unless the sequence moved on (the source
      // restarted its clock), in which case a new timeline begins.
      if (this.lastDoneSeq === null || seqDiff(seq, this.lastDoneSeq) <= 0) return;
      this.pending.clear();
      this.lastDone = null;
    }

    let frame = this.pending.get(p.timestamp);
    if (frame === undefined) {
      frame = { timestamp: p.timestamp, packets: new Map(), raws: new Map(), firstSeq: null, markerSeq: null };
      this.pending.set(p.timestamp, frame);
    }
    if (frame.packets.size >= MAX_PACKETS_PER_FRAME) return;
    const fragment = decodeJpegFragment(p.payload);
    if (!fragment.ok) {
      this.stats.packetsMalformed++;
      return;
    }
    frame.packets.set(seq, fragment.value);
    if (this.verify !== null && raw !== undefined) frame.raws.set(seq, raw);
    if (fragment.value.fragmentOffset === 0) frame.firstSeq = seq;
    if (p.marker) frame.markerSeq = seq;
    this.tryComplete(frame);
    this.expireOld();
  }

  private tryComplete(frame: PendingFrame): void {
    if (frame.firstSeq === null || frame.markerSeq === null) return;
    const count = seqDiff(frame.markerSeq, frame.firstSeq) + 1;
    if (count <= 0 || count > frame.packets.size) return;
    const fragments = [];
    for (let i = 0; i < count; i++) {
      const fragment = frame.packets.get((frame.firstSeq + i) & 0xffff);
      if (fragment === undefined) return;
      fragments.push(fragment);
    }
    // Checked before it may move the timeline: a forged frame far ahead must not make the real ones late.
    if (this.verify !== null && !this.verified(frame, count)) {
      this.pending.delete(frame.timestamp);
      this.stats.framesRejected++;
      return;
    }
    // Older incomplete frames can no longer be shown in order: they are lost.
    for (const other of [...this.pending.values()]) {
      if (other !== frame && timestampAfter(frame.timestamp, other.timestamp)) this.giveUp(other);
    }
    this.pending.delete(frame.timestamp);
    this.lastDone = frame.timestamp;
    this.lastDoneSeq = frame.markerSeq;
    const image = assembleJpeg(fragments);
    if (!image.ok) {
      this.stats.framesLost++;
      return;
    }
    this.stats.framesReceived++;
    this.onFrame(image.value, frame.timestamp, this.ssrc ?? 0);
  }

  private verified(frame: PendingFrame, count: number): boolean {
    const raws: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const raw = frame.raws.get(((frame.firstSeq ?? 0) + i) & 0xffff);
      if (raw === undefined) return false; // fed without its bytes: nothing to check it by
      raws.push(raw);
    }
    return this.verify?.(raws) ?? true;
  }

  private giveUp(frame: PendingFrame): void {
    this.pending.delete(frame.timestamp);
    // The partial frame at the very start of a stream is not a loss: we joined mid-frame.
    if (this.stats.framesReceived > 0 || this.lastDone !== null) this.stats.framesLost++;
  }

  private expireOld(): void {
    if (this.pending.size <= MAX_PENDING_FRAMES) return;
    const oldest = [...this.pending.values()].reduce((a, b) => (timestampAfter(a.timestamp, b.timestamp) ? b : a));
    this.giveUp(oldest);
    this.lastDone = oldest.timestamp;
  }

  /** RFC 3550 A.1-style extended sequence tracking; false for a duplicate. */
  private countSequence(seq: number): boolean {
    this.stats.packetsReceived++;
    if (this.baseSeq === null) {
      this.baseSeq = seq;
      this.maxSeq = seq;
    }
    const d = seqDiff(seq, this.maxSeq);
    // Extended sequence number relative to the highest seen, so old packets from before a wrap map correctly.
    const ext = this.cycles + this.maxSeq + d;
    if (d > 0) {
      if (seq < this.maxSeq) this.cycles += 0x10000;
      this.maxSeq = seq;
    }
    if (this.seen.has(ext)) {
      this.stats.packetsDuplicate++;
      this.stats.packetsReceived--;
      return false;
    }
    this.seen.add(ext);
    if (this.seen.size > 4096) this.seen.delete(this.seen.values().next().value as number);
    const expected = this.cycles + this.maxSeq - this.baseSeq + 1;
    this.stats.packetsLost = Math.max(0, expected - this.stats.packetsReceived);
    return true;
  }

  private updateJitter(timestamp: number, arrivalMs: number): void {
    const arrival = (arrivalMs * this.clockRate) / 1000;
    const transit = arrival - timestamp;
    if (this.transit !== null) {
      let d = Math.abs(transit - this.transit);
      if (d > 0x80000000) d = 0x1_0000_0000 - d; // timestamp wrapped
      this.stats.jitter += (d - this.stats.jitter) / 16;
    }
    this.transit = transit;
  }

  private reset(): void {
    this.pending.clear();
    this.baseSeq = null;
    this.cycles = 0;
    this.seen.clear();
    this.lastDone = null;
    this.lastDoneSeq = null;
    this.transit = null;
    this.stats.packetsReceived = 0;
  }
}

/** True when RTP timestamp a is after b (modulo 2^32). */
function timestampAfter(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}
