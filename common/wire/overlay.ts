/**
 * Overlay messages between nodes (and the client's POP pings), one per UDP datagram. Version 2:
 * every type but ping and pong is authenticated (common/wire/overlay-auth.ts seals and opens it).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  magic 0x4F   |  version 2    |     type      |  from length  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  from (sender's node name, UTF-8) ...                         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  nonce: sender epoch (64 bits, ms) ...                        |  authenticated
 *  |                               ...   counter (32 bits)         |  types only
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  body ...                                                     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  tag (16 bytes, over everything above)                        |  authenticated types only
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Bodies: DATA = movie id (8 bytes: the first 8 of SHA-256 of the movie's name, so names may be
 * 255 bytes while the RTP packet stays large), one RTP packet (forwarded untouched);
 * HELLO = seq, sentAtUs, echoSeq, echoSentAtUs, holdUs[, routeDigest] (uint32s, big-endian), so a single
 * periodic packet per direction both proves liveness and measures RTT with the sender's own
 * clock only; every other type = a JSON object, validated by its schema in overlay-control.ts.
 * The nonce's epoch is the sending process's start time and the counter counts every datagram it
 * sends, so a receiver can refuse a replay (onode/core/replay-window.ts), even across restarts.
 */
import { createHash } from 'node:crypto';
import { type Decoded, fail, ok } from './result.ts';
import { MAX_MOVIE_NAME_BYTES, MAX_NODE_NAME_BYTES, strictUtf8 } from './names.ts';
import { decodeControlBody, encodeControlBody, type NAK_REASONS } from './overlay-control.ts';

export const OVERLAY_MAGIC = 0x4f;
export const OVERLAY_VERSION = 3;
export const OVERLAY_HEADER_BYTES = 4;
/** Largest datagram we send or accept: fits a 1500-byte MTU with IPv4 and UDP headers. */
export const MAX_OVERLAY_DATAGRAM = 1472;
/** Node and movie name bounds live with the name rules (names.ts); re-exported for the wire's readers. */
export const MAX_NAME_BYTES = MAX_NODE_NAME_BYTES;
/** Bounds on control messages live with their schemas. */
export { MAX_CATALOGUE, MAX_CONTROL_BODY_BYTES, MAX_PATH_LENGTH, MAX_REPAIR_SEQS } from './overlay-control.ts';
export const MAX_MOVIE_BYTES = MAX_MOVIE_NAME_BYTES;
/** Sender epoch (8 bytes) and counter (4 bytes), in every authenticated datagram. */
export const NONCE_BYTES = 12;
/** The truncated MAC that ends every authenticated datagram. */
export const TAG_BYTES = 16;
export const MOVIE_ID_BYTES = 8;
export const RTP_MIN_BYTES = 12;
/** Largest counter: the sender then moves to the next epoch. */
export const MAX_NONCE_COUNTER = 0xffffffff;
/**
 * The largest RTP packet a DATA datagram carries whatever the sender's name (up to
 * MAX_NAME_BYTES): servers size their packets to it, so every relay can forward every packet.
 */
export const MAX_DATA_RTP_BYTES =
  MAX_OVERLAY_DATAGRAM - OVERLAY_HEADER_BYTES - MAX_NAME_BYTES - NONCE_BYTES - MOVIE_ID_BYTES - TAG_BYTES;

