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
 * HELLO = seq, sentAtUs, echoSeq, echoSentAtUs, holdUs (5 x uint32, big-endian), so a single
 * periodic packet per direction both proves liveness and measures RTT with the sender's own
 * clock only; every other type = a JSON object validated field by field.
 * The nonce's epoch is the sending process's start time and the counter counts every datagram it
 * sends, so a receiver can refuse a replay (onode/core/replay-window.ts), even across restarts.
 */
import { createHash } from 'node:crypto';
import { type Decoded, fail, ok } from './result.ts';

export const OVERLAY_MAGIC = 0x4f;
export const OVERLAY_VERSION = 2;
export const OVERLAY_HEADER_BYTES = 4;
/** Largest datagram we send or accept: fits a 1500-byte MTU with IPv4 and UDP headers. */
export const MAX_OVERLAY_DATAGRAM = 1472;
export const MAX_NAME_BYTES = 64;
export const MAX_MOVIE_BYTES = 255;
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
export const MAX_DATA_RTP_BYTES = MAX_OVERLAY_DATAGRAM - OVERLAY_HEADER_BYTES - MAX_NAME_BYTES - NONCE_BYTES -
  MOVIE_ID_BYTES - TAG_BYTES;
/** Bounds on lists in control messages: a probe's visited list, a join's path, a catalogue. */
export const MAX_PATH_LENGTH = 64;
export const MAX_CATALOGUE = 256;

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

/** DATA as the node sees it: the transport maps the wire's movie id back to the name. */
export interface DataMessage { readonly type: 'data'; readonly movie: string; readonly rtp: Buffer }
/** DATA as the wire carries it. */
export interface DataFrame { readonly type: 'data'; readonly movieId: Buffer; readonly rtp: Buffer }
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
  /** Absent in most probes, to keep idle links quiet: `cv` says which catalogue is current. */
  readonly catalogue?: readonly MovieInfo[];
  /** A digest of the server's catalogue; a node that does not have that one asks for it (catalogue-request). */
  readonly cv?: number;
}

/** Asks a neighbour for the catalogue it knows of `server`. */
export interface CatalogueRequestMessage { readonly type: 'catalogue-request'; readonly server: string }
/** A server's catalogue with its digest, in answer to a catalogue-request. */
export interface CatalogueMessage { readonly type: 'catalogue'; readonly server: string; readonly cv: number; readonly movies: readonly MovieInfo[] }
/** Asks the receiver to add the sender's branch to movie's tree; `path` = the requesting chain, sender last. */
/** `server`: the server the requester was attached to (a reroute prefers staying with it). */
export interface JoinMessage { readonly type: 'join'; readonly movie: string; readonly path: readonly string[]; readonly server?: string }
/** Accepts a join; `rootPath` = source first, the acknowledging node last. */
export interface JoinAckMessage { readonly type: 'join-ack'; readonly movie: string; readonly rootPath: readonly string[] }
export type NakReason = 'unknown-movie' | 'no-route' | 'loop' | 'timeout' | 'overloaded';
export interface NakMessage { readonly type: 'nak'; readonly movie: string; readonly reason: NakReason; readonly detail: string }
export interface LeaveMessage { readonly type: 'leave'; readonly movie: string }
export interface PingMessage { readonly type: 'ping'; readonly id: number; readonly sentAt: number }
export interface PongMessage { readonly type: 'pong'; readonly id: number; readonly sentAt: number; readonly node: string }
/** Which movies the sender currently carries, so neighbours can join at the nearest copy. */
/** The movies a node carries; `roots[i]` is the server movies[i] comes from (so a reroute can stay with it). */
export interface CarryingMessage { readonly type: 'carrying'; readonly movies: readonly string[]; readonly roots?: readonly string[] }

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

/** At most this many sequence numbers in one repair request. */
export const MAX_REPAIR_SEQS = 256;

export type ControlMessage =
  | StatusMessage | JoinMessage | JoinAckMessage | NakMessage | LeaveMessage | PingMessage | PongMessage | CarryingMessage | RepairMessage
  | CatalogueRequestMessage | CatalogueMessage;
export type OverlayMessage = DataMessage | HelloMessage | ControlMessage;
/** A decoded datagram's message: DATA names its movie by id. */
export type WireMessage = DataFrame | HelloMessage | ControlMessage;

export interface OverlayPacket { readonly from: string; readonly message: WireMessage }

