/**
 * Rebuilds AAC frames from RTP packets (RFC 3640, AAC-hbr), in arrival order (the caller
 * reorders). Frames of one packet get the packet's timestamp plus `frameDuration` each; a
 * fragmented frame is handed on only when all its pieces came in sequence with one timestamp.
 * Hostile input never throws: it is counted and dropped.
 */
import { type RtpPacket, seqDiff } from '../../wire/rtp.ts';
import { AAC_SAMPLES_PER_FRAME, type AacFrame, decodeAacPayload, MAX_AAC_FRAME_BYTES } from './rtp-aac.ts';

export interface AacDepacketizerCounters {
  packets: number;
  malformed: number;
  /** Packets missing, from sequence gaps. */
  lost: number;
  duplicates: number;
  late: number;
  /** Fragmented frames given up: a piece missing, the timestamp or size changing, or too many bytes. */
  brokenFragments: number;
  frames: number;
}

interface Fragments {
  readonly timestamp: number;
  readonly auSize: number;
  readonly parts: Buffer[];
  bytes: number;
}

const TIMESTAMP_MOD = 2 ** 32;

export class AacDepacketizer {
  readonly counters: AacDepacketizerCounters = {
    packets: 0,
    malformed: 0,
    lost: 0,
    duplicates: 0,
    late: 0,
    brokenFragments: 0,
    frames: 0,
  };
  private lastSequence: number | undefined;
  private fragments: Fragments | undefined;
  /** Timestamp of a fragmented frame given up: its remaining pieces are skipped, not counted again. */
  private brokenTimestamp: number | undefined;

  /** @param frameDuration timestamp step between frames of one packet (AAC_SAMPLES_PER_FRAME by default). */
  constructor(private readonly frameDuration: number = AAC_SAMPLES_PER_FRAME) {}

  /** Feeds one packet; returns the frames it completed (copies, safe to keep). */
  push(packet: RtpPacket): AacFrame[] {
    this.counters.packets++;
    if (this.lastSequence !== undefined) {
      // RFC 3550 serial order: a step back within half the space is a late packet, beyond it a wrap forward.
      const step = seqDiff(packet.sequenceNumber, this.lastSequence);
      if (step === 0) {
        this.counters.duplicates++;
        return [];
      }
      if (step < 0) {
        this.counters.late++;
        return [];
      }
      if (step > 1) {
        this.counters.lost += step - 1;
        this.dropFragments();
      }
    }
    this.lastSequence = packet.sequenceNumber;

    const decoded = decodeAacPayload(packet.payload);
    if (!decoded.ok) {
      this.counters.malformed++;
      this.dropFragments();
      return [];
    }
    const p = decoded.value;
    if (p.kind === 'frames') {
      this.dropFragments();
      this.brokenTimestamp = undefined;
      this.counters.frames += p.frames.length;
      return p.frames.map((data, i) => ({
        timestamp: (packet.timestamp + i * this.frameDuration) % TIMESTAMP_MOD,
        data: Buffer.from(data),
      }));
    }
    if (packet.timestamp === this.brokenTimestamp) return [];
    this.brokenTimestamp = undefined;
    let f = this.fragments;
    if (f !== undefined && (f.timestamp !== packet.timestamp || f.auSize !== p.auSize)) {
      this.dropFragments();
      f = undefined;
    }
    if (f === undefined) {
      // Only a first piece may open a frame; one arriving after a loss has no start to go with.
      if (p.auSize > MAX_AAC_FRAME_BYTES) {
        this.counters.malformed++;
        return [];
      }
      f = { timestamp: packet.timestamp, auSize: p.auSize, parts: [], bytes: 0 };
      this.fragments = f;
    }
    f.parts.push(Buffer.from(p.data));
    f.bytes += p.data.length;
    if (f.bytes > f.auSize || (packet.marker && f.bytes !== f.auSize)) {
      this.dropFragments();
      return [];
    }
    if (f.bytes < f.auSize) return [];
    this.fragments = undefined;
    this.counters.frames++;
    return [{ timestamp: f.timestamp, data: Buffer.concat(f.parts, f.bytes) }];
  }

  private dropFragments(): void {
    if (this.fragments === undefined) return;
    this.counters.brokenFragments++;
    this.brokenTimestamp = this.fragments.timestamp;
    this.fragments = undefined;
  }
}
