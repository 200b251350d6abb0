/**
 * Authenticated overlay datagrams (format: common/wire/overlay.ts, version 2). Every type but a
 * client's ping and a POP's pong ends in a 16-byte tag that only holders of the overlay key
 * (overlayMacKey(secret): the overlay's members) can make:
 *
 *   tag = first 16 bytes of MAC(key, recipient label ‖ datagram without its tag)
 *   recipient label = length of the recipient's name (1 byte) ‖ name (UTF-8)
 *
 * The recipient is the neighbour a control message is for, so a captured control datagram is
 * refused by every other neighbour; for DATA it is empty, so a relay builds one datagram (one
 * MAC) per packet for all its branches. A length byte rather than a separator keeps the label
 * unambiguous whatever bytes a name holds. What the tag covers includes the nonce, which the
 * receiver's replay window (onode/core/replay-window.ts) checks once the tag is good.
 *
 * tag() is the only place the MAC is computed: swap it there (and bump OVERLAY_VERSION).
 */
import * as crypto from 'node:crypto';
import {
  decodeBody,
  decodeHeader,
  encodeOverlay,
  isAuthenticated,
  MAX_NAME_BYTES,
  MAX_OVERLAY_DATAGRAM,
  MessageType,
  OverlayEncodeError,
  TAG_BYTES,
  type DataFrame,
  type Nonce,
  type OverlayMessage,
  type WireMessage,
} from './overlay.ts';
import { fail, ok, type Decoded, type DecodeFailure } from './result.ts';

export type OpenFailure = DecodeFailure | 'bad-mac';

/** The overlay key, ready for tag(): made once per process (macKey), never per datagram. */
export interface OverlayMacKey {
  /**
   * Where tag() lays out what it hashes: the key block (the key, then zeros to a full SHA-256
   * block), the length, the label, the datagram. Written in place: no allocation per datagram.
   */
  readonly scratch: Buffer;
  /** Recipient labels by name: a node only ever addresses its neighbours. */
  readonly labels: Map<string, Buffer>;
}

export interface OpenedPacket {
  readonly from: string;
  readonly nonce: Nonce | null;
  readonly message: WireMessage;
}

/** Bytes of key the MAC needs: what overlayMacKey() derives. */
export const MAC_KEY_BYTES = 32;
/** Recipient labels cached per key; more names than this (never, with real neighbour lists) just start over. */
const MAX_CACHED_LABELS = 1024;
const DATA_LABEL = Buffer.from([0]);
const SHA256_BLOCK_BYTES = 64;
const LENGTH_BYTES = 4;
const MESSAGE_START = SHA256_BLOCK_BYTES + LENGTH_BYTES;
/**
 * SHA-256 in one call into OpenSSL (Node 20.12+; createHash before), as a 'binary' (latin1)
 * string, one character per byte: a Buffer result costs twice as much per call, and this runs
 * twice per relayed packet.
 */
const sha256: (data: Buffer) => string =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'binary')
    : (data) => crypto.createHash('sha256').update(data).digest('binary');

/** Prepares the key derived by overlayMacKey(secret). */
export function macKey(key: Buffer): OverlayMacKey {
  if (key.length !== MAC_KEY_BYTES) {
    throw new RangeError(`the overlay MAC key is ${MAC_KEY_BYTES} bytes, got ${key.length}`);
  }
  const scratch = Buffer.alloc(MESSAGE_START + 1 + MAX_NAME_BYTES + MAX_OVERLAY_DATAGRAM);
  key.copy(scratch, 0);
  return { scratch, labels: new Map() };
}

/**
 * The MAC of label ‖ datagram[0, end), 32 bytes as a 'binary' string, of which the first
 * TAG_BYTES are the tag:
 *
 *   SHA-256(K ‖ 0^256 ‖ n ‖ label ‖ datagram[0, end)),  n = bytes of label and datagram (uint32)
 *
 * K, the 32-byte overlay key, fills the first SHA-256 block alone (with zeros), so the hash
 * state after it is a secret 256-bit value; the rest is the Merkle-Damgård cascade keyed by
 * that value, a PRF on any prefix-free set of inputs (Bellare, Canetti and Krawczyk,
 * "Pseudorandom functions revisited: the cascade construction and its concrete security", 1996;
 * the compression function being a PRF through either input is the assumption HMAC's proof rests
 * on too). The inputs are prefix-free because each starts with its own length n. Length
 * extension, the weakness of a plain H(K ‖ m), would need the whole 256-bit state after m: the
 * tag shows 128 bits of it, and an extended message would carry another n anyway. A forgery is a
 * 2^-128 guess, and K serves nothing else (overlay-keys.ts derives one key per use).
 *
 * Why not HMAC-SHA256: it takes four calls into OpenSSL (object, two updates, digest) where this
 * takes one, about 3.3 µs against 1.3 µs per datagram here, and a relay computes two per packet.
 */
