/**
 * Overlay messages between nodes (and the client's POP pings), one per UDP datagram.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  magic 0x4F   |  version 1    |     type      |  from length  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  from (sender's node name, UTF-8) ...                         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  body ...                                                     |
 *
 * Bodies: DATA = movie length (1 byte), movie name, one RTP packet (forwarded untouched);
 * HELLO = seq, sentAtUs, echoSeq, echoSentAtUs, holdUs (5 x uint32, big-endian), so a single
 * periodic packet per direction both proves liveness and measures RTT with the sender's own
 * clock only; every other type = a JSON object, validated by its schema in overlay-control.ts.
 */
import { type Decoded, fail, ok } from './result.ts';
import { decodeControlBody, encodeControlBody, type NAK_REASONS } from './overlay-control.ts';

export const OVERLAY_MAGIC = 0x4f;
export const OVERLAY_VERSION = 1;
export const OVERLAY_HEADER_BYTES = 4;
/** Largest datagram we send or accept: fits a 1500-byte MTU with IPv4 and UDP headers. */
export const MAX_OVERLAY_DATAGRAM = 1472;
export const MAX_NAME_BYTES = 64;
/** Bounds on control messages live with their schemas. */
export { MAX_CATALOGUE, MAX_CONTROL_BODY_BYTES, MAX_PATH_LENGTH, MAX_REPAIR_SEQS } from './overlay-control.ts';

export const MessageType = {
  data: 1,
  hello: 2,
  status: 10,
  join: 11,
  joinAck: 12,
  nak: 13,
  leave: 14,
  ping: 15,
  pong: 16,
  carrying: 17,
  repair: 18,
  catalogueRequest: 19,
  catalogue: 20,
} as const;

export interface MovieInfo {
  readonly name: string;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
}

export interface DataMessage { readonly type: 'data'; readonly movie: string; readonly rtp: Buffer }
export interface HelloMessage {
  readonly type: 'hello';
  readonly seq: number;
  /** Sender's clock in microseconds, modulo 2^32. */
  readonly sentAtUs: number;
  /** Last hello received from the peer (0 when none) and how long we held it before this send. */
  readonly echoSeq: number;
  readonly echoSentAtUs: number;
  readonly holdUs: number;
}
/** Flooded by servers: the metric is accumulated hop by hop from measured link RTTs, never from clocks. */
export interface StatusMessage {
  readonly type: 'status';
  readonly server: string;
  readonly seq: number;
  readonly latencyMs: number;
  readonly hops: number;
  readonly visited: readonly string[];
  /**
   * The digest of the server's catalogue (never the catalogue: it can be megabytes). A node
   * whose copy has another digest fetches it in parts (catalogue-request).
   */
  readonly cv: number;
}

/**
 * Asks a neighbour for parts of the catalogue with digest `cv` of `server`; without `parts`, the
 * first MAX_PARTS_PER_REQUEST (the asker does not know the count yet).
 */
export interface CatalogueRequestMessage {
  readonly type: 'catalogue-request';
  readonly server: string;
  readonly cv: number;
  readonly parts?: readonly number[];
}
/** Part `part` (from 0) of `parts` of the catalogue of `server` whose digest is `cv`, in name order. */
export interface CatalogueMessage {
  readonly type: 'catalogue';
  readonly server: string;
  readonly cv: number;
  readonly part: number;
  readonly parts: number;
  readonly movies: readonly MovieInfo[];
}
/** Asks the receiver to add the sender's branch to movie's tree; `path` = the requesting chain, sender last. */
/** `server`: the server the requester was attached to (a reroute prefers staying with it). */
export interface JoinMessage { readonly type: 'join'; readonly movie: string; readonly path: readonly string[]; readonly server?: string }
/** Accepts a join; `rootPath` = source first, the acknowledging node last. */
export interface JoinAckMessage { readonly type: 'join-ack'; readonly movie: string; readonly rootPath: readonly string[] }
export type NakReason = (typeof NAK_REASONS)[number];
export interface NakMessage { readonly type: 'nak'; readonly movie: string; readonly reason: NakReason; readonly detail: string }
export interface LeaveMessage { readonly type: 'leave'; readonly movie: string }
export interface PingMessage { readonly type: 'ping'; readonly id: number; readonly sentAt: number }
export interface PongMessage { readonly type: 'pong'; readonly id: number; readonly sentAt: number; readonly node: string }
/**
 * The movies a node carries, so neighbours can join at the nearest copy; `roots[i]` is the server
 * movies[i] comes from (so a reroute can stay with it). A long list travels as parts `part` of
 * `parts` of announcement `version`; the receiver takes it once it has them all.
 */
