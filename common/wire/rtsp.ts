/**
 * RTSP 1.0 message codec (RFC 2326), shared by the POP's RTSP server and the client.
 *
 * One TCP connection carries three kinds of message back to back:
 *
 *   Request-Line = Method SP Request-URI SP RTSP-Version CRLF        (RFC 2326 §6.1)
 *   Status-Line  = RTSP-Version SP Status-Code SP Reason-Phrase CRLF (RFC 2326 §7.1)
 *   each followed by *( header CRLF ) CRLF [ body of Content-Length bytes ]
 *
 *   Interleaved binary data (RFC 2326 §10.12):
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  '$' (0x24)   |    channel    |            length             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  payload (length bytes) ...                   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Lines end in CRLF; a bare LF is accepted. Header folding is obsolete and refused.
 */

export const RTSP_VERSION = 'RTSP/1.0';
/** Request or status line plus headers, including the terminating empty line. */
export const MAX_HEADER_BYTES = 8192;
export const MAX_HEADER_COUNT = 64;
export const MAX_BODY_BYTES = 65536;
/** The interleaved length field is 16 bits. */
export const MAX_INTERLEAVED_BYTES = 65535;

/** Keys are lower-case; repeated headers are joined with ", ". */
export type RtspHeaders = ReadonlyMap<string, string>;

export interface RtspRequest {
  readonly type: 'request';
  readonly method: string;
  readonly uri: string;
  readonly headers: RtspHeaders;
  readonly body: Buffer;
}

export interface RtspResponse {
  readonly type: 'response';
  readonly status: number;
  readonly reason: string;
  readonly headers: RtspHeaders;
  readonly body: Buffer;
}

export interface InterleavedFrame {
  readonly type: 'interleaved';
  readonly channel: number;
  readonly payload: Buffer;
}

export type RtspMessage = RtspRequest | RtspResponse | InterleavedFrame;

export type RtspDecodeFailure = 'need-more' | 'malformed' | 'oversize' | 'unsupported';
export type RtspDecoded =
  | { readonly ok: true; readonly value: RtspMessage; readonly consumed: number }
  | { readonly ok: false; readonly reason: RtspDecodeFailure };

/** Thrown by the encoders when the caller passes something that cannot go on the wire. */
export class RtspEncodeError extends Error {
  override readonly name = 'RtspEncodeError';
}

const LF = 0x0a;
const CR = 0x0d;
const HT = 0x09;
const DOLLAR = 0x24;
const EMPTY = Buffer.alloc(0);

/** Case-insensitive header lookup. */
export function header(msg: { readonly headers: RtspHeaders }, name: string): string | undefined {
  return msg.headers.get(name.toLowerCase());
}

// RFC 2326 §7.1.1.
const REASONS: ReadonlyMap<number, string> = new Map([
  [100, 'Continue'],
  [200, 'OK'],
  [201, 'Created'],
  [250, 'Low on Storage Space'],
  [300, 'Multiple Choices'],
  [301, 'Moved Permanently'],
  [302, 'Moved Temporarily'],
  [303, 'See Other'],
  [304, 'Not Modified'],
  [305, 'Use Proxy'],
  [400, 'Bad Request'],
  [401, 'Unauthorized'],
  [402, 'Payment Required'],
  [403, 'Forbidden'],
  [404, 'Not Found'],
  [405, 'Method Not Allowed'],
  [406, 'Not Acceptable'],
  [407, 'Proxy Authentication Required'],
  [408, 'Request Time-out'],
  [410, 'Gone'],
  [411, 'Length Required'],
  [412, 'Precondition Failed'],
  [413, 'Request Entity Too Large'],
  [414, 'Request-URI Too Large'],
  [415, 'Unsupported Media Type'],
  [451, 'Parameter Not Understood'],
  [452, 'Conference Not Found'],
  [453, 'Not Enough Bandwidth'],
  [454, 'Session Not Found'],
  [455, 'Method Not Valid in This State'],
  [456, 'Header Field Not Valid for Resource'],
  [457, 'Invalid Range'],
  [458, 'Parameter Is Read-Only'],
  [459, 'Aggregate operation not allowed'],
  [460, 'Only aggregate operation allowed'],
  [461, 'Unsupported transport'],
  [462, 'Destination unreachable'],
  [500, 'Internal Server Error'],
  [501, 'Not Implemented'],
  [502, 'Bad Gateway'],
  [503, 'Service Unavailable'],
  [504, 'Gateway Time-out'],
  [505, 'RTSP Version not supported'],
  [551, 'Option not supported'],
]);
const CLASS_REASONS = ['Informational', 'Success', 'Redirection', 'Client Error', 'Server Error'];

