/**
 * RTP payload format for JPEG-compressed video (RFC 2435).
 *
 * Every packet starts with the main JPEG header:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Type-specific |              Fragment Offset                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Type     |       Q       |     Width     |     Height    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Fragment Offset counts bytes of scan data before this packet's. Type 0 is 4:2:2 and
 * type 1 is 4:2:0; types 64 and 65 are the same with restart markers in the scan, and
 * then the Restart Marker header follows in every packet:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       Restart Interval        |F|L|       Restart Count       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Q 1..99 selects tables scaled from the JPEG standard ones (Appendix A); Q 128..255
 * means the tables travel in band, in the first packet of the frame (offset 0), in a
 * Quantization Table header (Q = 255: they may change every frame):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      MBZ      |   Precision   |             Length            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Quantization Table Data                    |
 * |                              ...                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Then comes the scan data.
 */
import { CHROMA_QUANT_K2, LUMA_QUANT_K1, ZIGZAG } from '../media/jpeg-tables.ts';
import { JPEG_MAX_DIMENSION, JPEG_QUANT_TABLE_BYTES, type JpegImage } from '../media/jpeg.ts';
import { fail, ok, type Decoded } from './result.ts';

export const RTP_JPEG_PAYLOAD_TYPE = 26;
export const RTP_JPEG_CLOCK_RATE = 90_000;
/**
 * Bytes of RTP payload per packet: with IPv4/UDP (28) and RTP (12) headers this leaves 60 bytes
 * of a 1500-byte MTU for the overlay DATA header (4 + node name + 1 + movie name).
 */
export const DEFAULT_MAX_PAYLOAD = 1400;
/**
 * Largest reassembled scan we accept (4 MiB). assembleJpeg refuses a larger frame as
 * 'malformed' (no sane 2040x2040 baseline frame is that big); packetizeJpeg throws.
 */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

export const MAIN_HEADER_BYTES = 8;
export const RESTART_HEADER_BYTES = 4;
export const QUANT_HEADER_BYTES = 4;
/** Q value meaning "tables in band, possibly different in every frame". */
export const Q_DYNAMIC_TABLES = 255;
/** F = L = 1 with this count: restart intervals are not aligned to packets, reassemble the whole frame. */
export const RESTART_COUNT_UNALIGNED = 0x3fff;

const QUANT_TABLES_BYTES = 2 * JPEG_QUANT_TABLE_BYTES;
const RESTART_TYPE_OFFSET = 64;
const MAX_FRAGMENT_OFFSET = 0xffffff;

export interface JpegFragment {
  /** 0 for a progressive (non-interlaced) frame; other values mark interlaced fields. */
  readonly typeSpecific: number;
  readonly fragmentOffset: number;
  /** 0, 1, 64 or 65. */
  readonly type: number;
  readonly q: number;
  /** Pixels (the header carries them divided by 8). */
  readonly width: number;
  readonly height: number;
  readonly restart?: { interval: number; first: boolean; last: boolean; count: number };
  /** In-band tables (Q >= 128, first fragment only): 128 bytes, luma then chroma, zig-zag order. */
  readonly quantTables?: Buffer;
  /** Scan bytes; a view into the payload, not a copy. */
  readonly data: Buffer;
}

/** Thrown by packetizeJpeg for a frame or packet size RTP/JPEG cannot express. */
export class RtpJpegError extends Error {
  override readonly name = 'RtpJpegError';
}

/**
 * Splits one frame into RTP payloads: main JPEG header (+ restart header for types
 * 64/65 when restartInterval > 0, + quantization table header with Q=255 and both
 * tables in the first packet only), then scan bytes; fragment offset counts scan bytes.
 * The caller sets the RTP marker bit on the last payload. `maxPayload` may differ per packet
 * (a function of the packet's index), e.g. to leave room for a header extension.
 */
