/**
 * RTP data packets (RFC 3550 section 5.1).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                  (CC of them, 4 bytes each)                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   defined by profile (X=1)    |  length (in 32-bit words)     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  header extension (length words)              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            payload                            |
 * |                               +-------------------------------+
 * |                               | padding (P=1) ... | pad count |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The fixed header is read by the `rtp-parser` package; it reads CSRCs at the wrong
 * offset (9 + 4i) and ignores the extension and padding, so those are decoded here.
 */
import { createRequire } from 'node:module';
import { fail, ok, type Decoded } from './result.ts';

export const RTP_VERSION = 2;
export const RTP_HEADER_BYTES = 12;
/** CC is a 4-bit field. */
export const RTP_MAX_CSRCS = 15;
/** The extension length field counts 32-bit words in 16 bits. */
export const RTP_MAX_EXTENSION_BYTES = 0xffff * 4;
/** The padding count is one byte and includes itself. */
export const RTP_MAX_PADDING_BYTES = 255;
/** Largest packet any of our transports carries: RTSP interleaving has a 16-bit length (UDP allows less). */
export const RTP_MAX_PACKET_BYTES = 65535;

const EXTENSION_HEADER_BYTES = 4;

export interface RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrcs: readonly number[];
  /** Header extension; `data` is a whole number of 32-bit words. */
  readonly extension?: { readonly profile: number; readonly data: Buffer };
  /** Decoded payloads are views into the packet buffer, not copies. */
  readonly payload: Buffer;
  /** Bytes of padding after the payload, counting the final count byte (1..255). */
  readonly paddingBytes?: number;
}

/** Thrown by encodeRtp when asked to encode a packet RTP cannot represent. */
export class RtpEncodeError extends Error {
  override readonly name = 'RtpEncodeError';
}

/** The fields of rtp-parser's result that we rely on. */
interface RtpParserFixedHeader {
  readonly version: number;
  readonly padding: number;
  readonly extension: number;
  readonly marker: number;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
}

// rtp-parser is CommonJS without type declarations; load it once with a local type.
const rtpParser = createRequire(import.meta.url)('rtp-parser') as {
  parseRtpPacket(buf: Buffer): RtpParserFixedHeader;
};

function checkUint(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RtpEncodeError(`${what} must be an integer in 0..${max}, got ${value}`);
  }
}

export function encodeRtp(p: RtpPacket): Buffer {
  checkUint(p.payloadType, 0x7f, 'payloadType');
  checkUint(p.sequenceNumber, 0xffff, 'sequenceNumber');
  checkUint(p.timestamp, 0xffffffff, 'timestamp');
  checkUint(p.ssrc, 0xffffffff, 'ssrc');
  if (p.csrcs.length > RTP_MAX_CSRCS) {
    throw new RtpEncodeError(`at most ${RTP_MAX_CSRCS} CSRCs fit in an RTP header, got ${p.csrcs.length}`);
  }
  for (const csrc of p.csrcs) checkUint(csrc, 0xffffffff, 'csrc');
  const ext = p.extension;
  if (ext !== undefined) {
    checkUint(ext.profile, 0xffff, 'extension profile');
    if (ext.data.length % 4 !== 0 || ext.data.length > RTP_MAX_EXTENSION_BYTES) {
      throw new RtpEncodeError(
        `extension data must be a multiple of 4 bytes up to ${RTP_MAX_EXTENSION_BYTES}, got ${ext.data.length}`,
      );
    }
  }
  const padding = p.paddingBytes ?? 0;
  checkUint(padding, RTP_MAX_PADDING_BYTES, 'paddingBytes');

  const extBytes = ext === undefined ? 0 : EXTENSION_HEADER_BYTES + ext.data.length;
  const headerBytes = RTP_HEADER_BYTES + 4 * p.csrcs.length + extBytes;
  const total = headerBytes + p.payload.length + padding;
  if (total > RTP_MAX_PACKET_BYTES) {
    throw new RtpEncodeError(`packet of ${total} bytes exceeds ${RTP_MAX_PACKET_BYTES}`);
  }
  const buf = Buffer.alloc(total);
  buf[0] = (RTP_VERSION << 6) | (padding > 0 ? 0x20 : 0) | (ext !== undefined ? 0x10 : 0) | p.csrcs.length;
  buf[1] = (p.marker ? 0x80 : 0) | p.payloadType;
  buf.writeUInt16BE(p.sequenceNumber, 2);
  buf.writeUInt32BE(p.timestamp, 4);
  buf.writeUInt32BE(p.ssrc, 8);
  let pos = RTP_HEADER_BYTES;
  for (const csrc of p.csrcs) {
    buf.writeUInt32BE(csrc, pos);
    pos += 4;
  }
  if (ext !== undefined) {
    buf.writeUInt16BE(ext.profile, pos);
    buf.writeUInt16BE(ext.data.length / 4, pos + 2);
    ext.data.copy(buf, pos + EXTENSION_HEADER_BYTES);
    pos += extBytes;
  }
  p.payload.copy(buf, pos);
  // Padding octets are zero except the last, which counts them all (itself included).
  if (padding > 0) buf[buf.length - 1] = padding;
  return buf;
}

