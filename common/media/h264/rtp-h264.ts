/**
 * RTP payload format for H.264 video (RFC 6184), packetization-mode=1 (non-interleaved):
 * single NAL unit packets, STAP-A and FU-A.
 *
 * A single NAL unit packet is the NAL unit itself (types 1..23).
 *
 * STAP-A (section 5.7.1) aggregates whole NAL units of one access unit:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |STAP-A NAL HDR |         NALU 1 Size           | NALU 1 HDR    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         NALU 1 Data                           |
 * :                                                               :
 * +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               | NALU 2 Size                   | NALU 2 HDR    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         NALU 2 Data                           |
 * :                                                               :
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * FU-A (section 5.8) carries one fragment of a NAL unit too big for a packet:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | FU indicator  |   FU header   |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
 * |                         FU payload                            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   FU indicator: F, NRI of the NAL unit, type 28.  FU header: S(tart) E(nd) R(eserved) and
 *   the NAL unit's type; the NAL header byte itself is not sent, the receiver rebuilds it.
 *
 * All packets of an access unit carry its timestamp (90 kHz, from the presentation time) and
 * the last one has the RTP marker bit.
 */
import { DEFAULT_MAX_PAYLOAD } from '../../wire/rtp-jpeg.ts';
import { fail, ok, type Decoded } from '../../wire/result.ts';
import { MAX_ACCESS_UNIT_BYTES, NAL_FU_A, NAL_IDR_SLICE, NAL_SPS, NAL_STAP_A, nalType } from './nal-unit.ts';

export { DEFAULT_MAX_PAYLOAD };
export const RTP_H264_CLOCK_RATE = 90_000;
/** Dynamic payload type used in our SDP (RFC 3551 section 3: 96..127 are dynamic). */
export const RTP_H264_PAYLOAD_TYPE = 96;
/** NAL header plus one FU header byte plus at least one byte of data. */
export const MIN_H264_PAYLOAD = 3;
/** A STAP-A NAL unit size is 16 bits, and RTP over RTSP interleaving is at most 65535 bytes. */
export const MAX_H264_PAYLOAD = 0xffff;

const STAP_SIZE_BYTES = 2;
const FU_HEADER_BYTES = 2;
const FU_START = 0x80;
const FU_END = 0x40;

/** Thrown by packetizeH264 for an access unit or payload size it cannot send. */
export class RtpH264Error extends Error {
  override readonly name = 'RtpH264Error';
}

/**
 * The RTP payloads of one access unit, in order; the caller sends them with one timestamp and
 * sets the marker bit on the last. NAL units that fit are aggregated greedily into STAP-As
 * (a group of one goes as a single NAL unit packet); a NAL unit larger than the packet's budget
 * is split into FU-As. `maxPayload` may differ per packet (a function of the packet's index), e.g.
 * to leave room for a header extension. Throws RtpH264Error for an empty access unit or NAL unit,
 * a NAL type RTP cannot send as is, or a size limit.
 */
export function packetizeH264(
  nals: readonly Buffer[],
  maxPayload: number | ((index: number) => number) = DEFAULT_MAX_PAYLOAD,
): Buffer[] {
  if (nals.length === 0) throw new RtpH264Error('empty access unit');
  let total = 0;
  for (const nal of nals) {
    if (nal.length === 0) throw new RtpH264Error('empty NAL unit');
    const type = nalType(nal);
    if (type === 0 || type >= NAL_STAP_A) throw new RtpH264Error(`NAL unit type ${type} cannot be sent as is`);
    total += nal.length;
  }
  if (total > MAX_ACCESS_UNIT_BYTES) {
    throw new RtpH264Error(`access unit of ${total} bytes exceeds ${MAX_ACCESS_UNIT_BYTES}`);
  }
  const limitAt = typeof maxPayload === 'number' ? () => maxPayload : maxPayload;
  const payloads: Buffer[] = [];
  /** The budget of the packet being built (the next one pushed). */
  const limit = (): number => {
    const n = limitAt(payloads.length);
    if (!Number.isInteger(n) || n < MIN_H264_PAYLOAD || n > MAX_H264_PAYLOAD) {
      throw new RtpH264Error(`maxPayload must be an integer in ${MIN_H264_PAYLOAD}..${MAX_H264_PAYLOAD}, got ${n}`);
    }
    return n;
  };

  let group: Buffer[] = [];
  let groupBytes = 1; // the STAP-A header
  const flush = (): void => {
    if (group.length === 1 && group[0] !== undefined) payloads.push(group[0]);
    else if (group.length > 1) payloads.push(stapA(group, groupBytes));
    group = [];
    groupBytes = 1;
  };
  for (const nal of nals) {
    // A lone NAL unit that fits goes alone; two or more go as a STAP-A if they fit together.
    if (group.length > 0 && groupBytes + STAP_SIZE_BYTES + nal.length > limit()) flush();
    if (group.length === 0 && nal.length > limit()) {
      fuA(nal, limit, payloads);
      continue;
    }
    group.push(nal);
    groupBytes += STAP_SIZE_BYTES + nal.length;
  }
  flush();
  return payloads;
}

/** Rounds of packetizeH264Fitted before it gives up (each round only adds packets; 2 or 3 suffice). */
const MAX_FIT_ROUNDS = 16;

