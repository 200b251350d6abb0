/**
 * Baseline JPEG parsing down to what RFC 2435 (RTP/JPEG) can carry, and rebuilding a
 * complete JPEG file from that.
 *
 * A JPEG file is a sequence of marker segments (T.81 Annex B):
 *
 *   FF D8                                   SOI
 *   FF xx  len(2)  payload(len - 2)         DQT, SOF0, DHT, DRI, APPn, COM, ...
 *   FF DA  len(2)  scan header              SOS, followed by entropy-coded data in which
 *                                           FF 00 is a stuffed FF and FF D0..D7 are RSTn
 *   FF D9                                   EOI
 *
 * Any marker may be preceded by extra FF fill bytes.
 *
 * RFC 2435 sends only the frame size, a type (the chroma subsampling), the two
 * quantization tables, the restart interval and the scan bytes; a receiver rebuilds
 * everything else with the standard Huffman tables. So a frame is carryable only if it
 * is 8-bit baseline YCbCr, 4:2:2 or 4:2:0, in one interleaved scan, with the standard
 * Huffman tables and a size in multiples of 8 up to 2040 pixels.
 */
import { DAC, DHP, DHT, DNL, DQT, DRI, EOI, EXP, isRst, markerHex, SOF0, SOF2, SOI, SOS, TEM } from './jpeg-markers.ts';
import { standardHuffmanTable, STANDARD_HUFFMAN_TABLES } from './jpeg-tables.ts';

/** RFC 2435 carries width/8 and height/8 in one byte each. */
export const JPEG_MAX_DIMENSION = 2040;
export const JPEG_QUANT_TABLE_BYTES = 64;

export interface JpegImage {
  /** Pixels; multiples of 8, at most JPEG_MAX_DIMENSION. */
  readonly width: number;
  readonly height: number;
  /** RFC 2435 type: 0 = 4:2:2 (Y sampled 2x1), 1 = 4:2:0 (Y sampled 2x2); chroma 1x1. */
  readonly type: 0 | 1;
  /** 128 bytes: the Y table then the Cb/Cr table, 8-bit, in DQT's zig-zag order. */
  readonly quantTables: Buffer;
  /** MCUs per restart interval; 0 when there is no DRI. */
  readonly restartInterval: number;
  /** Entropy-coded data after the SOS header, up to but not including EOI. */
  readonly scan: Buffer;
}

export type JpegRejection =
  | 'truncated'
  | 'malformed'
  | 'progressive'
  | 'not-baseline'
  | 'unsupported-size'
  | 'unsupported-sampling'
  | 'unsupported-components'
  | 'non-standard-huffman'
  | 'unsupported-quantization'
  | 'multiple-scans';

export type JpegParseResult =
  | { readonly ok: true; readonly value: JpegImage }
  | { readonly ok: false; readonly reason: JpegRejection; readonly detail: string };

/** Thrown by buildJpeg for an image no JPEG header can describe. */
export class JpegImageError extends Error {
  override readonly name = 'JpegImageError';
}

const SOF_NAMES: Readonly<Record<number, string>> = {
  0xc1: 'extended sequential JPEG (SOF1)',
  0xc2: 'progressive JPEG (SOF2)',
  0xc3: 'lossless JPEG (SOF3)',
  0xc5: 'differential sequential JPEG (SOF5)',
  0xc6: 'differential progressive JPEG (SOF6)',
  0xc7: 'differential lossless JPEG (SOF7)',
  0xc9: 'arithmetic-coded sequential JPEG (SOF9)',
  0xca: 'arithmetic-coded progressive JPEG (SOF10)',
  0xcb: 'arithmetic-coded lossless JPEG (SOF11)',
  0xcd: 'arithmetic-coded differential sequential JPEG (SOF13)',
  0xce: 'arithmetic-coded differential progressive JPEG (SOF14)',
  0xcf: 'arithmetic-coded differential lossless JPEG (SOF15)',
};

function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== DHT && marker !== DAC && marker !== 0xc8;
}

type Rejected = { readonly ok: false; readonly reason: JpegRejection; readonly detail: string };

function reject(reason: JpegRejection, detail: string): Rejected {
  return { ok: false, reason, detail };
}

interface FrameComponent {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  readonly tq: number;
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly components: readonly FrameComponent[];
}

