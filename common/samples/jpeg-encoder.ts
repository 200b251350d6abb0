/**
 * A small baseline JPEG encoder (ITU-T T.81) that writes the flavour RTP/JPEG (RFC 2435) carries:
 * three components, Y sampled 2x2 (4:2:0, RFC type 1) or 2x1 (4:2:2, RFC type 0), chroma 1x1,
 * 8-bit quantisation tables (Y table 0, chroma table 1) and the standard Huffman tables of
 * Annex K.3. jpeg-js only writes 4:4:4, and the sample movies must be made without ffmpeg.
 * Any size is encoded (edges are padded by replication); RFC 2435 additionally needs width and
 * height in multiples of 8 up to 2040, which is the caller's choice.
 *
 * Output layout:
 *
 *   SOI  APP0 "JFIF"  DQT(0,1)  SOF0  DHT(DC0,AC0,DC1,AC1)  [DRI]  SOS  scan [RSTn ...]  EOI
 *
 * The forward DCT is the AAN float algorithm (libjpeg's jfdctflt.c), with its output scaling
 * folded into the quantisation divisors.
 */

import {
  CHROMA_QUANT_K2,
  LUMA_QUANT_K1,
  STANDARD_HUFFMAN_TABLES,
  ZIGZAG,
  standardHuffmanTable,
} from '../media/jpeg-tables.ts';
import { APP0, DHT, DQT, DRI, EOI, RST0, SOF0, SOI, SOS } from '../media/jpeg-markers.ts';
import type { RgbaImage } from '../media/rgba-image.ts';

export type { RgbaImage } from '../media/rgba-image.ts';

export interface JpegEncodeOptions {
  /** 1..100, default 75: IJG scaling of the Annex K tables (50 = the tables as printed). */
  readonly quality?: number;
  /** Chroma subsampling, default '420' (RFC 2435 type 1); '422' is type 0. */
  readonly sampling?: '420' | '422';
  /** MCUs between restart markers, default 0 = no restart markers. At most 65535. */
  readonly restartInterval?: number;
}

/** The largest width or height a frame header (SOF) can hold. */
const MAX_DIMENSION = 65535;
/** DRI holds the restart interval in 16 bits. */
const MAX_RESTART_INTERVAL = 65535;

/** Encoder code book: code and length per symbol (T.81 Annex C). */
interface HuffmanCodes {
  readonly code: Uint16Array;
  readonly length: Uint8Array;
}

function buildCodes(tableClass: 0 | 1, id: 0 | 1): HuffmanCodes {
  const spec = standardHuffmanTable(tableClass, id);
  if (spec === undefined) throw new Error(`no standard Huffman table ${tableClass}/${id}`);
  const code = new Uint16Array(256);
  const length = new Uint8Array(256);
  let next = 0;
  let k = 0;
  for (let bits = 1; bits <= 16; bits++) {
    const count = spec.counts[bits - 1] ?? 0;
    for (let i = 0; i < count; i++) {
      const symbol = spec.symbols[k++] ?? 0;
      code[symbol] = next++;
      length[symbol] = bits;
    }
    next <<= 1;
  }
  return { code, length };
}

const LUMA_DC_CODES = buildCodes(0, 0);
const LUMA_AC_CODES = buildCodes(1, 0);
const CHROMA_DC_CODES = buildCodes(0, 1);
const CHROMA_AC_CODES = buildCodes(1, 1);

/** cos(pi/4) to the nine digits libjpeg's jfdctflt.c uses, so our output matches its. */
// biome-ignore lint/suspicious/noApproximativeNumericConstant: libjpeg's constant, kept as written
const COS_PI_4 = 0.707106781;

/** AAN output scale per frequency: 1 for DC, cos(k*pi/16)*sqrt(2) otherwise. */
const AAN_SCALE: readonly number[] = Array.from({ length: 8 }, (_, k) =>
  k === 0 ? 1 : Math.cos((k * Math.PI) / 16) * Math.SQRT2,
);

