/**
 * RTP payload format for AAC (RFC 3640, mpeg4-generic, mode=AAC-hbr: sizeLength=13,
 * indexLength=3, indexDeltaLength=3, no auxiliary section).
 *
 * +---------+-----------+-----------+---------------+
 * | RTP     | AU Header | Auxiliary | Access Unit   |
 * | Header  | Section   | Section   | Data Section  |
 * +---------+-----------+-----------+---------------+
 *
 * The AU header section is a 16-bit AU-headers-length (in bits) and then one 16-bit header per
 * access unit (AAC frame), the AUs' bytes following in the same order:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   AU-headers-length (bits)    |  AU-size (13 bits)      |Index|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  AU-size (13 bits)      |Delta| ...  AU data ...              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Without interleaving, AU-Index and every AU-Index-delta are 0: the AUs are consecutive, and
 * the RTP timestamp (at the sampling rate) is the first one's. An AU too big for one packet is
 * fragmented: each packet holds one header whose AU-size is the whole AU's, and only the last
 * fragment has the marker bit (section 3.2.3.2); every other packet has it set.
 */
import { fail, ok, type Decoded } from '../../wire/result.ts';
import { DEFAULT_MAX_PAYLOAD } from '../../wire/rtp-jpeg.ts';

/** Dynamic payload type used in our SDP for the audio track. */
export const RTP_AAC_PAYLOAD_TYPE = 97;
/** AAC frames hold 1024 samples (960 in rare variants; HE-AAC counts at the core rate). */
export const AAC_SAMPLES_PER_FRAME = 1024;
export const AU_SIZE_BITS = 13;
export const AU_INDEX_BITS = 3;
/** The largest AU a 13-bit size can describe. */
export const MAX_AAC_FRAME_BYTES = (1 << AU_SIZE_BITS) - 1;
/** Frames one packet may aggregate by default: 4 frames are 85 ms at 48 kHz, a bound on added delay. */
export const DEFAULT_AAC_FRAMES_PER_PACKET = 4;

const HEADERS_LENGTH_BYTES = 2;
const AU_HEADER_BYTES = 2;
const TIMESTAMP_MOD = 2 ** 32;

export interface AacFrame {
  /** RTP timestamp at the sampling rate. */
  readonly timestamp: number;
  readonly data: Buffer;
}

export interface AacRtpPayload {
  readonly payload: Buffer;
  readonly timestamp: number;
  readonly marker: boolean;
}

export interface AacPacketizeOptions {
  /** Bytes of RTP payload per packet; default DEFAULT_MAX_PAYLOAD (1400). */
  readonly maxPayload?: number;
  /** Most frames in one packet; default DEFAULT_AAC_FRAMES_PER_PACKET. */
  readonly maxFramesPerPacket?: number;
  /** Timestamp step between consecutive frames; default AAC_SAMPLES_PER_FRAME. */
  readonly frameDuration?: number;
}

/** Thrown by packetizeAac for a frame or size it cannot send. */
export class RtpAacError extends Error {
  override readonly name = 'RtpAacError';
}

/**
 * Packs frames (in order) into RTP payloads: consecutive frames (each `frameDuration` after the
 * previous) share a packet while it stays within `maxPayload` and `maxFramesPerPacket`; a frame
 * too big for a packet alone is fragmented.
 */
export function packetizeAac(frames: readonly AacFrame[], options: AacPacketizeOptions = {}): AacRtpPayload[] {
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const maxFrames = options.maxFramesPerPacket ?? DEFAULT_AAC_FRAMES_PER_PACKET;
  const frameDuration = options.frameDuration ?? AAC_SAMPLES_PER_FRAME;
  const minPayload = HEADERS_LENGTH_BYTES + AU_HEADER_BYTES + 1;
  if (!Number.isInteger(maxPayload) || maxPayload < minPayload || maxPayload > 0xffff) {
    throw new RtpAacError(`maxPayload must be an integer in ${minPayload}..65535, got ${maxPayload}`);
  }
  if (!Number.isInteger(maxFrames) || maxFrames < 1) throw new RtpAacError(`invalid maxFramesPerPacket ${maxFrames}`);
  for (const f of frames) {
    if (f.data.length === 0 || f.data.length > MAX_AAC_FRAME_BYTES) {
      throw new RtpAacError(`AAC frame of ${f.data.length} bytes is outside 1..${MAX_AAC_FRAME_BYTES}`);
    }
  }

  const out: AacRtpPayload[] = [];
  let group: AacFrame[] = [];
  let groupBytes = HEADERS_LENGTH_BYTES;
  const flush = (): void => {
    const first = group[0];
    if (first !== undefined) out.push({ payload: aggregate(group), timestamp: first.timestamp, marker: true });
    group = [];
    groupBytes = HEADERS_LENGTH_BYTES;
  };
  for (const f of frames) {
    if (HEADERS_LENGTH_BYTES + AU_HEADER_BYTES + f.data.length > maxPayload) {
      flush();
      out.push(...fragment(f, maxPayload));
      continue;
    }
    const last = group[group.length - 1];
    const consecutive = last === undefined || (last.timestamp + frameDuration) % TIMESTAMP_MOD === f.timestamp;
    const fits = groupBytes + AU_HEADER_BYTES + f.data.length <= maxPayload;
    if (!consecutive || !fits || group.length >= maxFrames) flush();
    group.push(f);
    groupBytes += AU_HEADER_BYTES + f.data.length;
  }
  flush();
  return out;
}