export function decodeRtp(buf: Buffer): Decoded<RtpPacket> {
  if (buf.length > RTP_MAX_PACKET_BYTES) return fail('oversize');
  if (buf.length < RTP_HEADER_BYTES) return fail('truncated');
  const first = buf[0] ?? 0;
  const csrcCount = first & 0x0f;
  // Hand rtp-parser only the fixed header with CC cleared, so its misplaced CSRC reads
  // can neither go out of bounds nor cost anything.
  const fixed = Buffer.from(buf.subarray(0, RTP_HEADER_BYTES));
  fixed[0] = first & 0xf0;
  const h = rtpParser.parseRtpPacket(fixed);
  // Versions 0 and 1 (vat, RFC 1889 drafts) are well-formed packets we do not speak.
  if (h.version !== RTP_VERSION) return fail('unsupported');

  let pos = RTP_HEADER_BYTES;
  if (buf.length < pos + 4 * csrcCount) return fail('truncated');
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++) {
    csrcs.push(buf.readUInt32BE(pos));
    pos += 4;
  }

  let extension: RtpPacket['extension'];
  if (h.extension === 1) {
    if (buf.length < pos + EXTENSION_HEADER_BYTES) return fail('truncated');
    const profile = buf.readUInt16BE(pos);
    const dataBytes = 4 * buf.readUInt16BE(pos + 2);
    pos += EXTENSION_HEADER_BYTES;
    if (buf.length < pos + dataBytes) return fail('truncated');
    extension = { profile, data: buf.subarray(pos, pos + dataBytes) };
    pos += dataBytes;
  }

  let end = buf.length;
  let paddingBytes: number | undefined;
  if (h.padding === 1) {
    // The count includes itself, so 0 is invalid, and padding cannot eat into the header.
    paddingBytes = buf[buf.length - 1] ?? 0;
    if (paddingBytes === 0 || paddingBytes > buf.length - pos) return fail('malformed');
    end -= paddingBytes;
  }

  const packet: RtpPacket = {
    marker: h.marker === 1,
    payloadType: h.payloadType,
    sequenceNumber: h.sequenceNumber,
    timestamp: h.timestamp,
    ssrc: h.ssrc,
    csrcs,
    payload: buf.subarray(pos, end),
    ...(extension !== undefined ? { extension } : {}),
    ...(paddingBytes !== undefined ? { paddingBytes } : {}),
  };
  return ok(packet);
}

/*
 * Header fields read straight from an encoded packet, for code that forwards packets without
 * decoding them (relays, caches, POPs). They never throw: a buffer too short for the field
 * reads as 0 (false for the marker).
 */

/** The M bit. */
export function rtpMarker(buf: Buffer): boolean {
  return buf.length >= RTP_HEADER_BYTES && ((buf[1] ?? 0) & 0x80) !== 0;
}

/** The X bit: a header extension follows the CSRCs. */
export function rtpHasExtension(buf: Buffer): boolean {
  return buf.length >= RTP_HEADER_BYTES && ((buf[0] ?? 0) & 0x10) !== 0;
}

/** The 16-bit sequence number. */
export function rtpSequence(buf: Buffer): number {
  return buf.length >= RTP_HEADER_BYTES ? buf.readUInt16BE(2) : 0;
}

/** The 32-bit RTP timestamp. */
export function rtpTimestamp(buf: Buffer): number {
  return buf.length >= RTP_HEADER_BYTES ? buf.readUInt32BE(4) : 0;
}

/** The 32-bit SSRC. */
export function rtpSsrc(buf: Buffer): number {
  return buf.length >= RTP_HEADER_BYTES ? buf.readUInt32BE(8) : 0;
}