/**
 * IJG quality scaling of an Annex K table (libjpeg jcparam.c), clamped to 1..255 so the table
 * stays 8-bit as RFC 2435 requires. Returned in natural order.
 */
function scaledQuantTable(base: readonly number[], quality: number): Uint8Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - q * 2;
  const out = new Uint8Array(64);
  for (let i = 0; i < 64; i++) {
    out[i] = Math.min(255, Math.max(1, Math.floor(((base[i] ?? 0) * scale + 50) / 100)));
  }
  return out;
}

/** Encodes an RGBA image as a baseline JPEG; RangeError for invalid sizes, options or short data. */
export function encodeJpeg(image: RgbaImage, options: JpegEncodeOptions = {}): Buffer {
  const { width, height, data } = image;
  const quality = options.quality ?? 75;
  const sampling = options.sampling ?? '420';
  const restartInterval = options.restartInterval ?? 0;
  checkInteger('width', width, 1, MAX_DIMENSION);
  checkInteger('height', height, 1, MAX_DIMENSION);
  checkInteger('quality', quality, 1, 100);
  checkInteger('restartInterval', restartInterval, 0, MAX_RESTART_INTERVAL);
  if (sampling !== '420' && sampling !== '422') {
    throw new RangeError(`sampling must be '420' or '422', got ${String(sampling)}`);
  }
  if (data.length < width * height * 4) {
    throw new RangeError(`RGBA data holds ${data.length} bytes; ${width}x${height} needs ${width * height * 4}`);
  }

  const lumaQuant = scaledQuantTable(LUMA_QUANT_K1, quality);
  const chromaQuant = scaledQuantTable(CHROMA_QUANT_K2, quality);
  const vSamp = sampling === '420' ? 2 : 1;

  const out = new ByteSink(Math.max(4096, width * height));
  out.marker(SOI);
  writeJfif(out);
  writeQuantTables(out, lumaQuant, chromaQuant);
  writeFrameHeader(out, width, height, vSamp);
  writeHuffmanTables(out);
  if (restartInterval > 0) {
    out.marker(DRI);
    out.u16(4);
    out.u16(restartInterval);
  }
  writeScanHeader(out);
  writeScan(out, image, vSamp, lumaQuant, chromaQuant, restartInterval);
  out.marker(EOI);
  return out.toBuffer();
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/** APP0 JFIF 1.01, no thumbnail, 1:1 pixel aspect. */
function writeJfif(out: ByteSink): void {
  out.marker(APP0);
  out.u16(16);
  out.bytes([0x4a, 0x46, 0x49, 0x46, 0x00]); // "JFIF\0"
  out.bytes([1, 1]); // version 1.01
  out.byte(0); // density units: none (aspect ratio only)
  out.u16(1);
  out.u16(1);
  out.bytes([0, 0]); // no thumbnail
}

/** DQT with both tables, 8-bit precision (Pq = 0), entries in zig-zag order. */
function writeQuantTables(out: ByteSink, luma: Uint8Array, chroma: Uint8Array): void {
  out.marker(DQT);
  out.u16(2 + 2 * 65);
  for (const [id, table] of [
    [0, luma],
    [1, chroma],
  ] as const) {
    out.byte(id);
    for (let k = 0; k < 64; k++) out.byte(table[ZIGZAG[k] ?? 0] ?? 1);
  }
}

/** SOF0: 8-bit samples; components 1 (Y, Hx V, table 0), 2 (Cb) and 3 (Cr) at 1x1 with table 1. */
function writeFrameHeader(out: ByteSink, width: number, height: number, vSamp: number): void {
  out.marker(SOF0);
  out.u16(8 + 3 * 3);
  out.byte(8);
  out.u16(height);
  out.u16(width);
  out.byte(3);
  out.bytes([1, (2 << 4) | vSamp, 0]);
  out.bytes([2, 0x11, 1]);
  out.bytes([3, 0x11, 1]);
}

/** One DHT segment holding the four Annex K tables, in RFC 2435 Appendix B order. */
function writeHuffmanTables(out: ByteSink): void {
  let length = 2;
  for (const t of STANDARD_HUFFMAN_TABLES) length += 1 + t.counts.length + t.symbols.length;
  out.marker(DHT);
  out.u16(length);
  for (const t of STANDARD_HUFFMAN_TABLES) {
    out.byte((t.tableClass << 4) | t.id);
    out.bytes(t.counts);
    out.bytes(t.symbols);
  }
}

/** SOS: all three components interleaved, Y on tables 0/0, chroma on 1/1, full spectrum. */
function writeScanHeader(out: ByteSink): void {
  out.marker(SOS);
  out.u16(6 + 2 * 3);
  out.byte(3);
  out.bytes([1, 0x00, 2, 0x11, 3, 0x11]);
  out.bytes([0, 63, 0]); // Ss, Se, Ah/Al
}

/** Level-shifted planes padded to whole MCUs by replicating the last column and row. */
interface Planes {
  readonly y: Float32Array;
  readonly cb: Float32Array;
  readonly cr: Float32Array;
  readonly lumaStride: number;
  readonly chromaStride: number;
  readonly mcusX: number;
  readonly mcusY: number;
}

function toPlanes(image: RgbaImage, vSamp: number): Planes {
  const { width, height, data } = image;
  const mcuH = 8 * vSamp;
  const mcusX = Math.ceil(width / 16);
  const mcusY = Math.ceil(height / mcuH);
  const pw = mcusX * 16;
  const ph = mcusY * mcuH;
  const cw = pw / 2;
  const ch = ph / vSamp;
  const y = new Float32Array(pw * ph);
  const cbFull = new Float32Array(pw * ph);
  const crFull = new Float32Array(pw * ph);
  for (let py = 0; py < ph; py++) {
    const sy = py < height ? py : height - 1;
    for (let px = 0; px < pw; px++) {
      const sx = px < width ? px : width - 1;
      const s = (sy * width + sx) * 4;
      const r = data[s] ?? 0;
      const g = data[s + 1] ?? 0;
      const b = data[s + 2] ?? 0;
      const d = py * pw + px;
      // JFIF YCbCr, minus the 128 level shift of T.81 A.3.1 (chroma's +128 offset cancels it).
      y[d] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
      cbFull[d] = -0.168735892 * r - 0.331264108 * g + 0.5 * b;
      crFull[d] = 0.5 * r - 0.418687589 * g - 0.081312411 * b;
    }
  }
  const cb = new Float32Array(cw * ch);
  const cr = new Float32Array(cw * ch);
  const norm = 1 / (2 * vSamp);
  for (let cy = 0; cy < ch; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      let sumB = 0;
      let sumR = 0;
      for (let dy = 0; dy < vSamp; dy++) {
        const row = (cy * vSamp + dy) * pw + cx * 2;
        sumB += (cbFull[row] ?? 0) + (cbFull[row + 1] ?? 0);
        sumR += (crFull[row] ?? 0) + (crFull[row + 1] ?? 0);
      }
      cb[cy * cw + cx] = sumB * norm;
      cr[cy * cw + cx] = sumR * norm;
    }
  }
  return { y, cb, cr, lumaStride: pw, chromaStride: cw, mcusX, mcusY };
}