/** Parser state gathered from the segments before the scan. */
interface Tables {
  readonly quant: (Buffer | undefined)[];
  /** Whether the DHT-defined table [class][id] is the standard one; absent = implied standard. */
  readonly huffmanStandard: Map<number, boolean>;
  restartInterval: number;
  frame: Frame | undefined;
}

const huffmanKey = (tableClass: number, id: number): number => tableClass * 4 + id;

export function parseJpeg(buf: Buffer): JpegParseResult {
  if (buf.length < 2) return reject('truncated', 'file ends before the start-of-image marker');
  if (buf[0] !== 0xff || buf[1] !== SOI) return reject('malformed', 'not a JPEG file (no start-of-image marker)');

  const tables: Tables = { quant: [], huffmanStandard: new Map(), restartInterval: 0, frame: undefined };
  let pos = 2;
  for (;;) {
    const m = readMarker(buf, pos);
    if (!m.ok) return m;
    const marker = m.marker;
    pos = m.next;

    if (marker === EOI) return reject('malformed', 'image ends before any scan');
    if (marker === SOI || marker === TEM || isRst(marker)) {
      return reject('malformed', `unexpected marker 0xFF${markerHex(marker)} between segments`);
    }
    if (buf.length < pos + 2)
      return reject('truncated', `file ends inside the 0xFF${markerHex(marker)} segment length`);
    const length = buf.readUInt16BE(pos);
    if (length < 2) return reject('malformed', `segment 0xFF${markerHex(marker)} has invalid length ${length}`);
    if (buf.length < pos + length) return reject('truncated', `file ends inside the 0xFF${markerHex(marker)} segment`);
    const body = buf.subarray(pos + 2, pos + length);
    pos += length;

    if (marker === SOS) {
      const scanHeader = parseScanHeader(body, tables);
      if (scanHeader !== undefined) return scanHeader;
      return parseScanAndTail(buf, pos, tables);
    }
    const problem = parseSegment(marker, body, tables);
    if (problem !== undefined) return problem;
  }
}

/** Finds the marker at `pos`, skipping fill bytes. */
function readMarker(
  buf: Buffer,
  pos: number,
): { readonly ok: true; readonly marker: number; readonly next: number } | Rejected {
  if (pos >= buf.length) return reject('truncated', 'file ends before the end-of-image marker');
  if (buf[pos] !== 0xff) return reject('malformed', `expected a marker at byte ${pos}`);
  while (pos < buf.length && buf[pos] === 0xff) pos++;
  const marker = buf[pos];
  if (marker === undefined) return reject('truncated', 'file ends inside a marker');
  if (marker === 0x00) return reject('malformed', `expected a marker at byte ${pos - 1}`);
  return { ok: true, marker, next: pos + 1 };
}

function parseSegment(marker: number, body: Buffer, tables: Tables): Rejected | undefined {
  if (marker === DQT) return parseDqt(body, tables);
  if (marker === DHT) return parseDht(body, tables);
  if (marker === DRI) {
    if (body.length !== 2) return reject('malformed', 'restart interval segment (DRI) has the wrong length');
    tables.restartInterval = body.readUInt16BE(0);
    return undefined;
  }
  if (marker === SOF0) return parseSof0(body, tables);
  if (marker === SOF2) return reject('progressive', 'progressive JPEG (SOF2)');
  if (isSof(marker)) return reject('not-baseline', SOF_NAMES[marker] ?? `JPEG process 0xFF${markerHex(marker)}`);
  if (marker === DHP || marker === EXP) return reject('not-baseline', 'hierarchical JPEG');
  if (marker === DNL) return reject('malformed', 'number-of-lines segment (DNL) before the scan');
  // APPn, COM, DAC (only meaningful with arithmetic SOFs, rejected above) and
  // reserved markers carry nothing RFC 2435 needs.
  return undefined;
}