/** Signed distance a - b between 16-bit sequence numbers, in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  return ((((a - b) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
}

/** RFC 3550 serial-number order: true when `a` comes after `b` (modulo 2^16). */
export function seqNewer(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/*
 * RTP header extension elements (RFC 8285). The extension's 16-bit "defined by profile" field
 * says which of the two element forms follows:
 *
 * One-byte header, profile 0xBEDE: ID 1..14 in 4 bits, L = length - 1 in 4 bits (1..16 bytes):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       0xBE    |    0xDE       |           length=3            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  ID   | L=0   |     data      |  ID   |  L=1  |   data...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Two-byte header, profile 0x100 << 4 | appbits: ID 1..255 and length 0..255 in a byte each:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         0x100         |appbits|           length=3            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      ID       |     L=0       |     ID        |     L=1       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       data    |
 * +-+-+-+-+-+-+-+-+
 *
 * In both forms a zero byte between elements is padding, and the area is zero-padded to 32 bits.
 */

export const RTP_EXT_PROFILE_ONE_BYTE = 0xbede;
/** Two-byte form with appbits 0 (the top 12 bits 0x100 mark the form). */
export const RTP_EXT_PROFILE_TWO_BYTE = 0x1000;
export const RTP_EXT_TWO_BYTE_MAX_ID = 255;
export const RTP_EXT_TWO_BYTE_MAX_DATA = 255;
const ONE_BYTE_STOP_ID = 15;

export interface RtpExtensionElement {
  readonly id: number;
  /** A view into the packet when decoded. */
  readonly data: Buffer;
}

/** Encodes elements in the two-byte form, padded to 32 bits, ready for RtpPacket.extension. */
export function encodeExtensionElements(elements: readonly RtpExtensionElement[]): { profile: number; data: Buffer } {
  let bytes = 0;
  for (const e of elements) {
    checkUint(e.id, RTP_EXT_TWO_BYTE_MAX_ID, 'extension element id');
    if (e.id === 0) throw new RtpEncodeError('extension element id 0 is reserved for padding');
    if (e.data.length > RTP_EXT_TWO_BYTE_MAX_DATA) {
      const max = RTP_EXT_TWO_BYTE_MAX_DATA;
      throw new RtpEncodeError(`extension element data is at most ${max} bytes, got ${e.data.length}`);
    }
    bytes += 2 + e.data.length;
  }
  const data = Buffer.alloc(Math.ceil(bytes / 4) * 4);
  if (data.length > RTP_MAX_EXTENSION_BYTES) throw new RtpEncodeError(`extension of ${data.length} bytes is too large`);
  let pos = 0;
  for (const e of elements) {
    data[pos] = e.id;
    data[pos + 1] = e.data.length;
    e.data.copy(data, pos + 2);
    pos += 2 + e.data.length;
  }
  return { profile: RTP_EXT_PROFILE_TWO_BYTE, data };
}

/** Bytes the extension of these element data lengths takes in a packet, header included (0 for none). */
export function extensionElementsBytes(dataLengths: readonly number[]): number {
  if (dataLengths.length === 0) return 0;
  const bytes = dataLengths.reduce((n, l) => n + 2 + l, 0);
  return EXTENSION_HEADER_BYTES + Math.ceil(bytes / 4) * 4;
}

/**
 * Splits a header extension into its elements, in either RFC 8285 form. 'unsupported' for a
 * profile that is neither; 'truncated' when an element runs past the extension.
 */
export function decodeExtensionElements(ext: {
  readonly profile: number;
  readonly data: Buffer;
}): Decoded<RtpExtensionElement[]> {
  const { data } = ext;
  const oneByte = ext.profile === RTP_EXT_PROFILE_ONE_BYTE;
  if (!oneByte && (ext.profile & 0xfff0) !== RTP_EXT_PROFILE_TWO_BYTE) return fail('unsupported');
  const out: RtpExtensionElement[] = [];
  let pos = 0;
  while (pos < data.length) {
    const first = data[pos] ?? 0;
    // A zero byte (in the one-byte form, any byte with ID 0) is padding between elements.
    if (first === 0 || (oneByte && first >> 4 === 0)) {
      pos++;
      continue;
    }
    let id: number;
    let length: number;
    if (oneByte) {
      id = first >> 4;
      // ID 15 ends the list (RFC 8285 section 4.2): the rest is to be ignored.
      if (id === ONE_BYTE_STOP_ID) break;
      length = (first & 0x0f) + 1;
      pos += 1;
    } else {
      if (pos + 2 > data.length) return fail('truncated');
      id = first;
      length = data[pos + 1] ?? 0;
      pos += 2;
    }
    if (pos + length > data.length) return fail('truncated');
    out.push({ id, data: data.subarray(pos, pos + length) });
    pos += length;
  }
  return ok(out);
}
