/**
 * Signing and checking frames with the frame-signature extension (common/wire/frame-auth.ts).
 *
 * A server signs each frame once, when it sends it: packet hashes are chained backwards from
 * the end of the frame (a packet's hash covers the hashes it carries), and the first packet is
 * signed with Ed25519 over
 *
 *   FRAME_SIGNATURE_DOMAIN | u16 length of the movie name | movie name (UTF-8) |
 *   SHA-256(the first packet's complete bytes with the 64 signature bytes zeroed)
 *
 * so one signature covers every byte of every packet of the frame (RTP headers included: the
 * sequence numbers, timestamp, SSRC and marker) and binds it to the movie.
 * Pure computation (node:crypto): no I/O, no clock.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import {
  chainHashesOf,
  decodeFrameAuth,
  encodeFrameAuth,
  FRAME_SIGNATURE_BYTES,
  type FrameAuth,
  type FrameHead,
  headSignatureOffset,
  MAX_FRAME_PACKETS,
  PACKET_HASH_BYTES,
} from '../wire/frame-auth.ts';
import { decodeRtp, encodeRtp, type RtpPacket } from '../wire/rtp.ts';
import { keyIdOf, rawEd25519 } from './server-keyring.ts';

/** Keeps these signatures from being valid for any other use of the same key. */
export const FRAME_SIGNATURE_DOMAIN = Buffer.from('overlay-cdn frame signature v1\0', 'latin1');
const ZERO_SIGNATURE = Buffer.alloc(FRAME_SIGNATURE_BYTES);

/** Truncated SHA-256 of a packet's complete bytes, as the hash lists carry it. */
export function packetHash(rtp: Buffer): Buffer {
  return createHash('sha256').update(rtp).digest().subarray(0, PACKET_HASH_BYTES);
}