/** Quantisation multipliers in natural order with the AAN output scaling folded in. */
function divisors(quant: Uint8Array): Float32Array {
  const out = new Float32Array(64);
  for (let row = 0; row < 8; row++) {
    for (let col = 0; col < 8; col++) {
      const i = row * 8 + col;
      out[i] = 1 / ((quant[i] ?? 1) * (AAN_SCALE[row] ?? 1) * (AAN_SCALE[col] ?? 1) * 8);
    }
  }
  return out;
}

function writeScan(
  out: ByteSink,
  image: RgbaImage,
  vSamp: number,
  lumaQuant: Uint8Array,
  chromaQuant: Uint8Array,
  restartInterval: number,
): void {
  const planes = toPlanes(image, vSamp);
  const lumaDiv = divisors(lumaQuant);
  const chromaDiv = divisors(chromaQuant);
  const bits = new BitWriter(out);
  const block = new Float32Array(64);
  const coefs = new Int16Array(64);
  let predY = 0;
  let predCb = 0;
  let predCr = 0;
  let mcu = 0;
  for (let my = 0; my < planes.mcusY; my++) {
    for (let mx = 0; mx < planes.mcusX; mx++) {
      if (restartInterval > 0 && mcu > 0 && mcu % restartInterval === 0) {
        bits.flush();
        out.marker(RST0 + ((mcu / restartInterval - 1) & 7));
        predY = predCb = predCr = 0;
      }
      for (let by = 0; by < vSamp; by++) {
        for (let bx = 0; bx < 2; bx++) {
          loadBlock(block, planes.y, planes.lumaStride, mx * 16 + bx * 8, (my * vSamp + by) * 8);
          quantise(block, lumaDiv, coefs);
          predY = encodeBlock(bits, coefs, predY, LUMA_DC_CODES, LUMA_AC_CODES);
        }
      }
      loadBlock(block, planes.cb, planes.chromaStride, mx * 8, my * 8);
      quantise(block, chromaDiv, coefs);
      predCb = encodeBlock(bits, coefs, predCb, CHROMA_DC_CODES, CHROMA_AC_CODES);
      loadBlock(block, planes.cr, planes.chromaStride, mx * 8, my * 8);
      quantise(block, chromaDiv, coefs);
      predCr = encodeBlock(bits, coefs, predCr, CHROMA_DC_CODES, CHROMA_AC_CODES);
      mcu++;
    }
  }
  bits.flush();
}