function parseDqt(body: Buffer, tables: Tables): Rejected | undefined {
  let pos = 0;
  while (pos < body.length) {
    const pqTq = body[pos] ?? 0;
    const precision = pqTq >> 4;
    const id = pqTq & 0x0f;
    if (precision === 1) return reject('unsupported-quantization', '16-bit quantization tables');
    if (precision !== 0 || id > 3) return reject('malformed', 'invalid quantization table (DQT) header');
    if (body.length < pos + 1 + JPEG_QUANT_TABLE_BYTES) {
      return reject('malformed', 'quantization table (DQT) segment too short');
    }
    tables.quant[id] = body.subarray(pos + 1, pos + 1 + JPEG_QUANT_TABLE_BYTES);
    pos += 1 + JPEG_QUANT_TABLE_BYTES;
  }
  return undefined;
}

function parseDht(body: Buffer, tables: Tables): Rejected | undefined {
  let pos = 0;
  while (pos < body.length) {
    const tcTh = body[pos] ?? 0;
    const tableClass = tcTh >> 4;
    const id = tcTh & 0x0f;
    if (tableClass > 1 || id > 3) return reject('malformed', 'invalid Huffman table (DHT) header');
    if (body.length < pos + 17) return reject('malformed', 'Huffman table (DHT) segment too short');
    const counts = body.subarray(pos + 1, pos + 17);
    const symbolCount = counts.reduce((sum, n) => sum + n, 0);
    if (body.length < pos + 17 + symbolCount) return reject('malformed', 'Huffman table (DHT) segment too short');
    const symbols = body.subarray(pos + 17, pos + 17 + symbolCount);
    const standard = standardHuffmanTable(tableClass, id);
    tables.huffmanStandard.set(
      huffmanKey(tableClass, id),
      standard !== undefined && standard.counts.equals(counts) && standard.symbols.equals(symbols),
    );
    pos += 17 + symbolCount;
  }
  return undefined;
}

function parseSof0(body: Buffer, tables: Tables): Rejected | undefined {
  if (tables.frame !== undefined) return reject('malformed', 'more than one frame header (SOF)');
  if (body.length < 6) return reject('malformed', 'frame header (SOF0) too short');
  const precision = body[0] ?? 0;
  const height = body.readUInt16BE(1);
  const width = body.readUInt16BE(3);
  const count = body[5] ?? 0;
  if (body.length !== 6 + 3 * count) return reject('malformed', 'frame header (SOF0) has the wrong length');
  if (precision !== 8) return reject('not-baseline', `${precision}-bit samples (baseline JPEG is 8-bit)`);
  if (count !== 3) {
    const what = count === 1 ? 'grayscale (1 component)' : `${count} color components`;
    return reject('unsupported-components', `${what}; RTP/JPEG needs 3 (Y, Cb, Cr)`);
  }
  const components: FrameComponent[] = [];
  for (let i = 0; i < count; i++) {
    const at = 6 + 3 * i;
    const hv = body[at + 1] ?? 0;
    components.push({ id: body[at] ?? 0, h: hv >> 4, v: hv & 0x0f, tq: body[at + 2] ?? 0 });
  }
  if (new Set(components.map((c) => c.id)).size !== count) {
    return reject('malformed', 'frame header (SOF0) repeats a component identifier');
  }
  if (components.some((c) => c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3)) {
    return reject('malformed', 'frame header (SOF0) has invalid sampling factors or table numbers');
  }
  if (height === 0) return reject('unsupported-size', 'image height defined later by a DNL segment');
  if (width === 0 || width % 8 !== 0 || height % 8 !== 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
    return reject(
      'unsupported-size',
      `${width}x${height} pixels; RTP/JPEG needs width and height in multiples of 8 up to ${JPEG_MAX_DIMENSION}`,
    );
  }
  const sampling = describeSampling(components);
  if (sampling !== undefined) return reject('unsupported-sampling', sampling);
  tables.frame = { width, height, components };
  return undefined;
}

/** undefined when sampling is 4:2:2 or 4:2:0, otherwise what it is in words. */
function describeSampling(components: readonly FrameComponent[]): string | undefined {
  const [y, cb, cr] = components;
  if (y === undefined || cb === undefined || cr === undefined) return 'missing components';
  const chromaFull = cb.h === 1 && cb.v === 1 && cr.h === 1 && cr.v === 1;
  if (chromaFull && y.h === 2 && (y.v === 1 || y.v === 2)) return undefined;
  const factors = `Y ${y.h}x${y.v}, Cb ${cb.h}x${cb.v}, Cr ${cr.h}x${cr.v}`;
  const known: Record<string, string> = { '1x1': '4:4:4', '1x2': '4:4:0', '4x1': '4:1:1', '4x2': '4:1:0' };
  const name = chromaFull ? known[`${y.h}x${y.v}`] : undefined;
  const what = name !== undefined ? `${name} chroma sampling` : `chroma sampling ${factors}`;
  return `${what}; RTP/JPEG carries only 4:2:2 and 4:2:0`;
}

