/**
 * The frame-signature RTP header extension: what a server adds to the packets of every frame it
 * originates so that POPs and clients can tell its frames from anything else. Format only; the
 * hashing and Ed25519 signing live in common/security/frame-signature.ts.
 *
 * Elements in the RFC 8285 two-byte-header form (profile 0x1000). The first packet of a frame
 * (JPEG fragment offset 0) carries the head, ID 1:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    ID = 1     |    L = 74     |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |             key id: SHA-256(server public key)[0..8)          |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |  packet count n of the frame  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Ed25519 signature (64 bytes)                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * and hash lists, ID 2 (L = 16k, k <= 15): SHA-256 truncated to 16 bytes of whole packets.
 * The ID 2 elements of packet i list, in order across elements, the hashes of packets i+1, i+2, …
 * of the same frame: packet 0 lists 1..min(L, n-1); a frame longer than L+1 packets continues
 * the chain in packet L (hashes of L+1..2L), then 2L, and so on (L = FRAME_AUTH_CHAIN_SPAN), so
 * every packet can be checked as soon as the packet before it in the chain has been.
 *
 * Players that do not know the extension skip it (RFC 3550 section 5.3.1).
 */
import { KEY_ID_BYTES } from '../security/server-keyring.ts';
import { fail, ok, type Decoded } from './result.ts';
import {
  decodeExtensionElements,
  encodeExtensionElements,
  extensionElementsBytes,
  RTP_EXT_PROFILE_TWO_BYTE,
  RTP_HEADER_BYTES,
  type RtpExtensionElement,
  type RtpPacket,
} from './rtp.ts';

export const FRAME_AUTH_HEAD_ID = 1;
export const FRAME_AUTH_HASHES_ID = 2;
/** How SDP names the two elements (a=extmap): private URNs, so players that do not know them ignore them. */
export const FRAME_AUTH_EXTMAP = [
  { id: FRAME_AUTH_HEAD_ID, uri: 'urn:x-overlay-cdn:rtp-hdrext:frame-signature' },
  { id: FRAME_AUTH_HASHES_ID, uri: 'urn:x-overlay-cdn:rtp-hdrext:packet-hashes' },
] as const;
export const FRAME_SIGNATURE_BYTES = 64;
/** Key id, packet count, signature. */
export const FRAME_HEAD_BYTES = KEY_ID_BYTES + 2 + FRAME_SIGNATURE_BYTES;
/** Truncated SHA-256: 128 bits keep second preimages out of reach, at half the size. */
export const PACKET_HASH_BYTES = 16;
/** 15 × 16 = 240 bytes: the most whole hashes one two-byte-header element (≤ 255 bytes) holds. */
export const HASHES_PER_ELEMENT = 15;
/** Packets whose hashes one packet carries (L): at most 3 elements, about 650 bytes. */
export const FRAME_AUTH_CHAIN_SPAN = 40;
/** The packet count is 16 bits; sequence numbers of one frame must not wrap onto themselves either. */
export const MAX_FRAME_PACKETS = 0x7fff;

export interface FrameHead {
  readonly keyId: Buffer;
  readonly packetCount: number;
  /** A view into the packet when decoded (its position is what the signature zeroes). */
  readonly signature: Buffer;
}

export interface FrameAuth {
  /** Present in the first packet of a frame only. */
  readonly head: FrameHead | null;
  /** Hashes of the packets that follow this one, next first. */
  readonly hashes: readonly Buffer[];
}

/** Thrown by encodeFrameAuth for fields the format cannot carry. */
export class FrameAuthError extends Error {
  override readonly name = 'FrameAuthError';
}

/**
 * Where encodeFrameAuth's head puts the signature in an encoded packet with `csrcCount` CSRCs:
 * after the RTP header, the extension header (4 bytes), the element's id and length (2), the key
 * id and the packet count. Fixed, because the head is always the first element.
 */
export function headSignatureOffset(csrcCount: number): number {
  return RTP_HEADER_BYTES + 4 * csrcCount + 4 + 2 + KEY_ID_BYTES + 2;
}