export function tag(key: OverlayMacKey, label: Buffer, datagram: Buffer, end: number): string {
  const { scratch } = key;
  scratch.writeUInt32BE(label.length + end, SHA256_BLOCK_BYTES);
  for (let i = 0; i < label.length; i++) scratch[MESSAGE_START + i] = label[i]!;
  scratch.set(new Uint8Array(datagram.buffer, datagram.byteOffset, end), MESSAGE_START + label.length);
  return sha256(scratch.subarray(0, MESSAGE_START + label.length + end));
}

/** Fills in the tag of a datagram made by encodeOverlay/encodeData, in place; returns it. */
export function seal(key: OverlayMacKey, recipient: string, datagram: Buffer): Buffer {
  if (datagram.length < TAG_BYTES || datagram.length > MAX_OVERLAY_DATAGRAM) {
    throw new OverlayEncodeError(`cannot seal a datagram of ${datagram.length} bytes`);
  }
  const end = datagram.length - TAG_BYTES;
  const mac = tag(key, labelOf(key, recipient, datagram), datagram, end);
  for (let i = 0; i < TAG_BYTES; i++) datagram[end + i] = mac.charCodeAt(i);
  return datagram;
}

/**
 * True when an authenticated datagram's tag is right for this recipient (this node's own name);
 * compared in constant time.
 */
export function verify(key: OverlayMacKey, recipient: string, datagram: Buffer): boolean {
  const end = datagram.length - TAG_BYTES;
  if (end < 0 || datagram.length > MAX_OVERLAY_DATAGRAM) return false;
  const mac = tag(key, labelOf(key, recipient, datagram), datagram, end);
  let diff = 0;
  for (let i = 0; i < TAG_BYTES; i++) diff |= mac.charCodeAt(i) ^ datagram[end + i]!;
  return diff === 0;
}

/** encodeOverlay + seal: a datagram from `from` for neighbour `to`. */
export function sealOverlay(
  key: OverlayMacKey,
  from: string,
  to: string,
  nonce: Nonce,
  msg: OverlayMessage | DataFrame,
): Buffer {
  const datagram = encodeOverlay(from, msg, nonce);
  return isAuthenticated(datagram[2]!) ? seal(key, to, datagram) : datagram;
}

/**
 * Decodes a datagram received by `self`, refusing an authenticated one whose tag is wrong
 * ('bad-mac') before its body is read. Pings and pongs pass unauthenticated (nonce null).
 * Replays pass: the caller's replay window refuses them.
 */
export function openOverlay(key: OverlayMacKey, self: string, buf: Buffer): Decoded<OpenedPacket, OpenFailure> {
  const header = decodeHeader(buf);
  if (!header.ok) return header;
  if (header.value.nonce !== null && !verify(key, self, buf)) return fail('bad-mac');
  const message = decodeBody(buf, header.value);
  if (!message.ok) return message;
  return ok({ from: header.value.from, nonce: header.value.nonce, message: message.value });
}

/** DATA goes to every branch alike: its recipient is the empty name. */
function labelOf(key: OverlayMacKey, recipient: string, datagram: Buffer): Buffer {
  if (datagram[2] === MessageType.data) return DATA_LABEL;
  let label = key.labels.get(recipient);
  if (label === undefined) {
    const name = Buffer.from(recipient, 'utf8');
    if (name.length === 0 || name.length > MAX_NAME_BYTES) {
      throw new OverlayEncodeError(`a recipient's name must be 1..${MAX_NAME_BYTES} bytes: ${recipient}`);
    }
    label = Buffer.concat([Buffer.from([name.length]), name]);
    if (key.labels.size >= MAX_CACHED_LABELS) key.labels.clear();
    key.labels.set(recipient, label);
  }
  return label;
}