function parseScanHeader(body: Buffer, tables: Tables): Rejected | undefined {
  const frame = tables.frame;
  if (frame === undefined) return reject('malformed', 'scan (SOS) before the frame header (SOF)');
  const count = body[0];
  if (count === undefined || body.length !== 4 + 2 * count)
    return reject('malformed', 'scan header (SOS) has the wrong length');
  if (count !== frame.components.length) {
    return reject('multiple-scans', 'components coded in separate scans; RTP/JPEG needs one interleaved scan');
  }
  for (let i = 0; i < count; i++) {
    const component = frame.components[i];
    const tdTa = body[2 + 2 * i] ?? 0;
    if (component === undefined || body[1 + 2 * i] !== component.id) {
      return reject('malformed', 'scan header (SOS) lists components out of frame order');
    }
    // Rebuilt headers give Y the luminance tables (0) and Cb/Cr the chrominance ones (1).
    const expected = i === 0 ? 0 : 1;
    const dc = tdTa >> 4;
    const ac = tdTa & 0x0f;
    if (dc !== expected || ac !== expected) {
      return reject('non-standard-huffman', 'Huffman tables assigned to components in a non-standard way');
    }
    for (const [tableClass, id] of [
      [0, dc],
      [1, ac],
    ] as const) {
      if (tables.huffmanStandard.get(huffmanKey(tableClass, id)) === false) {
        return reject(
          'non-standard-huffman',
          'optimized (non-standard) Huffman tables; RTP/JPEG needs the standard tables (ffmpeg: -huffman default)',
        );
      }
    }
  }
  const ss = body[1 + 2 * count];
  const se = body[2 + 2 * count];
  const ahAl = body[3 + 2 * count];
  if (ss !== 0 || se !== 63 || ahAl !== 0)
    return reject('malformed', 'baseline scan header (SOS) with spectral selection');

  const [y, cb, cr] = frame.components;
  if (y === undefined || cb === undefined || cr === undefined) return reject('malformed', 'missing components');
  const lumaTable = tables.quant[y.tq];
  const chromaTable = tables.quant[cb.tq];
  if (lumaTable === undefined || chromaTable === undefined || tables.quant[cr.tq] === undefined) {
    return reject('malformed', 'scan uses a quantization table that was never defined');
  }
  // RFC 2435 carries one table for Y and one shared by Cb and Cr.
  if (cb.tq !== cr.tq && !chromaTable.equals(tables.quant[cr.tq] ?? Buffer.alloc(0))) {
    return reject('unsupported-quantization', 'Cb and Cr use different quantization tables');
  }
  return undefined;
}