/** The RFC 2326 reason phrase for a status code, or a generic one for its class. */
export function reasonPhrase(status: number): string {
  return REASONS.get(status) ?? CLASS_REASONS[Math.floor(status / 100) - 1] ?? 'Unknown';
}

// ---------------------------------------------------------------------------------------------
// Encoding

export function encodeRequest(req: {
  readonly method: string;
  readonly uri: string;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: Buffer;
}): Buffer {
  if (!isToken(req.method)) throw new RtspEncodeError(`invalid RTSP method ${JSON.stringify(req.method)}`);
  if (req.uri.length === 0 || /[\s\x00-\x1f\x7f]/.test(req.uri)) {
    throw new RtspEncodeError(`invalid Request-URI ${JSON.stringify(req.uri)}`);
  }
  return encodeMessage(`${req.method} ${req.uri} ${RTSP_VERSION}`, req.headers, req.body);
}

export function encodeResponse(res: {
  readonly status: number;
  readonly reason?: string;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: Buffer;
}): Buffer {
  if (!Number.isInteger(res.status) || res.status < 100 || res.status > 999) {
    throw new RtspEncodeError(`invalid status code ${res.status}`);
  }
  const reason = res.reason ?? reasonPhrase(res.status);
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(reason)) throw new RtspEncodeError('reason phrase contains control characters');
  return encodeMessage(`${RTSP_VERSION} ${res.status} ${reason}`, res.headers, res.body);
}

function encodeMessage(
  startLine: string,
  headers: Readonly<Record<string, string | number>> = {},
  body: Buffer = EMPTY,
): Buffer {
  if (body.length > MAX_BODY_BYTES) throw new RtspEncodeError(`body of ${body.length} bytes exceeds ${MAX_BODY_BYTES}`);
  const lines = [startLine];
  for (const [name, raw] of Object.entries(headers)) {
    if (!isToken(name)) throw new RtspEncodeError(`invalid header name ${JSON.stringify(name)}`);
    // Content-Length always describes the body actually sent, never a caller's guess.
    if (name.toLowerCase() === 'content-length') continue;
    if (typeof raw === 'number' && !Number.isFinite(raw)) throw new RtspEncodeError(`header ${name} is not finite`);
    const value = String(raw);
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) throw new RtspEncodeError(`header ${name} contains control characters`);
    lines.push(`${name}: ${value}`);
  }
  if (body.length > 0) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  if (head.length > MAX_HEADER_BYTES || lines.length - 1 > MAX_HEADER_COUNT) {
    throw new RtspEncodeError('header block exceeds the limits peers enforce');
  }
  return body.length > 0 ? Buffer.concat([head, body]) : head;
}

export function encodeInterleaved(channel: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  writeInterleavedHeader(out, channel, payload.length);
  payload.copy(out, 4);
  return out;
}

/**
 * Just the 4 bytes before an interleaved payload, for a sender that writes the payload itself
 * (a POP queues one shared RTP packet for many viewers instead of a copy for each).
 */
export function encodeInterleavedHeader(channel: number, payloadLength: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  writeInterleavedHeader(out, channel, payloadLength);
  return out;
}