/** What the Ed25519 signature covers, given the first packet's digest with the signature zeroed. */
function signedMessage(movie: string, headDigest: Buffer): Buffer {
  const name = Buffer.from(movie, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(Math.min(name.length, 0xffff));
  return Buffer.concat([FRAME_SIGNATURE_DOMAIN, length, name, headDigest]);
}

/** SHA-256 of `raw` with the 64 bytes at `at` read as zeros (without copying the packet). */
function digestWithoutSignature(raw: Buffer, at: number): Buffer {
  return createHash('sha256')
    .update(raw.subarray(0, at))
    .update(ZERO_SIGNATURE)
    .update(raw.subarray(at + FRAME_SIGNATURE_BYTES))
    .digest();
}

/** Where a decoded head's signature sits in the packet, or null when it is not a view into it. */
function signatureOffset(raw: Buffer, head: FrameHead): number | null {
  if (head.signature.buffer !== raw.buffer) return null;
  const at = head.signature.byteOffset - raw.byteOffset;
  return at >= 0 && at + FRAME_SIGNATURE_BYTES <= raw.length ? at : null;
}

/** Thrown by FrameSigner for a frame it cannot sign (API misuse: empty or oversize frames). */
export class FrameSignError extends Error {
  override readonly name = 'FrameSignError';
}

/** A server's signing side: its private key and the key id receivers look its public key up by. */
export class FrameSigner {
  readonly keyId: Buffer;

  constructor(
    private readonly privateKey: KeyObject,
    publicKey: KeyObject,
  ) {
    this.keyId = keyIdOf(rawEd25519(publicKey));
  }

  /**
   * Encodes one frame's packets (given without extensions, in sending order, consecutive sequence
   * numbers) with the frame-signature extension.
   */
  signFrame(movie: string, packets: readonly RtpPacket[]): Buffer[] {
    const n = packets.length;
    if (n === 0 || n > MAX_FRAME_PACKETS) {
      throw new FrameSignError(`a frame has 1..${MAX_FRAME_PACKETS} packets, got ${n}`);
    }
    const out = new Array<Buffer>(n);
    const hashes = new Array<Buffer>(n);
    const listed = (i: number): Buffer[] => {
      const chain = chainHashesOf(i, n);
      return chain === null ? [] : hashes.slice(chain.first, chain.first + chain.count);
    };
    // Backwards: a packet's hash must cover the hashes it carries.
    for (let i = n - 1; i >= 1; i--) {
      out[i] = encodePacket(packets[i] as RtpPacket, { head: null, hashes: listed(i) });
      hashes[i] = packetHash(out[i] as Buffer);
    }
    const head = { keyId: this.keyId, packetCount: n, signature: ZERO_SIGNATURE };
    const p0 = packets[0] as RtpPacket;
    const first = encodePacket(p0, { head, hashes: listed(0) });
    const at = headSignatureOffset(p0.csrcs.length);
    sign(null, signedMessage(movie, digestWithoutSignature(first, at)), this.privateKey).copy(first, at);
    out[0] = first;
    return out;
  }
}

function encodePacket(p: RtpPacket, auth: FrameAuth): Buffer {
  const hasAuth = auth.head !== null || auth.hashes.length > 0;
  const { extension: _dropped, ...rest } = p;
  return encodeRtp(hasAuth ? { ...rest, extension: encodeFrameAuth(auth) } : rest);
}

/** True when the frame head in `raw` carries a valid signature of `key` for `movie`. */
export function verifyHead(raw: Buffer, head: FrameHead, movie: string, key: KeyObject): boolean {
  const at = signatureOffset(raw, head);
  if (at === null) return false;
  try {
    return verify(null, signedMessage(movie, digestWithoutSignature(raw, at)), key, head.signature);
  } catch {
    return false; // a key of another type: not a valid signature
  }
}

export type FrameRejection =
  /** The first packet has no frame head: not signed. */
  | 'unsigned'
  /** Not RTP, or a frame-signature extension that does not parse. */
  | 'malformed'
  /** Signed with a key id no known server has. */
  | 'unknown-key'
  | 'bad-signature'
  /** The signed packet count differs from the packets given. */
  | 'wrong-count'
  | 'hash-mismatch';

/**
 * Checks a whole frame: `raws` are its packets in sequence order, first packet (the head) first.
 * `keyById` finds a server's public key by the key id the head names.
 */
export function verifyFrame(
  raws: readonly Buffer[],
  movie: string,
  keyById: (keyId: Buffer) => KeyObject | undefined,
): { readonly ok: true } | { readonly ok: false; readonly reason: FrameRejection } {
  const expected = new Map<number, Buffer>();
  let signed: { raw: Buffer; head: FrameHead; key: KeyObject } | null = null;
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i] as Buffer;
    const rtp = decodeRtp(raw);
    if (!rtp.ok) return { ok: false, reason: 'malformed' };
    if (i > 0) {
      const want = expected.get(i);
      if (want === undefined || !want.equals(packetHash(raw))) return { ok: false, reason: 'hash-mismatch' };
      // Only chain packets carry hashes; the others' extensions are covered by their hash anyway.
      if (chainHashesOf(i, raws.length) === null) continue;
    }
    const auth = decodeFrameAuth(rtp.value.extension);
    if (!auth.ok) return { ok: false, reason: 'malformed' };
    if (i === 0) {
      const head = auth.value.head;
      if (head === null) return { ok: false, reason: 'unsigned' };
      const key = keyById(head.keyId);
      if (key === undefined) return { ok: false, reason: 'unknown-key' };
      if (head.packetCount !== raws.length) return { ok: false, reason: 'wrong-count' };
      signed = { raw, head, key };
    }
    for (const [j, h] of auth.value.hashes.entries()) expected.set(i + 1 + j, h);
  }
  // The signature last: it is the costly check, and nothing is accepted before it passes anyway.
  if (signed === null) return { ok: false, reason: 'unsigned' };
  if (!verifyHead(signed.raw, signed.head, movie, signed.key)) return { ok: false, reason: 'bad-signature' };
  return { ok: true };
}