/** Reads the entropy-coded data after SOS and the segments up to EOI. */
function parseScanAndTail(buf: Buffer, start: number, tables: Tables): JpegParseResult {
  let pos = start;
  let scanEnd: number;
  for (;;) {
    const ff = buf.indexOf(0xff, pos);
    if (ff < 0) return reject('truncated', 'file ends inside the scan data');
    let next = ff + 1;
    while (next < buf.length && buf[next] === 0xff) next++;
    const code = buf[next];
    if (code === undefined) return reject('truncated', 'file ends inside the scan data');
    // FF 00 is a stuffed data byte; RSTn markers belong to the scan.
    if (code === 0x00 || isRst(code)) {
      pos = next + 1;
      continue;
    }
    scanEnd = ff;
    pos = ff;
    break;
  }
  const scan = buf.subarray(start, scanEnd);
  if (scan.length === 0) return reject('malformed', 'empty scan');

  // Only tables/misc segments may follow the scan before EOI; another SOS is a second scan.
  for (;;) {
    const m = readMarker(buf, pos);
    if (!m.ok) return m;
    pos = m.next;
    if (m.marker === EOI) break;
    if (m.marker === SOS)
      return reject('multiple-scans', 'more than one scan; RTP/JPEG needs a single interleaved scan');
    if (m.marker === DNL) return reject('unsupported-size', 'image height defined by a DNL segment');
    if (m.marker === SOI || m.marker === TEM || isRst(m.marker)) {
      return reject('malformed', `unexpected marker 0xFF${markerHex(m.marker)} after the scan`);
    }
    if (buf.length < pos + 2) return reject('truncated', 'file ends inside a segment length');
    const length = buf.readUInt16BE(pos);
    if (length < 2) return reject('malformed', `segment 0xFF${markerHex(m.marker)} has invalid length ${length}`);
    if (buf.length < pos + length)
      return reject('truncated', `file ends inside the 0xFF${markerHex(m.marker)} segment`);
    pos += length;
  }

  const frame = tables.frame;
  const [y, cb] = frame?.components ?? [];
  const luma = y === undefined ? undefined : tables.quant[y.tq];
  const chroma = cb === undefined ? undefined : tables.quant[cb.tq];
  if (frame === undefined || y === undefined || luma === undefined || chroma === undefined) {
    return reject('malformed', 'scan without frame header or quantization tables');
  }
  return {
    ok: true,
    value: {
      width: frame.width,
      height: frame.height,
      type: y.v === 2 ? 1 : 0,
      quantTables: Buffer.concat([luma, chroma]),
      restartInterval: tables.restartInterval,
      scan,
    },
  };
}

function segment(marker: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0xff;
  head[1] = marker;
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

const DHT_BODY = Buffer.concat(
  STANDARD_HUFFMAN_TABLES.map((t) => Buffer.concat([Buffer.from([(t.tableClass << 4) | t.id]), t.counts, t.symbols])),
);

/**
 * Rebuilds a complete baseline JPEG (as RFC 2435 Appendix B does): SOI, DQT, SOF0,
 * DHT with the standard tables, DRI if restartInterval > 0, SOS, scan, EOI.
 * Components are numbered 1 (Y), 2 (Cb), 3 (Cr); Y uses tables 0, chroma tables 1.
 */
export function buildJpeg(img: JpegImage): Buffer {
  const dimensionOk = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 0xffff;
  if (!dimensionOk(img.width) || !dimensionOk(img.height)) {
    throw new JpegImageError(`invalid JPEG size ${img.width}x${img.height}`);
  }
  if (img.quantTables.length !== 2 * JPEG_QUANT_TABLE_BYTES) {
    throw new JpegImageError(`quantTables must be ${2 * JPEG_QUANT_TABLE_BYTES} bytes, got ${img.quantTables.length}`);
  }
  if (!Number.isInteger(img.restartInterval) || img.restartInterval < 0 || img.restartInterval > 0xffff) {
    throw new JpegImageError(`invalid restart interval ${img.restartInterval}`);
  }

  const dqt = Buffer.alloc(2 * (1 + JPEG_QUANT_TABLE_BYTES));
  dqt[0] = 0x00;
  img.quantTables.copy(dqt, 1, 0, JPEG_QUANT_TABLE_BYTES);
  dqt[1 + JPEG_QUANT_TABLE_BYTES] = 0x01;
  img.quantTables.copy(dqt, 2 + JPEG_QUANT_TABLE_BYTES, JPEG_QUANT_TABLE_BYTES);

  const sof = Buffer.alloc(15);
  sof[0] = 8;
  sof.writeUInt16BE(img.height, 1);
  sof.writeUInt16BE(img.width, 3);
  sof[5] = 3;
  sof.set([1, img.type === 1 ? 0x22 : 0x21, 0], 6);
  sof.set([2, 0x11, 1], 9);
  sof.set([3, 0x11, 1], 12);

  const sos = Buffer.from([3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);

  const parts = [Buffer.from([0xff, SOI]), segment(DQT, dqt), segment(SOF0, sof), segment(DHT, DHT_BODY)];
  if (img.restartInterval > 0) {
    const dri = Buffer.alloc(2);
    dri.writeUInt16BE(img.restartInterval, 0);
    parts.push(segment(DRI, dri));
  }
  parts.push(segment(SOS, sos), img.scan, Buffer.from([0xff, EOI]));
  return Buffer.concat(parts);
}