function writeInterleavedHeader(out: Buffer, channel: number, length: number): void {
  if (!Number.isInteger(channel) || channel < 0 || channel > 255) {
    throw new RtspEncodeError(`interleaved channel ${channel} is not 0-255`);
  }
  if (length > MAX_INTERLEAVED_BYTES) {
    throw new RtspEncodeError(`interleaved payload of ${length} bytes exceeds ${MAX_INTERLEAVED_BYTES}`);
  }
  out[0] = DOLLAR;
  out[1] = channel;
  out.writeUInt16BE(length, 2);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes one message from the start of `buf`. Bodies and payloads are views into `buf`.
 * Empty lines before a message are skipped (RFC 7230 §3.5 robustness) and count as consumed.
 */
export function decodeRtspMessage(buf: Buffer): RtspDecoded {
  const result = decodeMessage(buf);
  return result.ok || result.reason !== 'need-more' ? result : NEED_MORE;
}

const NEED_MORE: RtspDecoded = { ok: false, reason: 'need-more' };

/** 'need-more' with the buffer length at which decoding could next make progress. */
type NeedMore = { readonly ok: false; readonly reason: 'need-more'; readonly needed: number };
type Decoding =
  | Extract<RtspDecoded, { ok: true }>
  | { readonly ok: false; readonly reason: Exclude<RtspDecodeFailure, 'need-more'> }
  | NeedMore;

const needMore = (needed: number): NeedMore => ({ ok: false, reason: 'need-more', needed });

function decodeMessage(buf: Buffer): Decoding {
  let start = 0;
  for (;;) {
    if (buf[start] === LF) start += 1;
    else if (buf[start] === CR && buf[start + 1] === LF) start += 2;
    else break;
  }
  if (start >= buf.length || (buf[start] === CR && start + 1 === buf.length)) {
    return start >= MAX_HEADER_BYTES ? { ok: false, reason: 'oversize' } : needMore(buf.length + 1);
  }
  return buf[start] === DOLLAR ? decodeInterleaved(buf, start) : decodeText(buf, start);
}

function decodeInterleaved(buf: Buffer, start: number): Decoding {
  if (buf.length < start + 4) return needMore(start + 4);
  const channel = buf.readUInt8(start + 1);
  const length = buf.readUInt16BE(start + 2);
  const end = start + 4 + length;
  if (buf.length < end) return needMore(end);
  return { ok: true, value: { type: 'interleaved', channel, payload: buf.subarray(start + 4, end) }, consumed: end };
}

type StartLine =
  | { readonly type: 'request'; readonly method: string; readonly uri: string }
  | { readonly type: 'response'; readonly status: number; readonly reason: string };

function decodeText(buf: Buffer, start: number): Decoding {
  if (!isTokenByte(buf[start] ?? 0)) return { ok: false, reason: 'malformed' };

  // Scan line by line, validating each line as soon as it is complete so that garbage,
  // HTTP and RTSP/2.0 are refused without waiting for the whole header block.
  const limit = Math.min(buf.length, MAX_HEADER_BYTES);
  const headers = new Map<string, string>();
  let startLine: StartLine | undefined;
  let headerCount = 0;
  let lineStart = start;
  let bodyStart = -1;
  for (let i = start; i < limit; i++) {
    const b = buf[i];
    if (b === undefined) break;
    if (b === CR) {
      // A CR must end a line; if the LF has not arrived yet, wait for it.
      if (i + 1 < buf.length && buf[i + 1] !== LF) return { ok: false, reason: 'malformed' };
      continue;
    }
    if (b !== LF) {
      if ((b < 0x20 && b !== HT) || b === 0x7f) return { ok: false, reason: 'malformed' };
      continue;
    }
    const lineEnd = i > lineStart && buf[i - 1] === CR ? i - 1 : i;
    const line = buf.toString('utf8', lineStart, lineEnd);
    lineStart = i + 1;
    if (startLine === undefined) {
      const parsed = parseStartLine(line);
      if (!parsed.ok) return parsed;
      startLine = parsed.value;
      continue;
    }
    if (line.length === 0) {
      bodyStart = i + 1;
      break;
    }
    if (++headerCount > MAX_HEADER_COUNT) return { ok: false, reason: 'oversize' };
    const failure = addHeaderLine(headers, line);
    if (failure !== undefined) return { ok: false, reason: failure };
  }
  if (bodyStart < 0 || startLine === undefined) {
    return buf.length >= MAX_HEADER_BYTES ? { ok: false, reason: 'oversize' } : needMore(buf.length + 1);
  }

  const length = parseContentLength(headers.get('content-length'));
  if (typeof length === 'string') return { ok: false, reason: length };
  const end = bodyStart + length;
  if (buf.length < end) return needMore(end);
  const body = buf.subarray(bodyStart, end);
  const value: RtspMessage =
    startLine.type === 'request'
      ? { type: 'request', method: startLine.method, uri: startLine.uri, headers, body }
      : { type: 'response', status: startLine.status, reason: startLine.reason, headers, body };
  return { ok: true, value, consumed: end };
}

const VERSION_RE = /^([A-Za-z]+)\/(\d+)\.(\d+)$/;

/** 'unsupported' for a well-formed version other than RTSP/1.0 (RTSP/2.0, HTTP/1.1, ...). */
function checkVersion(text: string): 'malformed' | 'unsupported' | undefined {
  const m = VERSION_RE.exec(text);
  if (m === null) return 'malformed';
  return m[1] === 'RTSP' && Number(m[2]) === 1 && Number(m[3]) === 0 ? undefined : 'unsupported';
}

function parseStartLine(
  line: string,
): { ok: true; value: StartLine } | { ok: false; reason: 'malformed' | 'unsupported' } {
  const sp = line.indexOf(' ');
  const first = sp < 0 ? line : line.slice(0, sp);
  // '/' is not a token character, so a first word shaped like a version cannot be a method.
  if (first.includes('/')) {
    const bad = checkVersion(first);
    if (bad !== undefined) return { ok: false, reason: bad };
    const m = /^(\d{3})(?: (.*))?$/.exec(sp < 0 ? '' : line.slice(sp + 1));
    if (m === null || Number(m[1]) < 100) return { ok: false, reason: 'malformed' };
    return { ok: true, value: { type: 'response', status: Number(m[1]), reason: m[2] ?? '' } };
  }
  const parts = line.split(' ');
  const [method, uri, version] = parts;
  if (parts.length !== 3 || method === undefined || uri === undefined || version === undefined) {
    return { ok: false, reason: 'malformed' };
  }
  if (!isToken(method) || uri.length === 0 || /\s/.test(uri)) return { ok: false, reason: 'malformed' };
  const bad = checkVersion(version);
  if (bad !== undefined) return { ok: false, reason: bad };
  return { ok: true, value: { type: 'request', method, uri } };
}

function addHeaderLine(headers: Map<string, string>, line: string): 'malformed' | undefined {
  const colon = line.indexOf(':');
  // A leading space or tab would be an obsolete continuation line: isToken refuses it.
  if (colon <= 0) return 'malformed';
  const name = line.slice(0, colon);
  if (!isToken(name)) return 'malformed';
  const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
  const key = name.toLowerCase();
  const previous = headers.get(key);
  headers.set(key, previous === undefined ? value : `${previous}, ${value}`);
  return undefined;
}

/** Absent means no body (RFC 2326 §12.14). Repeated headers join to "a, b" and are refused. */
function parseContentLength(value: string | undefined): number | 'malformed' | 'oversize' {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value)) return 'malformed';
  const digits = value.replace(/^0+(?=\d)/, '');
  if (digits.length > String(MAX_BODY_BYTES).length) return 'oversize';
  const length = Number(digits);
  return length > MAX_BODY_BYTES ? 'oversize' : length;
}