export interface CarryingMessage {
  readonly type: 'carrying';
  readonly movies: readonly string[];
  readonly roots?: readonly string[];
  readonly version?: number;
  readonly part?: number;
  readonly parts?: number;
}

/**
 * Asks the (new) upstream to resend what it has cached of a stream after RTP sequence number
 * `after` of source `ssrc` (after a reroute), or exactly the sequence numbers in `seqs` (a
 * viewer's NACK relayed upstream). Answered with ordinary DATA packets.
 */
export interface RepairMessage {
  readonly type: 'repair';
  readonly movie: string;
  readonly ssrc: number;
  readonly after?: number;
  readonly seqs?: readonly number[];
}

export type ControlMessage =
  | StatusMessage | JoinMessage | JoinAckMessage | NakMessage | LeaveMessage | PingMessage | PongMessage | CarryingMessage | RepairMessage
  | CatalogueRequestMessage | CatalogueMessage;
export type OverlayMessage = DataMessage | HelloMessage | ControlMessage;

export interface OverlayPacket { readonly from: string; readonly message: OverlayMessage }

/** Thrown by the encoders for names or messages that cannot go on the wire (a RangeError, as before). */
export class OverlayEncodeError extends RangeError {
  override readonly name = 'OverlayEncodeError';
}

const HELLO_BODY_BYTES = 20;

function header(type: number, from: string): Buffer {
  const name = Buffer.from(from, 'utf8');
  if (name.length === 0 || name.length > MAX_NAME_BYTES) {
    throw new OverlayEncodeError(`node name must be 1..${MAX_NAME_BYTES} bytes: ${from}`);
  }
  const out = Buffer.allocUnsafe(OVERLAY_HEADER_BYTES + name.length);
  out[0] = OVERLAY_MAGIC;
  out[1] = OVERLAY_VERSION;
  out[2] = type;
  out[3] = name.length;
  name.copy(out, OVERLAY_HEADER_BYTES);
  return out;
}

/** Encodes a DATA packet; relays call this once per packet and send the same buffer to every branch. */
export function encodeData(from: string, movie: string, rtp: Buffer): Buffer {
  return withDataPrefix(encodeDataPrefix(from, movie), rtp);
}

/** Everything of a DATA packet before the RTP: the same for every packet of a movie from one node. */
export function encodeDataPrefix(from: string, movie: string): Buffer {
  const head = header(MessageType.data, from);
  const name = Buffer.from(movie, 'utf8');
  if (name.length === 0 || name.length > 255) throw new OverlayEncodeError(`movie name must be 1..255 bytes: ${movie}`);
  return Buffer.concat([head, Buffer.from([name.length]), name]);
}

/** A DATA packet from a prefix made by encodeDataPrefix (relays keep one per movie). */
export function withDataPrefix(prefix: Buffer, rtp: Buffer): Buffer {
  return checkSize(Buffer.concat([prefix, rtp], prefix.length + rtp.length));
}

/** The receiver refuses anything larger as 'oversize', so sending it would only lose it silently. */
function checkSize(datagram: Buffer): Buffer {
  if (datagram.length > MAX_OVERLAY_DATAGRAM) {
    throw new OverlayEncodeError(`datagram of ${datagram.length} bytes exceeds ${MAX_OVERLAY_DATAGRAM}`);
  }
  return datagram;
}