/** Orders a sender's datagrams: epoch = its process's start (ms), counter = datagrams sent since. */
export interface Nonce { readonly epoch: number; readonly counter: number }

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

const NAK_REASONS: readonly NakReason[] = ['unknown-movie', 'no-route', 'loop', 'timeout', 'overloaded'];
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
  const name = Buffer.from(movie, 'utf8');
  if (name.length === 0 || name.length > MAX_MOVIE_BYTES) {
    throw new OverlayEncodeError(`movie name must be 1..${MAX_MOVIE_BYTES} bytes: ${movie}`);
  }
  return Buffer.from(createHash('sha256').update(name).digest().subarray(0, MOVIE_ID_BYTES));
}

/**
 * A DATA datagram from a header made by encodeHeader(MessageType.data, from), with a zero tag for
 * overlay-auth's seal(). Relays build one per packet and send it to every branch.
 */
export function encodeData(head: Buffer, nonce: Nonce, id: Buffer, rtp: Buffer): Buffer {
  const length = head.length + NONCE_BYTES + MOVIE_ID_BYTES + rtp.length + TAG_BYTES;
  if (length > MAX_OVERLAY_DATAGRAM) {
    throw new OverlayEncodeError(`an RTP packet of ${rtp.length} bytes makes a ${length}-byte datagram, over ${MAX_OVERLAY_DATAGRAM}`);
  }
  if (rtp.length < RTP_MIN_BYTES) throw new OverlayEncodeError(`an RTP packet of ${rtp.length} bytes has no header`);
  if (id.length !== MOVIE_ID_BYTES) throw new OverlayEncodeError(`a movie id is ${MOVIE_ID_BYTES} bytes, not ${id.length}`);
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
  if (!Number.isSafeInteger(epoch) || epoch < 0 || !Number.isInteger(counter) || counter < 0 || counter > MAX_NONCE_COUNTER) {
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
    case 'data':
      return encodeData(encodeHeader(MessageType.data, from), nonce, 'movieId' in msg ? msg.movieId : movieId(msg.movie), msg.rtp);
    case 'hello': {
      const body = Buffer.allocUnsafe(HELLO_BODY_BYTES);
      body.writeUInt32BE(msg.seq >>> 0, 0);
      body.writeUInt32BE(msg.sentAtUs >>> 0, 4);
      body.writeUInt32BE(msg.echoSeq >>> 0, 8);
      body.writeUInt32BE(msg.echoSentAtUs >>> 0, 12);
      body.writeUInt32BE(msg.holdUs >>> 0, 16);
      return assemble(encodeHeader(MessageType.hello, from), nonce, body);
    }
    default: {
      const { type, ...fields } = msg;
      return assemble(encodeHeader(controlTypeCode(type), from), nonce, Buffer.from(JSON.stringify(fields), 'utf8'));
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
    });
  }
  const kind = CONTROL_BY_CODE.get(type);
  if (kind === undefined) return fail('unsupported');
  let fields: unknown;
  try {
    fields = JSON.parse(body.toString('utf8'));
  } catch {
    return fail(body.length === 0 ? 'truncated' : 'malformed');
  }
  if (!isRecord(fields)) return fail('malformed');
  const msg = kind(fields);
  return msg === undefined ? fail('malformed') : ok(msg);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A name in buf[start, end): ASCII (nearly always) read at once, anything else strictly as UTF-8. */
function nameAt(buf: Buffer, start: number, end: number): string | undefined {
  let ascii = true;
  for (let i = start; i < end && ascii; i++) ascii = buf[i]! < 0x80;
  return ascii ? buf.toString('latin1', start, end) : strictUtf8(buf.subarray(start, end));
}

/** Names are map keys: invalid UTF-8 would collapse distinct byte strings into one U+FFFD name. */
function strictUtf8(bytes: Buffer): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

type Fields = Record<string, unknown>;