// token = 1*<any CHAR except CTLs or tspecials> (RFC 2326 §15.1)
const TSPECIALS = new Set('()<>@,;:\\"/[]?={} \t');

function isTokenByte(b: number): boolean {
  return b > 0x20 && b < 0x7f && !TSPECIALS.has(String.fromCharCode(b));
}

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    if (!isTokenByte(s.charCodeAt(i))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Streaming

/**
 * Decoder for one TCP connection: feed it chunks as they arrive and it yields complete messages.
 * After a fatal error it drops its buffer, stays failed and reports the same error on every push.
 * Never buffers more than MAX_HEADER_BYTES + MAX_BODY_BYTES between pushes.
 * Decoded bodies and payloads may share memory with pushed chunks: do not mutate a chunk after pushing it.
 */
export class RtspStreamDecoder {
  // Chunks are only joined once enough bytes arrived to make progress, so a peer trickling a
  // body a byte at a time costs linear work, not a copy and a header re-scan per byte.
  #chunks: Buffer[] = [];
  #buffered = 0;
  #needed = 1;
  #error: Exclude<RtspDecodeFailure, 'need-more'> | undefined;

  push(chunk: Buffer): { messages: RtspMessage[]; error?: Exclude<RtspDecodeFailure, 'need-more'> } {
    if (this.#error !== undefined) return { messages: [], error: this.#error };
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const messages: RtspMessage[] = [];
    if (this.#buffered < this.#needed) return { messages };
    const buf = this.#chunks.length === 1 ? (this.#chunks[0] ?? EMPTY) : Buffer.concat(this.#chunks, this.#buffered);
    let offset = 0;
    let needed = 1;
    while (offset < buf.length) {
      const result = decodeMessage(offset === 0 ? buf : buf.subarray(offset));
      if (result.ok) {
        messages.push(result.value);
        offset += result.consumed;
      } else if (result.reason === 'need-more') {
        needed = result.needed;
        break;
      } else {
        this.#error = result.reason;
        this.#chunks = [];
        this.#buffered = 0;
        return { messages, error: result.reason };
      }
    }
    // Copy the remainder so a large chunk is not kept alive by a few leftover bytes.
    const rest = offset >= buf.length ? EMPTY : Buffer.from(buf.subarray(offset));
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    this.#needed = needed;
    return { messages };
  }

  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** The fatal error this decoder stopped on, if any. */
  get error(): Exclude<RtspDecodeFailure, 'need-more'> | undefined {
    return this.#error;
  }
}