function aggregate(frames: readonly AacFrame[]): Buffer {
  const headerBytes = HEADERS_LENGTH_BYTES + AU_HEADER_BYTES * frames.length;
  const out = Buffer.alloc(headerBytes + frames.reduce((n, f) => n + f.data.length, 0));
  out.writeUInt16BE(AU_HEADER_BYTES * 8 * frames.length, 0);
  let pos = headerBytes;
  frames.forEach((f, i) => {
    out.writeUInt16BE(f.data.length << AU_INDEX_BITS, HEADERS_LENGTH_BYTES + AU_HEADER_BYTES * i);
    f.data.copy(out, pos);
    pos += f.data.length;
  });
  return out;
}

function fragment(f: AacFrame, maxPayload: number): AacRtpPayload[] {
  const chunk = maxPayload - HEADERS_LENGTH_BYTES - AU_HEADER_BYTES;
  const out: AacRtpPayload[] = [];
  for (let pos = 0; pos < f.data.length; pos += chunk) {
    const end = Math.min(f.data.length, pos + chunk);
    const p = Buffer.alloc(HEADERS_LENGTH_BYTES + AU_HEADER_BYTES + end - pos);
    p.writeUInt16BE(AU_HEADER_BYTES * 8, 0);
    p.writeUInt16BE(f.data.length << AU_INDEX_BITS, HEADERS_LENGTH_BYTES);
    f.data.copy(p, HEADERS_LENGTH_BYTES + AU_HEADER_BYTES, pos, end);
    out.push({ payload: p, timestamp: f.timestamp, marker: end === f.data.length });
  }
  return out;
}

/** What one payload holds: whole AUs (views into it), or a piece of one AU of `auSize` bytes. */
export type AacPayload =
  | { readonly kind: 'frames'; readonly frames: readonly Buffer[] }
  | { readonly kind: 'fragment'; readonly auSize: number; readonly data: Buffer };

/**
 * Reads one payload. Refuses headers or data past the end ('truncated'), a headers length that
 * is not whole 16-bit headers, an AU of size 0, AU sizes that do not add up to the data
 * ('malformed'), and a nonzero index or delta, i.e. interleaving ('unsupported').
 */
export function decodeAacPayload(payload: Buffer): Decoded<AacPayload> {
  if (payload.length < HEADERS_LENGTH_BYTES) return fail('truncated');
  const headerBits = payload.readUInt16BE(0);
  if (headerBits === 0 || headerBits % (AU_HEADER_BYTES * 8) !== 0) return fail('malformed');
  const count = headerBits / (AU_HEADER_BYTES * 8);
  const dataStart = HEADERS_LENGTH_BYTES + count * AU_HEADER_BYTES;
  if (payload.length < dataStart) return fail('truncated');
  const sizes: number[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const header = payload.readUInt16BE(HEADERS_LENGTH_BYTES + AU_HEADER_BYTES * i);
    if ((header & ((1 << AU_INDEX_BITS) - 1)) !== 0) return fail('unsupported');
    const size = header >> AU_INDEX_BITS;
    if (size === 0) return fail('malformed');
    sizes.push(size);
    total += size;
  }
  const data = payload.subarray(dataStart);
  if (count === 1 && total > data.length) {
    if (data.length === 0) return fail('truncated');
    return ok({ kind: 'fragment', auSize: total, data });
  }
  if (total > data.length) return fail('truncated');
  if (total < data.length) return fail('malformed');
  const frames: Buffer[] = [];
  let pos = 0;
  for (const size of sizes) {
    frames.push(data.subarray(pos, pos + size));
    pos += size;
  }
  return ok({ kind: 'frames', frames });
}
