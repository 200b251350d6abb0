/**
 * Tells whether an H.264 access unit the depacketizer called incomplete came whole after all.
 * After a sequence gap the depacketizer cannot know whether the missing packets were the start
 * of the next access unit or whole units before it, so it marks the next one incomplete. They
 * were whole units when: the previous unit had ended (its marker came) or changed timestamp,
 * nothing went missing after this unit's first packet, the depacketizer refused nothing of it,
 * it ended at its marker, and its first slice starts the picture (first_mb_in_slice = 0). At
 * worst parameter sets or SEI went missing, which the SDP gives or a decoder can do without.
 * Losing a one-packet picture (a B-frame is a few tens of bytes) then costs that picture only.
 */
import type { H264DepacketizerCounters } from '../../common/media/h264/h264-depacketizer.ts';
import { NAL_IDR_SLICE, NAL_NON_IDR_SLICE, nalType } from '../../common/media/h264/nal-unit.ts';
import { type RtpPacket, seqDiff } from '../../common/wire/rtp.ts';

interface UnitStart {
  readonly timestamp: number;
  /** Packets were missing between the previous access unit and this one's first packet. */
  readonly gapBefore: boolean;
  /** A packet of it went missing after its first one. */
  broken: boolean;
  /** The depacketizer's refusals (malformed, broken fragments, oversize) when it began. */
  readonly refusals: number;
}

export class H264GapJudge {
  private last: { seq: number; marker: boolean; timestamp: number } | undefined;
  private start: UnitStart | undefined;

  /** @param counters the depacketizer's, read to see whether it refused part of a unit. */
  constructor(private readonly counters: H264DepacketizerCounters) {}

  /** Call with each packet in the order the depacketizer gets it, just before it does. */
  note(packet: RtpPacket): void {
    const prev = this.last;
    const step = prev === undefined ? 1 : seqDiff(packet.sequenceNumber, prev.seq);
    if (prev === undefined || prev.marker || prev.timestamp !== packet.timestamp) {
      this.start = { timestamp: packet.timestamp, gapBefore: step > 1, broken: false, refusals: this.refusals() };
    } else if (step > 1 && this.start !== undefined) {
      this.start.broken = true;
    }
    this.last = { seq: packet.sequenceNumber, marker: packet.marker, timestamp: packet.timestamp };
  }

  /** For an access unit the depacketizer called incomplete: whether it came whole after a gap. */
  wholeAfterGap(timestamp: number, nals: readonly Buffer[], marked: boolean): boolean {
    const s = this.start;
    if (!marked || s === undefined || s.timestamp !== timestamp || !s.gapBefore || s.broken) return false;
    if (this.refusals() !== s.refusals) return false;
    const slice = nals.find((n) => nalType(n) === NAL_NON_IDR_SLICE || nalType(n) === NAL_IDR_SLICE);
    // first_mb_in_slice is the first ue(v) after the NAL header; 0 is the single bit 1.
    return slice !== undefined && ((slice[1] ?? 0) & 0x80) !== 0;
  }

  private refusals(): number {
    const c = this.counters;
    return c.malformed + c.brokenFragments + c.oversize;
  }
}