export function encodeFrameAuth(auth: FrameAuth): { profile: number; data: Buffer } {
  const elements: RtpExtensionElement[] = [];
  const head = auth.head;
  if (head !== null) {
    if (head.keyId.length !== KEY_ID_BYTES) throw new FrameAuthError(`key id must be ${KEY_ID_BYTES} bytes`);
    if (head.signature.length !== FRAME_SIGNATURE_BYTES) {
      throw new FrameAuthError(`signature must be ${FRAME_SIGNATURE_BYTES} bytes`);
    }
    if (!Number.isInteger(head.packetCount) || head.packetCount < 1 || head.packetCount > MAX_FRAME_PACKETS) {
      throw new FrameAuthError(`packet count must be in 1..${MAX_FRAME_PACKETS}, got ${head.packetCount}`);
    }
    const data = Buffer.alloc(FRAME_HEAD_BYTES);
    head.keyId.copy(data, 0);
    data.writeUInt16BE(head.packetCount, KEY_ID_BYTES);
    head.signature.copy(data, KEY_ID_BYTES + 2);
    // First, so the signature sits at a fixed place in what the signer encodes.
    elements.push({ id: FRAME_AUTH_HEAD_ID, data });
  }
  if (auth.hashes.length > FRAME_AUTH_CHAIN_SPAN) {
    throw new FrameAuthError(`at most ${FRAME_AUTH_CHAIN_SPAN} hashes per packet`);
  }
  if (auth.hashes.some((h) => h.length !== PACKET_HASH_BYTES)) {
    throw new FrameAuthError(`hashes must be ${PACKET_HASH_BYTES} bytes`);
  }
  for (let i = 0; i < auth.hashes.length; i += HASHES_PER_ELEMENT) {
    elements.push({ id: FRAME_AUTH_HASHES_ID, data: Buffer.concat(auth.hashes.slice(i, i + HASHES_PER_ELEMENT)) });
  }
  return encodeExtensionElements(elements);
}

/**
 * Reads the frame-signature elements of a packet's header extension; a packet without an
 * extension has none ({ head: null, hashes: [] }). Elements with other IDs are ignored (RFC 8285).
 * Refuses ('malformed') a head of the wrong size or a zero count, two heads, a hash element that
 * is not whole hashes, more than FRAME_AUTH_CHAIN_SPAN hashes, and a head listing more hashes
 * than its frame has packets after it; 'unsupported' for the one-byte form or a foreign profile.
 */
export function decodeFrameAuth(ext: RtpPacket['extension']): Decoded<FrameAuth> {
  if (ext === undefined) return ok({ head: null, hashes: [] });
  if ((ext.profile & 0xfff0) !== RTP_EXT_PROFILE_TWO_BYTE) return fail('unsupported');
  const elements = decodeExtensionElements(ext);
  if (!elements.ok) return elements;
  let head: FrameHead | null = null;
  const hashes: Buffer[] = [];
  for (const e of elements.value) {
    if (e.id === FRAME_AUTH_HEAD_ID) {
      if (head !== null || e.data.length !== FRAME_HEAD_BYTES) return fail('malformed');
      const packetCount = e.data.readUInt16BE(KEY_ID_BYTES);
      if (packetCount === 0 || packetCount > MAX_FRAME_PACKETS) return fail('malformed');
      head = {
        keyId: e.data.subarray(0, KEY_ID_BYTES),
        packetCount,
        signature: e.data.subarray(KEY_ID_BYTES + 2, FRAME_HEAD_BYTES),
      };
    } else if (e.id === FRAME_AUTH_HASHES_ID) {
      if (e.data.length === 0 || e.data.length % PACKET_HASH_BYTES !== 0) return fail('malformed');
      for (let pos = 0; pos < e.data.length; pos += PACKET_HASH_BYTES) {
        hashes.push(e.data.subarray(pos, pos + PACKET_HASH_BYTES));
      }
      if (hashes.length > FRAME_AUTH_CHAIN_SPAN) return fail('malformed');
    }
  }
  if (head !== null && hashes.length > head.packetCount - 1) return fail('malformed');
  return ok({ head, hashes });
}

/**
 * Which packets' hashes packet `index` of a `count`-packet frame carries: `first` (an index) and
 * how many; null for a packet that carries none.
 */
export function chainHashesOf(index: number, count: number): { first: number; count: number } | null {
  if (index !== 0 && index % FRAME_AUTH_CHAIN_SPAN !== 0) return null;
  const n = Math.min(FRAME_AUTH_CHAIN_SPAN, count - 1 - index);
  return n > 0 ? { first: index + 1, count: n } : null;
}

/** Extension bytes (RTP extension header included) that packet `index` of a `count`-packet frame carries. */
export function frameAuthBytes(index: number, count: number): number {
  const chain = chainHashesOf(index, count);
  const lengths: number[] = index === 0 ? [FRAME_HEAD_BYTES] : [];
  for (let left = chain?.count ?? 0; left > 0; left -= HASHES_PER_ELEMENT) {
    lengths.push(Math.min(left, HASHES_PER_ELEMENT) * PACKET_HASH_BYTES);
  }
  return extensionElementsBytes(lengths);
}

/**
 * The payload budget of packet `index` in a `count`-packet signed frame, for packets of at most
 * `maxRtpBytes` (RTP header without CSRCs, extension and payload).
 */
export function signedPayloadLimit(maxRtpBytes: number): (index: number, count: number) => number {
  return (index, count) => maxRtpBytes - RTP_HEADER_BYTES - frameAuthBytes(index, count);
}