export function packetizeJpeg(
  img: JpegImage,
  maxPayload: number | ((index: number) => number) = DEFAULT_MAX_PAYLOAD,
): Buffer[] {
  for (const [what, n] of [
    ['width', img.width],
    ['height', img.height],
  ] as const) {
    if (!Number.isInteger(n) || n < 8 || n > JPEG_MAX_DIMENSION || n % 8 !== 0) {
      throw new RtpJpegError(`${what} ${n} is not a multiple of 8 in 8..${JPEG_MAX_DIMENSION}`);
    }
  }
  if (img.quantTables.length !== QUANT_TABLES_BYTES) {
    throw new RtpJpegError(`quantTables must be ${QUANT_TABLES_BYTES} bytes, got ${img.quantTables.length}`);
  }
  if (!Number.isInteger(img.restartInterval) || img.restartInterval < 0 || img.restartInterval > 0xffff) {
    throw new RtpJpegError(`invalid restart interval ${img.restartInterval}`);
  }
  if (img.scan.length === 0) throw new RtpJpegError('empty scan');
  if (img.scan.length > MAX_FRAME_BYTES) {
    throw new RtpJpegError(`frame scan of ${img.scan.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  const restart = img.restartInterval > 0;
  const fixedBytes = MAIN_HEADER_BYTES + (restart ? RESTART_HEADER_BYTES : 0);
  const firstBytes = fixedBytes + QUANT_HEADER_BYTES + QUANT_TABLES_BYTES;
  const limitAt = typeof maxPayload === 'number' ? () => maxPayload : maxPayload;

  const type = img.type + (restart ? RESTART_TYPE_OFFSET : 0);
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset < img.scan.length) {
    const first = offset === 0;
    const headerBytes = first ? firstBytes : fixedBytes;
    const limit = limitAt(payloads.length);
    // Each packet must carry at least one scan byte, or the loop would never end.
    if (!Number.isInteger(limit) || limit <= headerBytes) {
      const which = `packet ${payloads.length}`;
      throw new RtpJpegError(`maxPayload must be an integer above ${headerBytes}, got ${limit} for ${which}`);
    }
    const chunk = Math.min(limit - headerBytes, img.scan.length - offset);
    const p = Buffer.alloc(headerBytes + chunk);
    p.writeUInt32BE(offset, 0); // type-specific 0 (progressive frame) + 24-bit offset
    p[4] = type;
    p[5] = Q_DYNAMIC_TABLES;
    p[6] = img.width / 8;
    p[7] = img.height / 8;
    let pos = MAIN_HEADER_BYTES;
    if (restart) {
      p.writeUInt16BE(img.restartInterval, pos);
      p.writeUInt16BE(0xc000 | RESTART_COUNT_UNALIGNED, pos + 2);
      pos += RESTART_HEADER_BYTES;
    }
    if (first) {
      p[pos] = 0; // MBZ
      p[pos + 1] = 0; // precision: both tables 8-bit
      p.writeUInt16BE(QUANT_TABLES_BYTES, pos + 2);
      img.quantTables.copy(p, pos + QUANT_HEADER_BYTES);
      pos += QUANT_HEADER_BYTES + QUANT_TABLES_BYTES;
    }
    img.scan.copy(p, pos, offset, offset + chunk);
    payloads.push(p);
    offset += chunk;
  }
  return payloads;
}

/** Rounds of packetizeJpegFitted before it gives up (each round only adds packets; 2 or 3 suffice). */
const MAX_FIT_ROUNDS = 16;

/**
 * packetizeJpeg with a budget that depends on the packet's index and on how many packets the
 * frame ends up with (a signed frame's extensions grow with its length). Budgets must not grow
 * with the count; then repacketizing with the count found so far converges.
 */
export function packetizeJpegFitted(img: JpegImage, maxPayloadAt: (index: number, count: number) => number): Buffer[] {
  let count = 1;
  for (let round = 0; round < MAX_FIT_ROUNDS; round++) {
    const assumed = count;
    const payloads = packetizeJpeg(img, (i) => maxPayloadAt(i, assumed));
    if (payloads.length <= assumed) return payloads;
    count = payloads.length;
  }
  throw new RtpJpegError(`packet budgets did not settle after ${MAX_FIT_ROUNDS} rounds`);
}

export function decodeJpegFragment(payload: Buffer): Decoded<JpegFragment> {
  if (payload.length < MAIN_HEADER_BYTES) return fail('truncated');
  const typeSpecific = payload[0] ?? 0;
  const fragmentOffset = payload.readUInt32BE(0) & MAX_FRAGMENT_OFFSET;
  const type = payload[4] ?? 0;
  const q = payload[5] ?? 0;
  const width = 8 * (payload[6] ?? 0);
  const height = 8 * (payload[7] ?? 0);
  // Types 0/1 (+64 for restart markers) are the only ones RFC 2435 defines a layout for
  // that we can rebuild; Q 100..127 are reserved.
  if (type !== 0 && type !== 1 && type !== RESTART_TYPE_OFFSET && type !== RESTART_TYPE_OFFSET + 1) {
    return fail('unsupported');
  }
  if (q === 0 || width === 0 || height === 0) return fail('malformed');
  if (q >= 100 && q < 128) return fail('unsupported');
  let pos = MAIN_HEADER_BYTES;

  let restart: JpegFragment['restart'];
  if (type >= RESTART_TYPE_OFFSET) {
    if (payload.length < pos + RESTART_HEADER_BYTES) return fail('truncated');
    const interval = payload.readUInt16BE(pos);
    const flags = payload.readUInt16BE(pos + 2);
    if (interval === 0) return fail('malformed');
    restart = { interval, first: (flags & 0x8000) !== 0, last: (flags & 0x4000) !== 0, count: flags & 0x3fff };
    pos += RESTART_HEADER_BYTES;
  }

  let quantTables: Buffer | undefined;
  if (q >= 128 && fragmentOffset === 0) {
    if (payload.length < pos + QUANT_HEADER_BYTES) return fail('truncated');
    const precision = payload[pos + 1] ?? 0;
    const length = payload.readUInt16BE(pos + 2);
    pos += QUANT_HEADER_BYTES;
    // Q = 255 promises tables in every frame, so an empty table header is an error.
    if (length === 0 && q === Q_DYNAMIC_TABLES) return fail('malformed');
    if (payload.length < pos + length) return fail('truncated');
    if (length > 0) {
      if (precision !== 0 || length !== QUANT_TABLES_BYTES) return fail('unsupported');
      quantTables = payload.subarray(pos, pos + length);
      pos += length;
    }
  }

  return ok({
    typeSpecific,
    fragmentOffset,
    type,
    q,
    width,
    height,
    ...(restart !== undefined ? { restart } : {}),
    ...(quantTables !== undefined ? { quantTables } : {}),
    data: payload.subarray(pos),
  });
}

/**
 * Rebuilds a frame from the payloads of one RTP frame (same timestamp), in any order:
 * fragments are placed by their offset, and a repeated fragment (a duplicated packet) is
 * used once. Refuses:
 * - 'incomplete': no fragments, first fragment missing, or a gap between fragments. Loss
 *   of the final packets cannot be seen here: the caller assembles only once the RTP
 *   marker packet arrived and sequence numbers were contiguous.
 * - 'malformed': headers that disagree between fragments, two different fragments at one
 *   offset or overlapping, or more than MAX_FRAME_BYTES.
 * - 'unsupported': interlaced fields (type-specific != 0), or Q 128..254 without
 *   in-band tables (those refer to tables cached from earlier frames, which we do not keep).
 */
export function assembleJpeg(
  fragments: readonly JpegFragment[],
): Decoded<JpegImage, 'incomplete' | 'malformed' | 'unsupported'> {
  // UDP may reorder and duplicate; the offsets say where each piece goes.
  const sorted = [...fragments].sort((a, b) => a.fragmentOffset - b.fragmentOffset);
  const head = sorted[0];
  if (head === undefined || head.fragmentOffset !== 0) return fail('incomplete');
  const pieces: Buffer[] = [];
  let total = 0;
  let previous: JpegFragment | undefined;
  for (const f of sorted) {
    if (
      f.type !== head.type ||
      f.q !== head.q ||
      f.width !== head.width ||
      f.height !== head.height ||
      f.typeSpecific !== head.typeSpecific ||
      f.restart?.interval !== head.restart?.interval
    ) {
      return fail('malformed');
    }
    if (f.data.length === 0) continue; // adds no scan bytes wherever it claims to be
    if (previous !== undefined && f.fragmentOffset === previous.fragmentOffset) {
      if (!f.data.equals(previous.data)) return fail('malformed');
      continue;
    }
    if (f.fragmentOffset < total) return fail('malformed');
    if (f.fragmentOffset > total) return fail('incomplete');
    total += f.data.length;
    if (total > MAX_FRAME_BYTES) return fail('malformed');
    pieces.push(f.data);
    previous = f;
  }
  if (head.typeSpecific !== 0) return fail('unsupported');
  if (total === 0) return fail('malformed');

  let quantTables: Buffer;
  if (head.q < 100) {
    quantTables = makeQuantTables(head.q);
  } else if (head.quantTables !== undefined) {
    quantTables = Buffer.from(head.quantTables);
  } else {
    return fail('unsupported');
  }

  return ok({
    width: head.width,
    height: head.height,
    type: (head.type & 1) as 0 | 1,
    quantTables,
    restartInterval: head.restart?.interval ?? 0,
    scan: Buffer.concat(pieces, total),
  });
}

const qualityTablesCache = new Map<number, Buffer>();

/**
 * The luma and chroma tables (128 bytes, zig-zag order) for RTP/JPEG quality factor
 * q in 1..99, as RFC 2435 Appendix A MakeTables computes them; q = 50 gives the JPEG
 * standard tables K.1 and K.2 unscaled. Values outside 1..99 are clamped, as there.
 */
export function makeQuantTables(q: number): Buffer {
  const factor = Math.min(99, Math.max(1, Math.trunc(q)));
  const cached = qualityTablesCache.get(factor);
  if (cached !== undefined) return Buffer.from(cached);
  const scale = factor < 50 ? Math.trunc(5000 / factor) : 200 - factor * 2;
  const clamp = (v: number): number => Math.min(255, Math.max(1, v));
  const tables = Buffer.alloc(QUANT_TABLES_BYTES);
  for (let i = 0; i < JPEG_QUANT_TABLE_BYTES; i++) {
    const natural = ZIGZAG[i] ?? 0;
    tables[i] = clamp(Math.trunc(((LUMA_QUANT_K1[natural] ?? 0) * scale + 50) / 100));
    tables[JPEG_QUANT_TABLE_BYTES + i] = clamp(Math.trunc(((CHROMA_QUANT_K2[natural] ?? 0) * scale + 50) / 100));
  }
  qualityTablesCache.set(factor, tables);
  return Buffer.from(tables);
}