export const MessageType = {
  data: 1,
  hello: 2,
  routes: 10,
  routesRequest: 21,
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

/**
 * What a POP needs to describe an H.264 (+ AAC) movie in SDP (common/wire/movie-tracks.ts):
 * the parameter sets (base64) and the audio track's rate, channels and AudioSpecificConfig (hex).
 */
export interface AvInfo {
  readonly sps: readonly string[];
  readonly pps: readonly string[];
  readonly audio?: { readonly rate: number; readonly channels: number; readonly config: string };
}

export interface MovieInfo {
  readonly name: string;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  /** Frames (MJPEG) or video access units (H.264) in one loop. */
  readonly frames: number;
  /** Present for H.264 (+ AAC) movies; absent for MJPEG. */
  readonly av?: AvInfo;
}

/** DATA as the node sees it: the transport maps the wire's movie id back to the name. */
export interface DataMessage {
  readonly type: 'data';
  readonly movie: string;
  readonly rtp: Buffer;
}
/** DATA as the wire carries it. */
export interface DataFrame {
  readonly type: 'data';
  readonly movieId: Buffer;
  readonly rtp: Buffer;
}
export interface HelloMessage {
  readonly type: 'hello';
  readonly seq: number;
  /** Sender's clock in microseconds, modulo 2^32. */
  readonly sentAtUs: number;
  /** Last hello received from the peer (0 when none) and how long we held it before this send. */
  readonly echoSeq: number;
  readonly echoSentAtUs: number;
  readonly holdUs: number;
  /** Digest of the routes the sender has told this receiver (route-adverts.ts): a mismatch asks for a dump. */
  readonly routeDigest?: number;
}
/**
 * One server's route as a node tells a neighbour: the node's best path to the server avoiding
 * that neighbour. The metric is accumulated hop by hop from measured link RTTs, never from clocks.
 */
export interface RouteAdvert {
  readonly server: string;
  /** The server's announcement number: it grows when the server's catalogue changes. */
  readonly seq: number;
  readonly latencyMs: number;
  readonly hops: number;
  /**
   * The digest of the server's catalogue (never the catalogue: it can be megabytes). A node
   * whose copy has another digest fetches it in parts (catalogue-request).
   */
  readonly cv: number;
  /** The sender first, the server last: a receiver on it would make a loop. */
  readonly path: readonly string[];
}
/** A node's routes for one neighbour: what changed since its last (all of them after `reset`). */
export interface RoutesMessage {
  readonly type: 'routes';
  /** Whatever the sender told the receiver before is void: this starts a full dump. */
  readonly reset?: boolean;
  readonly routes: readonly RouteAdvert[];
  /** Servers the sender no longer offers a route to. */
  readonly withdrawn: readonly string[];
  /**
   * Servers known dead (their neighbour's bootstrapper saw the process go), with the last
   * announcement number of theirs: every route to them up to it is void, through anyone.
   */
  readonly gone?: readonly ServerGone[];
}
export interface ServerGone {
  readonly server: string;
  readonly seq: number;
}
/** Asks a neighbour for a full dump of its routes (what it told us disagrees with its hello's digest). */
export interface RoutesRequestMessage {
  readonly type: 'routes-request';
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
/**
 * Asks the receiver to add the sender's branch to movie's tree; `path` = the requesting chain,
 * sender last. `server`: the server the requester was attached to (a reroute prefers staying with it).
 */
export interface JoinMessage {
  readonly type: 'join';
  readonly movie: string;
  readonly path: readonly string[];
  readonly server?: string;
}
/** Accepts a join; `rootPath` = source first, the acknowledging node last. */
export interface JoinAckMessage {
  readonly type: 'join-ack';
  readonly movie: string;
  readonly rootPath: readonly string[];
}
export type NakReason = (typeof NAK_REASONS)[number];
export interface NakMessage {
  readonly type: 'nak';
  readonly movie: string;
  readonly reason: NakReason;
  readonly detail: string;
}
export interface LeaveMessage {
  readonly type: 'leave';
  readonly movie: string;
}
export interface PingMessage {
  readonly type: 'ping';
  readonly id: number;
  readonly sentAt: number;
}
export interface PongMessage {
  readonly type: 'pong';
  readonly id: number;
  readonly sentAt: number;
  readonly node: string;
}
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
  | RoutesMessage
  | RoutesRequestMessage
  | JoinMessage
  | JoinAckMessage
  | NakMessage
  | LeaveMessage
  | PingMessage
  | PongMessage
  | CarryingMessage
  | RepairMessage
  | CatalogueRequestMessage
  | CatalogueMessage;
export type OverlayMessage = DataMessage | HelloMessage | ControlMessage;
/** A decoded datagram's message: DATA names its movie by id. */
export type WireMessage = DataFrame | HelloMessage | ControlMessage;

export interface OverlayPacket {
  readonly from: string;
  readonly message: WireMessage;
}

/** Orders a sender's datagrams: epoch = its process's start (ms), counter = datagrams sent since. */
export interface Nonce {
  readonly epoch: number;
  readonly counter: number;
}

/** Where the parts of a datagram are, from decodeHeader; the body is decoded only once it is authenticated. */
export interface OverlayHeader {
  readonly type: number;
  readonly from: string;
  /** null for the unauthenticated types (ping, pong). */
  readonly nonce: Nonce | null;
  readonly bodyStart: number;
  readonly bodyEnd: number;
}

/** Thrown by the encoders for names or messages that cannot go on the wire (a RangeError, as before). */
export class OverlayEncodeError extends RangeError {
  override readonly name = 'OverlayEncodeError';
}

const HELLO_BODY_BYTES = 20;

/** Clients' RTT probes: answered by any POP, so they carry no nonce and no tag. */
export function isAuthenticated(type: number): boolean {
  return type !== MessageType.ping && type !== MessageType.pong;
}

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(MessageType));
const ZERO_NONCE: Nonce = { epoch: 0, counter: 0 };
/** An epoch above this would not survive the round trip through a JS number. */
const MAX_EPOCH_HIGH = Math.floor(Number.MAX_SAFE_INTEGER / 2 ** 32);

/** Magic, version, type and sender: the same in every datagram of one type from one node (relays build it once). */
export function encodeHeader(type: number, from: string): Buffer {
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

/** The 8 bytes that stand for a movie in DATA: the first 8 of SHA-256 of its name. */
export function movieId(movie: string): Buffer {
  const id = movieIdOrUndefined(movie);
  if (id === undefined) throw new OverlayEncodeError(`movie name must be 1..${MAX_MOVIE_BYTES} bytes: ${movie}`);
  return id;
}

/** movieId for a name that may not fit: undefined instead of a throw. */
export function movieIdOrUndefined(movie: string): Buffer | undefined {
  const name = Buffer.from(movie, 'utf8');
  if (name.length === 0 || name.length > MAX_MOVIE_BYTES) return undefined;
  return Buffer.from(createHash('sha256').update(name).digest().subarray(0, MOVIE_ID_BYTES));
}

/**
 * A DATA datagram from a header made by encodeHeader(MessageType.data, from), with a zero tag for
 * overlay-auth's seal(). Relays build one per packet and send it to every branch.
 */
export function encodeData(head: Buffer, nonce: Nonce, id: Buffer, rtp: Buffer): Buffer {
  const length = head.length + NONCE_BYTES + MOVIE_ID_BYTES + rtp.length + TAG_BYTES;
  if (length > MAX_OVERLAY_DATAGRAM) {
    throw new OverlayEncodeError(
      `an RTP packet of ${rtp.length} bytes makes a ${length}-byte datagram, over ${MAX_OVERLAY_DATAGRAM}`,
    );
  }
  if (rtp.length < RTP_MIN_BYTES) throw new OverlayEncodeError(`an RTP packet of ${rtp.length} bytes has no header`);
  if (id.length !== MOVIE_ID_BYTES) {
    throw new OverlayEncodeError(`a movie id is ${MOVIE_ID_BYTES} bytes, not ${id.length}`);
  }
  const out = Buffer.allocUnsafe(length);
  out.set(head, 0);
  const at = writeNonce(out, head.length, nonce);
  out.set(id, at);
  out.set(rtp, at + MOVIE_ID_BYTES);
  for (let i = length - TAG_BYTES; i < length; i++) out[i] = 0; // not fill(): this runs per relayed packet
  return out;
}

function writeNonce(out: Buffer, at: number, nonce: Nonce): number {
  const { epoch, counter } = nonce;
  const badCounter = !Number.isInteger(counter) || counter < 0 || counter > MAX_NONCE_COUNTER;
  if (!Number.isSafeInteger(epoch) || epoch < 0 || badCounter) {
    throw new OverlayEncodeError(`invalid nonce: epoch ${epoch}, counter ${counter}`);
  }
  out.writeUInt32BE(Math.floor(epoch / 2 ** 32), at);
  out.writeUInt32BE(epoch % 2 ** 32, at + 4);
  out.writeUInt32BE(counter, at + 8);
  return at + NONCE_BYTES;
}

/**
 * Any message as a datagram. Authenticated types carry `nonce` (zero when absent: for sizes and
 * tests) and end in a zero tag that overlay-auth's seal() fills in; DATA given by movie name is
 * sent by its id.
 */
export function encodeOverlay(from: string, msg: OverlayMessage | DataFrame, nonce: Nonce = ZERO_NONCE): Buffer {
  switch (msg.type) {
    case 'data': {
      const id = 'movieId' in msg ? msg.movieId : movieId(msg.movie);
      return encodeData(encodeHeader(MessageType.data, from), nonce, id, msg.rtp);
    }
    case 'hello': {
      const body = Buffer.allocUnsafe(HELLO_BODY_BYTES + (msg.routeDigest === undefined ? 0 : 4));
      if (msg.routeDigest !== undefined) body.writeUInt32BE(msg.routeDigest >>> 0, HELLO_BODY_BYTES);
      body.writeUInt32BE(msg.seq >>> 0, 0);
      body.writeUInt32BE(msg.sentAtUs >>> 0, 4);
      body.writeUInt32BE(msg.echoSeq >>> 0, 8);
      body.writeUInt32BE(msg.echoSentAtUs >>> 0, 12);
      body.writeUInt32BE(msg.holdUs >>> 0, 16);
      return assemble(encodeHeader(MessageType.hello, from), nonce, body);
    }
    default: {
      const body = encodeControlBody(msg);
      if (!body.ok) throw new OverlayEncodeError(body.problem);
      return assemble(encodeHeader(CONTROL_CODES[msg.type], from), nonce, body.body);
    }
  }
}

/** Header, nonce, body and a zero tag (the last two only for authenticated types). */
function assemble(head: Buffer, nonce: Nonce, body: Buffer): Buffer {
  const authenticated = isAuthenticated(head[2]!);
  const length = head.length + body.length + (authenticated ? NONCE_BYTES + TAG_BYTES : 0);
  // The receiver refuses anything larger as 'oversize', so sending it would only lose it silently.
  if (length > MAX_OVERLAY_DATAGRAM) {
    throw new OverlayEncodeError(`datagram of ${length} bytes exceeds ${MAX_OVERLAY_DATAGRAM}`);
  }
  const out = Buffer.allocUnsafe(length);
  head.copy(out, 0);
  const at = authenticated ? writeNonce(out, head.length, nonce) : head.length;
  body.copy(out, at);
  if (authenticated) out.fill(0, length - TAG_BYTES);
  return out;
}

/** Each control message's type code: one table, read both ways (the compiler checks it is complete). */
const CONTROL_CODES: { readonly [T in ControlMessage['type']]: number } = {
  routes: MessageType.routes,
  'routes-request': MessageType.routesRequest,
  join: MessageType.join,
  'join-ack': MessageType.joinAck,
  nak: MessageType.nak,
  leave: MessageType.leave,
  ping: MessageType.ping,
  pong: MessageType.pong,
  carrying: MessageType.carrying,
  repair: MessageType.repair,
  'catalogue-request': MessageType.catalogueRequest,
  catalogue: MessageType.catalogue,
};

/**
 * Reads everything but the body: enough to find the sender's key and check the tag before the
 * body (JSON from anyone) is parsed. The tag itself is overlay-auth's business.
 */
export function decodeHeader(buf: Buffer): Decoded<OverlayHeader> {
  if (buf.length > MAX_OVERLAY_DATAGRAM) return fail('oversize');
  if (buf.length < OVERLAY_HEADER_BYTES) return fail('truncated');
  if (buf[0] !== OVERLAY_MAGIC) return fail('malformed');
  if (buf[1] !== OVERLAY_VERSION) return fail('unsupported');
  const type = buf[2]!;
  if (!KNOWN_TYPES.has(type)) return fail('unsupported');
  const nameLength = buf[3]!;
  if (nameLength === 0 || nameLength > MAX_NAME_BYTES) return fail('malformed');
  const nameEnd = OVERLAY_HEADER_BYTES + nameLength;
  if (buf.length < nameEnd) return fail('truncated');
  const from = nameAt(buf, OVERLAY_HEADER_BYTES, nameEnd);
  if (from === undefined) return fail('malformed');
  if (!isAuthenticated(type)) return ok({ type, from, nonce: null, bodyStart: nameEnd, bodyEnd: buf.length });
  if (buf.length < nameEnd + NONCE_BYTES + TAG_BYTES) return fail('truncated');
  const high = buf.readUInt32BE(nameEnd);
  if (high > MAX_EPOCH_HIGH) return fail('malformed');
  const nonce = { epoch: high * 2 ** 32 + buf.readUInt32BE(nameEnd + 4), counter: buf.readUInt32BE(nameEnd + 8) };
  return ok({ type, from, nonce, bodyStart: nameEnd + NONCE_BYTES, bodyEnd: buf.length - TAG_BYTES });
}

/** The message of a datagram whose header decodeHeader read. */
export function decodeBody(buf: Buffer, header: OverlayHeader): Decoded<WireMessage> {
  return decodeMessage(header.type, buf.subarray(header.bodyStart, header.bodyEnd));
}

/** Header and body, without checking the tag (overlay-auth's openOverlay does that). */
export function decodeOverlay(buf: Buffer): Decoded<OverlayPacket> {
  const header = decodeHeader(buf);
  if (!header.ok) return header;
  const message = decodeBody(buf, header.value);
  if (!message.ok) return message;
  return ok({ from: header.value.from, message: message.value });
}

function decodeMessage(type: number, body: Buffer): Decoded<WireMessage> {
  if (type === MessageType.data) {
    if (body.length < MOVIE_ID_BYTES + RTP_MIN_BYTES) return fail('truncated');
    return ok({ type: 'data', movieId: body.subarray(0, MOVIE_ID_BYTES), rtp: body.subarray(MOVIE_ID_BYTES) });
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
      ...(body.length >= HELLO_BODY_BYTES + 4 ? { routeDigest: body.readUInt32BE(HELLO_BODY_BYTES) } : {}),
    });
  }
  const kind = CONTROL_BY_CODE.get(type);
  return kind === undefined ? fail('unsupported') : decodeControlBody(kind, body);
}

/** A name in buf[start, end): ASCII (nearly always) read at once, anything else strictly as UTF-8. */
function nameAt(buf: Buffer, start: number, end: number): string | undefined {
  let ascii = true;
  for (let i = start; i < end && ascii; i++) ascii = buf[i]! < 0x80;
  return ascii ? buf.toString('latin1', start, end) : strictUtf8(buf.subarray(start, end));
}

const CONTROL_BY_CODE = new Map<number, ControlMessage['type']>(
  Object.entries(CONTROL_CODES).map(([type, code]) => [code, type as ControlMessage['type']]),
);