export function encodeOverlay(from: string, msg: OverlayMessage): Buffer {
  switch (msg.type) {
    case 'data':
      return encodeData(from, msg.movie, msg.rtp);
    case 'hello': {
      const body = Buffer.allocUnsafe(HELLO_BODY_BYTES);
      body.writeUInt32BE(msg.seq >>> 0, 0);
      body.writeUInt32BE(msg.sentAtUs >>> 0, 4);
      body.writeUInt32BE(msg.echoSeq >>> 0, 8);
      body.writeUInt32BE(msg.echoSentAtUs >>> 0, 12);
      body.writeUInt32BE(msg.holdUs >>> 0, 16);
      return Buffer.concat([header(MessageType.hello, from), body]);
    }
    default: {
      const body = encodeControlBody(msg);
      if (!body.ok) throw new OverlayEncodeError(body.problem);
      return checkSize(Buffer.concat([header(controlTypeCode(msg.type), from), body.body]));
    }
  }
}

function controlTypeCode(type: ControlMessage['type']): number {
  switch (type) {
    case 'status': return MessageType.status;
    case 'join': return MessageType.join;
    case 'join-ack': return MessageType.joinAck;
    case 'nak': return MessageType.nak;
    case 'leave': return MessageType.leave;
    case 'ping': return MessageType.ping;
    case 'pong': return MessageType.pong;
    case 'carrying': return MessageType.carrying;
    case 'repair': return MessageType.repair;
    case 'catalogue-request': return MessageType.catalogueRequest;
    case 'catalogue': return MessageType.catalogue;
  }
}

export function decodeOverlay(buf: Buffer): Decoded<OverlayPacket> {
  if (buf.length > MAX_OVERLAY_DATAGRAM) return fail('oversize');
  if (buf.length < OVERLAY_HEADER_BYTES) return fail('truncated');
  if (buf[0] !== OVERLAY_MAGIC) return fail('malformed');
  if (buf[1] !== OVERLAY_VERSION) return fail('unsupported');
  const type = buf[2]!;
  const nameLength = buf[3]!;
  if (nameLength === 0 || nameLength > MAX_NAME_BYTES) return fail('malformed');
  const bodyStart = OVERLAY_HEADER_BYTES + nameLength;
  if (buf.length < bodyStart) return fail('truncated');
  const from = strictUtf8(buf.subarray(OVERLAY_HEADER_BYTES, bodyStart));
  if (from === undefined) return fail('malformed');
  const body = buf.subarray(bodyStart);
  const message = decodeBody(type, body);
  if (!message.ok) return message;
  return ok({ from, message: message.value });
}

function decodeBody(type: number, body: Buffer): Decoded<OverlayMessage> {
  if (type === MessageType.data) {
    if (body.length < 1) return fail('truncated');
    const movieLength = body[0]!;
    if (movieLength === 0) return fail('malformed');
    if (body.length < 1 + movieLength + 12) return fail('truncated');
    const movie = strictUtf8(body.subarray(1, 1 + movieLength));
    if (movie === undefined) return fail('malformed');
    return ok({ type: 'data', movie, rtp: body.subarray(1 + movieLength) });
  }
  if (type === MessageType.hello) {
    if (body.length < HELLO_BODY_BYTES) return fail('truncated');
    return ok({
      type: 'hello',
      seq: body.readUInt32BE(0),
      sentAtUs: body.readUInt32BE(4),
      echoSeq: body.readUInt32BE(8),
      echoSentAtUs: body.readUInt32BE(12),
      holdUs: body.readUInt32BE(16),
    });
  }
  const kind = CONTROL_BY_CODE.get(type);
  return kind === undefined ? fail('unsupported') : decodeControlBody(kind, body);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Names are map keys: invalid UTF-8 would collapse distinct byte strings into one U+FFFD name. */
function strictUtf8(bytes: Buffer): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

const CONTROL_BY_CODE = new Map<number, ControlMessage['type']>([
  [MessageType.status, 'status'],
  [MessageType.join, 'join'],
  [MessageType.joinAck, 'join-ack'],
  [MessageType.nak, 'nak'],
  [MessageType.leave, 'leave'],
  [MessageType.ping, 'ping'],
  [MessageType.pong, 'pong'],
  [MessageType.carrying, 'carrying'],
  [MessageType.repair, 'repair'],
  [MessageType.catalogueRequest, 'catalogue-request'],
  [MessageType.catalogue, 'catalogue'],
]);