function loadBlock(block: Float32Array, plane: Float32Array, stride: number, x: number, y: number): void {
  for (let row = 0; row < 8; row++) {
    const base = (y + row) * stride + x;
    for (let col = 0; col < 8; col++) block[row * 8 + col] = plane[base + col] ?? 0;
  }
}

/** AAN forward DCT in place (rows, then columns), then quantise to integers in natural order. */
function quantise(d: Float32Array, div: Float32Array, coefs: Int16Array): void {
  for (let pass = 0; pass < 2; pass++) {
    // Pass 0 transforms rows (elements 1 apart, rows 8 apart); pass 1 transforms columns.
    const step = pass === 0 ? 1 : 8;
    const next = pass === 0 ? 8 : 1;
    for (let line = 0; line < 8; line++) {
      const o = line * next;
      const d0 = d[o] ?? 0;
      const d1 = d[o + step] ?? 0;
      const d2 = d[o + 2 * step] ?? 0;
      const d3 = d[o + 3 * step] ?? 0;
      const d4 = d[o + 4 * step] ?? 0;
      const d5 = d[o + 5 * step] ?? 0;
      const d6 = d[o + 6 * step] ?? 0;
      const d7 = d[o + 7 * step] ?? 0;
      const tmp0 = d0 + d7;
      const tmp7 = d0 - d7;
      const tmp1 = d1 + d6;
      const tmp6 = d1 - d6;
      const tmp2 = d2 + d5;
      const tmp5 = d2 - d5;
      const tmp3 = d3 + d4;
      const tmp4 = d3 - d4;
      // Even part.
      const tmp10 = tmp0 + tmp3;
      const tmp13 = tmp0 - tmp3;
      const tmp11 = tmp1 + tmp2;
      const tmp12 = tmp1 - tmp2;
      d[o] = tmp10 + tmp11;
      d[o + 4 * step] = tmp10 - tmp11;
      const z1 = (tmp12 + tmp13) * COS_PI_4;
      d[o + 2 * step] = tmp13 + z1;
      d[o + 6 * step] = tmp13 - z1;
      // Odd part.
      const t10 = tmp4 + tmp5;
      const t11 = tmp5 + tmp6;
      const t12 = tmp6 + tmp7;
      const z5 = (t10 - t12) * 0.382683433;
      const z2 = 0.5411961 * t10 + z5;
      const z4 = 1.306562965 * t12 + z5;
      const z3 = t11 * COS_PI_4;
      const z11 = tmp7 + z3;
      const z13 = tmp7 - z3;
      d[o + 5 * step] = z13 + z2;
      d[o + 3 * step] = z13 - z2;
      d[o + step] = z11 + z4;
      d[o + 7 * step] = z11 - z4;
    }
  }
  for (let i = 0; i < 64; i++) {
    // Baseline limits: DC magnitude < 2048 and AC < 1024 for 8-bit samples; clamp against float error.
    const v = Math.floor((d[i] ?? 0) * (div[i] ?? 0) + 0.5);
    const limit = i === 0 ? 2047 : 1023;
    coefs[i] = v > limit ? limit : Math.max(v, -limit);
  }
}