const CONTROL_BY_CODE = new Map<number, (f: Fields) => ControlMessage | undefined>([
  [MessageType.status, (f) => {
    const { server, seq, latencyMs, hops, visited, catalogue } = f;
    const cv = f.cv === undefined ? undefined : isCount(f.cv) ? f.cv : null;
    if (cv === null) return undefined;
    const version = cv === undefined ? {} : { cv };
    if (!isName(server) || !isCount(seq) || !isMetric(latencyMs) || !isCount(hops)) return undefined;
    if (!isNameList(visited)) return undefined;
    if (catalogue === undefined) return { type: 'status', server, seq, latencyMs, hops, visited, ...version };
    if (!Array.isArray(catalogue) || catalogue.length > MAX_CATALOGUE) return undefined;
    const movies: MovieInfo[] = [];
    for (const m of catalogue) {
      const info = asMovieInfo(m);
      if (info === undefined) return undefined;
      movies.push(info);
    }
    return { type: 'status', server, seq, latencyMs, hops, visited, catalogue: movies, ...version };
  }],
  [MessageType.join, (f) => {
    if (!isMovie(f.movie) || !isNameList(f.path) || f.path.length === 0) return undefined;
    if (f.server !== undefined && !isName(f.server)) return undefined;
    return { type: 'join', movie: f.movie, path: f.path, ...(f.server !== undefined ? { server: f.server } : {}) };
  }],
  [MessageType.joinAck, (f) => (isMovie(f.movie) && isNameList(f.rootPath) && f.rootPath.length > 0 ? { type: 'join-ack', movie: f.movie, rootPath: f.rootPath } : undefined)],
  [MessageType.nak, (f) => {
    const reason = NAK_REASONS.find((r) => r === f.reason);
    if (!isMovie(f.movie) || reason === undefined || typeof f.detail !== 'string' || f.detail.length > 512) return undefined;
    return { type: 'nak', movie: f.movie, reason, detail: f.detail };
  }],
  [MessageType.leave, (f) => (isMovie(f.movie) ? { type: 'leave', movie: f.movie } : undefined)],
  [MessageType.ping, (f) => (isCount(f.id) && isMetric(f.sentAt) ? { type: 'ping', id: f.id, sentAt: f.sentAt } : undefined)],
  [MessageType.pong, (f) => (isCount(f.id) && isMetric(f.sentAt) && isName(f.node) ? { type: 'pong', id: f.id, sentAt: f.sentAt, node: f.node } : undefined)],
  [MessageType.catalogueRequest, (f) => (isName(f.server) ? { type: 'catalogue-request', server: f.server } : undefined)],
  [MessageType.catalogue, (f) => {
    if (!isName(f.server) || !isCount(f.cv) || !Array.isArray(f.movies) || f.movies.length > MAX_CATALOGUE) return undefined;
    const movies: MovieInfo[] = [];
    for (const m of f.movies) {
      const info = asMovieInfo(m);
      if (info === undefined) return undefined;
      movies.push(info);
    }
    return { type: 'catalogue', server: f.server, cv: f.cv, movies };
  }],
  [MessageType.repair, (f) => {
    if (!isMovie(f.movie) || !isCount(f.ssrc)) return undefined;
    const after = f.after === undefined ? undefined : isSeq(f.after) ? f.after : null;
    const seqs = f.seqs === undefined ? undefined : Array.isArray(f.seqs) && f.seqs.length <= MAX_REPAIR_SEQS && f.seqs.every(isSeq) ? (f.seqs as number[]) : null;
    if (after === null || seqs === null || (after === undefined) === (seqs === undefined)) return undefined;
    return { type: 'repair', movie: f.movie, ssrc: f.ssrc, ...(after !== undefined ? { after } : {}), ...(seqs !== undefined ? { seqs } : {}) };
  }],
  [MessageType.carrying, (f) => {
    if (!Array.isArray(f.movies) || f.movies.length > MAX_CATALOGUE || !f.movies.every(isMovie)) return undefined;
    if (f.roots === undefined) return { type: 'carrying', movies: f.movies };
    if (!Array.isArray(f.roots) || f.roots.length !== f.movies.length || !f.roots.every(isName)) return undefined;
    return { type: 'carrying', movies: f.movies, roots: f.roots };
  }],
]);

function isRecord(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && Buffer.byteLength(v) <= MAX_NAME_BYTES;
}

function isMovie(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && Buffer.byteLength(v) <= MAX_MOVIE_BYTES;
}

function isNameList(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= MAX_PATH_LENGTH && v.every(isName);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

function isMetric(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function asMovieInfo(v: unknown): MovieInfo | undefined {
  if (!isRecord(v)) return undefined;
  const { name, fps, width, height, frames } = v;
  if (!isMovie(name) || !isMetric(fps) || fps === 0 || !isCount(width) || !isCount(height) || !isCount(frames)) return undefined;
  return { name, fps, width, height, frames };
}