/**
 * packetizeH264 with a budget that depends on the packet's index and on how many packets the
 * access unit ends up with (a signed frame's extensions grow with its length; see
 * signedPayloadLimit). Budgets must not grow with the count; then repacketizing converges.
 */
export function packetizeH264Fitted(
  nals: readonly Buffer[],
  maxPayloadAt: (index: number, count: number) => number,
): Buffer[] {
  let count = 1;
  for (let round = 0; round < MAX_FIT_ROUNDS; round++) {
    const assumed = count;
    const payloads = packetizeH264(nals, (i) => maxPayloadAt(i, assumed));
    if (payloads.length <= assumed) return payloads;
    count = payloads.length;
  }
  throw new RtpH264Error(`packet budgets did not settle after ${MAX_FIT_ROUNDS} rounds`);
}

function stapA(nals: readonly Buffer[], bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let f = 0;
  let nri = 0;
  let pos = 1;
  for (const nal of nals) {
    const header = nal[0] ?? 0;
    f |= header & 0x80;
    nri = Math.max(nri, header & 0x60); // section 5.7: the highest NRI of the aggregated units
    out.writeUInt16BE(nal.length, pos);
    nal.copy(out, pos + STAP_SIZE_BYTES);
    pos += STAP_SIZE_BYTES + nal.length;
  }
  out[0] = f | nri | NAL_STAP_A;
  return out;
}

function fuA(nal: Buffer, limit: () => number, out: Buffer[]): void {
  const header = nal[0] ?? 0;
  const indicator = (header & 0xe0) | NAL_FU_A;
  const type = header & 0x1f;
  for (let pos = 1; pos < nal.length; ) {
    const end = Math.min(nal.length, pos + limit() - FU_HEADER_BYTES);
    const p = Buffer.alloc(FU_HEADER_BYTES + end - pos);
    p[0] = indicator;
    p[1] = (pos === 1 ? FU_START : 0) | (end === nal.length ? FU_END : 0) | type;
    nal.copy(p, FU_HEADER_BYTES, pos, end);
    out.push(p);
    pos = end;
  }
}

/** What one RTP payload holds. NAL units and fragment data are views into the payload. */
export type H264Payload =
  | { readonly kind: 'nal'; readonly nal: Buffer }
  | { readonly kind: 'stap-a'; readonly nals: readonly Buffer[] }
  | {
      readonly kind: 'fu-a';
      readonly start: boolean;
      readonly end: boolean;
      /** The rebuilt NAL header: F and NRI from the indicator, type from the FU header. */
      readonly nalHeader: number;
      readonly data: Buffer;
    };

/**
 * Reads one RTP payload. Refuses an empty payload or a STAP-A entry past the end ('truncated'),
 * F = 1, an empty STAP-A or entry, an FU-A with S and E both set or without data ('malformed'),
 * and types mode 1 does not use: STAP-B, MTAP, FU-B and the reserved 0, 30, 31 ('unsupported').
 */
export function decodeH264Payload(payload: Buffer): Decoded<H264Payload> {
  const header = payload[0];
  if (header === undefined) return fail('truncated');
  // F = 1 says the unit holds a syntax violation (section 5.3); nothing useful to pass on.
  if ((header & 0x80) !== 0) return fail('malformed');
  const type = header & 0x1f;
  if (type >= 1 && type <= 23) return ok({ kind: 'nal', nal: payload });
  if (type === NAL_STAP_A) {
    const nals: Buffer[] = [];
    let pos = 1;
    while (pos < payload.length) {
      if (payload.length < pos + STAP_SIZE_BYTES) return fail('truncated');
      const size = payload.readUInt16BE(pos);
      pos += STAP_SIZE_BYTES;
      if (size === 0) return fail('malformed');
      if (payload.length < pos + size) return fail('truncated');
      nals.push(payload.subarray(pos, pos + size));
      pos += size;
    }
    if (nals.length === 0) return fail('malformed');
    return ok({ kind: 'stap-a', nals });
  }
  if (type === NAL_FU_A) {
    const fuHeader = payload[1];
    if (fuHeader === undefined) return fail('truncated');
    const start = (fuHeader & FU_START) !== 0;
    const end = (fuHeader & FU_END) !== 0;
    const nalTypeInside = fuHeader & 0x1f;
    if ((start && end) || payload.length <= FU_HEADER_BYTES) return fail('malformed');
    if (nalTypeInside === 0 || nalTypeInside >= NAL_STAP_A) return fail('malformed');
    return ok({
      kind: 'fu-a',
      start,
      end,
      nalHeader: (header & 0xe0) | nalTypeInside,
      data: payload.subarray(FU_HEADER_BYTES),
    });
  }
  return fail('unsupported');
}

/**
 * True when an RTP payload starts or carries a random access point: an SPS, or the start of an
 * IDR slice (single NAL unit, inside a STAP-A, or an FU-A with S set). For a POP that keeps the
 * current group of pictures from the packets alone. Never throws; false for what it cannot read.
 */
export function h264PayloadHasKeyframe(payload: Buffer): boolean {
  const decoded = decodeH264Payload(payload);
  if (!decoded.ok) return false;
  const p = decoded.value;
  const key = (type: number) => type === NAL_IDR_SLICE || type === NAL_SPS;
  if (p.kind === 'nal') return key(nalType(p.nal));
  if (p.kind === 'stap-a') return p.nals.some((n) => key(nalType(n)));
  return p.start && key(p.nalHeader & 0x1f);
}
