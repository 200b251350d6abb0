/**
 * Rebuilds H.264 access units from RTP packets (RFC 6184, packetization-mode=1), in arrival
 * order: the caller reorders first (sequence numbers), as the overlay's frame timeline does.
 *
 * An access unit ends at the marker bit, or when a packet with another timestamp arrives (for
 * senders that do not set the marker).
 * Loss is seen as a gap in sequence numbers, or an FU-A whose start or end is missing; the
 * access unit is then handed on with `complete: false` (and without the broken NAL unit), so
 * the caller decides whether to show it. Hostile input never throws: it is counted and dropped.
 */
import { type RtpPacket, seqDiff } from '../../wire/rtp.ts';
import { decodeH264Payload } from './rtp-h264.ts';
import { MAX_ACCESS_UNIT_BYTES, MAX_NALS_PER_ACCESS_UNIT } from './nal-unit.ts';

export interface H264AccessUnit {
  /** RTP timestamp (90 kHz). */
  readonly timestamp: number;
  readonly nals: readonly Buffer[];
  /** False when a packet of it was lost or refused: some NAL unit is missing. */
  readonly complete: boolean;
  /** The packet with the marker bit ended it (false when a new timestamp did). */
  readonly marked: boolean;
}

export interface H264DepacketizerCounters {
  packets: number;
  /** Payloads decodeH264Payload refused. */
  malformed: number;
  /** Packets missing, from sequence gaps. */
  lost: number;
  /** Same sequence number as the previous packet. */
  duplicates: number;
  /** Older than the previous packet (the caller should have reordered); dropped. */
  late: number;
  /** FU-A fragments dropped because their start was not seen, or their unit never ended. */
  brokenFragments: number;
  /** Access units cut short by MAX_NALS_PER_ACCESS_UNIT or MAX_ACCESS_UNIT_BYTES. */
  oversize: number;
  complete: number;
  incomplete: number;
}

interface Pending {
  readonly timestamp: number;
  readonly nals: Buffer[];
  bytes: number;
  complete: boolean;
}

interface Fragments {
  readonly nalHeader: number;
  readonly parts: Buffer[];
  bytes: number;
}

export class H264Depacketizer {
  readonly counters: H264DepacketizerCounters = {
    packets: 0,
    malformed: 0,
    lost: 0,
    duplicates: 0,
    late: 0,
    brokenFragments: 0,
    oversize: 0,
    complete: 0,
    incomplete: 0,
  };
  private lastSequence: number | undefined;
  private pending: Pending | undefined;
  private fragments: Fragments | undefined;

  /** Feeds one packet; returns the access units it completed (zero, one, or two when it also ends one). */
  push(packet: RtpPacket): H264AccessUnit[] {
    this.counters.packets++;
    const out: H264AccessUnit[] = [];
    let gap = false;
    if (this.lastSequence !== undefined) {
      // RFC 3550 serial order: a step back within half the space is a late packet, beyond it a wrap forward.
      const step = seqDiff(packet.sequenceNumber, this.lastSequence);
      if (step === 0) {
        this.counters.duplicates++;
        return out;
      }
      if (step < 0) {
        this.counters.late++;
        return out;
      }
      if (step > 1) {
        this.counters.lost += step - 1;
        this.damage();
        gap = true;
      }
    }
    this.lastSequence = packet.sequenceNumber;

    if (this.pending !== undefined && this.pending.timestamp !== packet.timestamp) {
      // No marker: had its packet been lost, the sequence gap would have marked the unit
      // incomplete; with none, the sender just does not set it. A NAL unit still open is cut off.
      out.push(this.finish(false));
    }
    const au = this.pending ?? { timestamp: packet.timestamp, nals: [], bytes: 0, complete: true };
    this.pending = au;
    // Packets lost after a marker belonged to this access unit (or to one lost whole).
    if (gap) au.complete = false;
    this.take(au, packet.payload);
    if (packet.marker) out.push(this.finish(true));
    return out;
  }

  /** Hands on what is pending (end of stream); undefined when nothing is. */
  flush(): H264AccessUnit | undefined {
    if (this.pending === undefined) return undefined;
    this.damage();
    return this.finish(false);
  }

  private take(au: Pending, payload: Buffer): void {
    const decoded = decodeH264Payload(payload);
    if (!decoded.ok) {
      this.counters.malformed++;
      this.damage();
      return;
    }
    const p = decoded.value;
    if (p.kind === 'nal') {
      this.dropOpenFragments();
      this.add(au, p.nal);
    } else if (p.kind === 'stap-a') {
      this.dropOpenFragments();
      for (const nal of p.nals) this.add(au, nal);
    } else {
      if (p.start) {
        this.dropOpenFragments();
        this.fragments = { nalHeader: p.nalHeader, parts: [Buffer.from([p.nalHeader])], bytes: 1 };
      }
      const f = this.fragments;
      if (f === undefined || f.nalHeader !== p.nalHeader) {
        // A middle or end fragment whose start we never saw, or of another unit.
        this.counters.brokenFragments++;
        this.dropOpenFragments();
        this.damage();
        return;
      }
      f.parts.push(p.data);
      f.bytes += p.data.length;
      if (f.bytes > MAX_ACCESS_UNIT_BYTES) {
        this.counters.oversize++;
        this.fragments = undefined;
        this.damage();
        return;
      }
      if (p.end) {
        this.fragments = undefined;
        this.add(au, Buffer.concat(f.parts, f.bytes));
      }
    }
  }

  private add(au: Pending, nal: Buffer): void {
    if (au.nals.length >= MAX_NALS_PER_ACCESS_UNIT || au.bytes + nal.length > MAX_ACCESS_UNIT_BYTES) {
      this.counters.oversize++;
      au.complete = false;
      return;
    }
    // Copy: the packet buffer may be reused by the caller once push returns.
    au.nals.push(Buffer.from(nal));
    au.bytes += nal.length;
  }

  /** A NAL unit cut off before its end fragment. */
  private dropOpenFragments(): void {
    if (this.fragments === undefined) return;
    this.counters.brokenFragments++;
    this.fragments = undefined;
    if (this.pending !== undefined) this.pending.complete = false;
  }

  private damage(): void {
    if (this.fragments !== undefined) {
      this.counters.brokenFragments++;
      this.fragments = undefined;
    }
    if (this.pending !== undefined) this.pending.complete = false;
  }

  private finish(marked: boolean): H264AccessUnit {
    if (this.fragments !== undefined) this.damage();
    const au = this.pending ?? { timestamp: 0, nals: [], bytes: 0, complete: false };
    this.pending = undefined;
    const complete = au.complete && au.nals.length > 0;
    if (complete) this.counters.complete++;
    else this.counters.incomplete++;
    return { timestamp: au.timestamp, nals: au.nals, complete, marked };
  }
}
