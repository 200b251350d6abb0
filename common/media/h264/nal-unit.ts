/**
 * H.264 NAL units (ITU-T H.264 section 7.3.1) as MP4 stores them and as decoders read them.
 *
 * Every NAL unit starts with a one-byte header:
 *
 *   +---------------+
 *   |0|1|2|3|4|5|6|7|
 *   +-+-+-+-+-+-+-+-+
 *   |F|NRI|  Type   |
 *   +---------------+
 *
 * MP4 (ISO/IEC 14496-15) stores an access unit as NAL units each preceded by its length in
 * 1, 2 or 4 big-endian bytes (avcC's lengthSizeMinusOne + 1). A raw elementary stream
 * (Annex B) separates them with start codes 00 00 00 01 instead; that is what `ffmpeg -f h264`
 * reads.
 */
import { fail, ok, type Decoded } from '../../wire/result.ts';

/** NAL unit types used here (H.264 table 7-1, RFC 6184 table 1). */
export const NAL_NON_IDR_SLICE = 1;
export const NAL_IDR_SLICE = 5;
export const NAL_SEI = 6;
export const NAL_SPS = 7;
export const NAL_PPS = 8;
export const NAL_AUD = 9;
/** RTP packetization types (RFC 6184 section 5.2). */
export const NAL_STAP_A = 24;
export const NAL_FU_A = 28;

/** Most NAL units in one access unit (x264 writes a handful; 1024 is far above any encoder's slice count). */
export const MAX_NALS_PER_ACCESS_UNIT = 1024;
/** Largest access unit we carry (8 MiB: a 4K intra frame at very high quality stays below). */
export const MAX_ACCESS_UNIT_BYTES = 8 * 1024 * 1024;

export type NalLengthSize = 1 | 2 | 4;

const START_CODE = Buffer.from([0, 0, 0, 1]);

/** The 5-bit type of a NAL unit; 0 (unspecified) for an empty buffer. */
export function nalType(nal: Buffer): number {
  return (nal[0] ?? 0) & 0x1f;
}

/** True for the slice of an IDR picture, where a decoder may start. */
export function isIdr(nal: Buffer): boolean {
  return nalType(nal) === NAL_IDR_SLICE;
}

/**
 * Splits an MP4 sample into its NAL units (views into `sample`, not copies). Refuses a length
 * that runs past the end ('truncated'), an empty NAL unit or more than MAX_NALS_PER_ACCESS_UNIT
 * ('malformed'), and a sample over MAX_ACCESS_UNIT_BYTES ('oversize').
 */
export function splitLengthPrefixed(sample: Buffer, lengthSize: NalLengthSize): Decoded<Buffer[]> {
  if (sample.length > MAX_ACCESS_UNIT_BYTES) return fail('oversize');
  const nals: Buffer[] = [];
  let pos = 0;
  while (pos < sample.length) {
    if (sample.length < pos + lengthSize) return fail('truncated');
    const length = sample.readUIntBE(pos, lengthSize);
    pos += lengthSize;
    if (length === 0 || nals.length === MAX_NALS_PER_ACCESS_UNIT) return fail('malformed');
    if (sample.length < pos + length) return fail('truncated');
    nals.push(sample.subarray(pos, pos + length));
    pos += length;
  }
  return ok(nals);
}

/** The inverse of splitLengthPrefixed, with 4-byte lengths. */
export function joinLengthPrefixed(nals: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const nal of nals) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(nal.length, 0);
    parts.push(length, nal);
  }
  return Buffer.concat(parts);
}

/** NAL units with Annex B start codes, for `ffmpeg -f h264` and players fed a raw stream. */
export function toAnnexB(nals: readonly Buffer[]): Buffer {
  return Buffer.concat(nals.flatMap((nal) => [START_CODE, nal]));
}

/**
 * An access unit that starts with the parameter sets when it holds an IDR slice (or `keyframe`
 * says it is a random access point, e.g. an I picture with a recovery point) and lacks them, so
 * a viewer who joins there can decode it (MP4 keeps SPS/PPS in avcC, not in band). Other access
 * units, and those already carrying an SPS, are returned as they are.
 */
export function withParameterSets(
  nals: readonly Buffer[],
  sps: readonly Buffer[],
  pps: readonly Buffer[],
  keyframe = false,
): readonly Buffer[] {
  if (!(keyframe || nals.some(isIdr)) || nals.some((n) => nalType(n) === NAL_SPS)) return nals;
  // An access unit delimiter must stay first (H.264 section 7.4.1.2.3).
  const aud = nals[0] !== undefined && nalType(nals[0]) === NAL_AUD ? [nals[0]] : [];
  return [...aud, ...sps, ...pps, ...nals.slice(aud.length)];
}

/**
 * profile-level-id for SDP (RFC 6184 section 8.1): profile_idc, the constraint flags and
 * level_idc, the three bytes after the SPS's NAL header, as six hex digits; undefined when the
 * SPS is too short.
 */
export function profileLevelId(sps: Buffer): string | undefined {
  if (sps.length < 4 || nalType(sps) !== NAL_SPS) return undefined;
  return sps.subarray(1, 4).toString('hex');
}