/** Bits needed for |v| (the magnitude category of T.81 F.1.2.1). */
function category(v: number): number {
  let a = v < 0 ? -v : v;
  let n = 0;
  while (a > 0) {
    n++;
    a >>= 1;
  }
  return n;
}

/** Huffman-codes one block (T.81 F.1.2); returns the new DC predictor. */
function encodeBlock(bits: BitWriter, coefs: Int16Array, pred: number, dc: HuffmanCodes, ac: HuffmanCodes): number {
  const dcValue = coefs[0] ?? 0;
  const diff = dcValue - pred;
  const dcSize = category(diff);
  bits.put(dc.code[dcSize] ?? 0, dc.length[dcSize] ?? 0);
  if (dcSize > 0) bits.put(diff < 0 ? diff + (1 << dcSize) - 1 : diff, dcSize);
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const v = coefs[ZIGZAG[k] ?? 0] ?? 0;
    if (v === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      bits.put(ac.code[0xf0] ?? 0, ac.length[0xf0] ?? 0); // ZRL: sixteen zeros
      run -= 16;
    }
    const size = category(v);
    const symbol = (run << 4) | size;
    bits.put(ac.code[symbol] ?? 0, ac.length[symbol] ?? 0);
    bits.put(v < 0 ? v + (1 << size) - 1 : v, size);
    run = 0;
  }
  if (run > 0) bits.put(ac.code[0x00] ?? 0, ac.length[0x00] ?? 0); // EOB
  return dcValue;
}

/** MSB-first bit packer for entropy-coded data: stuffs 0x00 after every 0xFF (T.81 F.1.2.3). */
class BitWriter {
  private acc = 0;
  private count = 0;

  constructor(private readonly out: ByteSink) {}

  /** Appends the low `length` bits of `value` (length <= 16). */
  put(value: number, length: number): void {
    this.acc = ((this.acc << length) | (value & ((1 << length) - 1))) >>> 0;
    this.count += length;
    while (this.count >= 8) {
      this.count -= 8;
      const byte = (this.acc >>> this.count) & 0xff;
      this.out.byte(byte);
      if (byte === 0xff) this.out.byte(0x00);
    }
    this.acc &= (1 << this.count) - 1;
  }

  /** Pads the last byte with 1 bits, as required before a marker. */
  flush(): void {
    if (this.count > 0) this.put(0x7f, 8 - this.count);
  }
}

/** Growable output buffer. */
class ByteSink {
  private buf: Uint8Array;
  private len = 0;

  constructor(initial: number) {
    this.buf = new Uint8Array(initial);
  }

  byte(b: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
  }

  bytes(bs: ArrayLike<number>): void {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i] ?? 0);
  }

  u16(v: number): void {
    this.byte((v >>> 8) & 0xff);
    this.byte(v & 0xff);
  }

  marker(m: number): void {
    this.byte(0xff);
    this.byte(m);
  }

  /** A copy sized to the content, so callers holding many frames don't pin the slack. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}
