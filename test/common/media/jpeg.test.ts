import fc from 'fast-check';
import jpegJs from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { encodeJpeg } from '../../../common/samples/jpeg-encoder.ts';
import {
  buildJpeg,
  JPEG_MAX_DIMENSION,
  JpegImageError,
  type JpegImage,
  parseJpeg,
} from '../../../common/media/jpeg.ts';
import { renderPattern } from '../../../common/samples/test-pattern.ts';

const pixels = (jpeg: Buffer): Uint8Array => jpegJs.decode(jpeg, { useTArray: true, formatAsRGBA: true }).data;

/** Offset of the first 0xFF<marker> segment header in a file made by our encoder. */
function segmentAt(jpeg: Buffer, marker: number): number {
  let pos = 2;
  while (pos + 4 <= jpeg.length) {
    if (jpeg[pos] !== 0xff) throw new Error(`no marker at ${pos}`);
    if (jpeg[pos + 1] === marker) return pos;
    pos += 2 + jpeg.readUInt16BE(pos + 2);
  }
  throw new Error(`marker ${marker.toString(16)} not found`);
}

function patched(jpeg: Buffer, edit: (copy: Buffer) => void): Buffer {
  const copy = Buffer.from(jpeg);
  edit(copy);
  return copy;
}

const SOF0 = 0xc0;
const DHT = 0xc4;
const DQT = 0xdb;
const SOS = 0xda;

const frame420 = encodeJpeg(renderPattern('bars', 12, 64, 48), { quality: 80 });

describe('parseJpeg', () => {
  it('reads what the encoder writes, 4:2:0 and 4:2:2, with and without restart markers', () => {
    const r = parseJpeg(frame420);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ width: 64, height: 48, type: 1, restartInterval: 0 });
    expect(r.value.quantTables.length).toBe(128);
    // The scan is everything between the SOS header and EOI.
    const sos = segmentAt(frame420, SOS);
    expect(r.value.scan).toEqual(frame420.subarray(sos + 2 + frame420.readUInt16BE(sos + 2), frame420.length - 2));

    const r422 = parseJpeg(encodeJpeg(renderPattern('gradient', 3, 32, 16), { sampling: '422', restartInterval: 2 }));
    expect(r422).toMatchObject({ ok: true, value: { width: 32, height: 16, type: 0, restartInterval: 2 } });
  });

  it.each([
    ['4:2:0', { sampling: '420' as const }, 96, 64],
    ['4:2:2', { sampling: '422' as const, quality: 50 }, 80, 40],
    ['4:2:0 with restart markers', { restartInterval: 3, quality: 95 }, 120, 72],
    ['4:2:2 with restart markers', { sampling: '422' as const, restartInterval: 1 }, 48, 8],
  ])('parse → build gives pixel-identical frames (%s)', (_name, options, width, height) => {
    const original = encodeJpeg(renderPattern('bounce', 7, width, height), options);
    const parsed = parseJpeg(original);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const rebuilt = buildJpeg(parsed.value);
    const decoded = jpegJs.decode(rebuilt, { useTArray: true });
    expect([decoded.width, decoded.height]).toEqual([width, height]);
    expect(Buffer.from(pixels(rebuilt)).equals(Buffer.from(pixels(original)))).toBe(true);
    // And the rebuilt file parses back to the same image.
    expect(parseJpeg(rebuilt)).toEqual(parsed);
  });

  it('accepts fill bytes before markers, APPn/COM segments and tables after the scan', () => {
    const sof = segmentAt(frame420, SOF0);
    const withFill = Buffer.concat([
      frame420.subarray(0, sof),
      Buffer.from([0xff, 0xff, 0xff, 0xfe, 0x00, 0x05, 0x61, 0x62, 0x63]), // fill + COM "abc"
      frame420.subarray(sof, frame420.length - 2),
      Buffer.from([0xff, 0xe1, 0x00, 0x02, 0xff, 0xd9]), // empty APP1 after the scan
    ]);
    const a = parseJpeg(withFill);
    const b = parseJpeg(frame420);
    expect(a).toEqual(b);
  });

  it("refuses progressive JPEG as 'progressive'", () => {
    const progressive = patched(frame420, (b) => {
      b[segmentAt(frame420, SOF0) + 1] = 0xc2;
    });
    expect(parseJpeg(progressive)).toMatchObject({ ok: false, reason: 'progressive' });
  });

  it("refuses other JPEG processes as 'not-baseline'", () => {
    for (const marker of [0xc1, 0xc3, 0xc9]) {
      const other = patched(frame420, (b) => {
        b[segmentAt(frame420, SOF0) + 1] = marker;
      });
      expect(parseJpeg(other)).toMatchObject({ ok: false, reason: 'not-baseline' });
    }
    const twelveBit = patched(frame420, (b) => {
      b[segmentAt(frame420, SOF0) + 4] = 12;
    });
    expect(parseJpeg(twelveBit)).toMatchObject({ ok: false, reason: 'not-baseline' });
  });

  it("refuses 4:4:4 (jpeg-js's only output) as 'unsupported-sampling'", () => {
    const image = renderPattern('bars', 0, 64, 64);
    const jpeg444 = jpegJs.encode({ width: 64, height: 64, data: Buffer.from(image.data) }, 80).data;
    const r = parseJpeg(jpeg444);
    expect(r).toMatchObject({ ok: false, reason: 'unsupported-sampling' });
    expect(!r.ok && r.detail).toContain('4:4:4');
  });

  it("refuses sizes that are not multiples of 8 up to 2040 as 'unsupported-size'", () => {
    for (const [w, h] of [
      [100, 75],
      [63, 64],
      [64, 1],
      [2048, 8],
    ] as const) {
      const r = parseJpeg(encodeJpeg(renderPattern('gradient', 0, w, h)));
      expect(r).toMatchObject({ ok: false, reason: 'unsupported-size' });
    }
    expect(parseJpeg(encodeJpeg(renderPattern('gradient', 0, JPEG_MAX_DIMENSION, 8))).ok).toBe(true);
  });

  it("refuses optimized Huffman tables as 'non-standard-huffman'", () => {
    // Swap two luminance DC symbols: same code lengths, different table.
    const custom = patched(frame420, (b) => {
      const at = segmentAt(frame420, DHT) + 4 + 17;
      b[at] = 1;
      b[at + 1] = 0;
    });
    expect(parseJpeg(custom)).toMatchObject({ ok: false, reason: 'non-standard-huffman' });
  });

  it("refuses 16-bit quantization tables as 'unsupported-quantization'", () => {
    const sixteen = patched(frame420, (b) => {
      b[segmentAt(frame420, DQT) + 4] = 0x10;
    });
    expect(parseJpeg(sixteen)).toMatchObject({ ok: false, reason: 'unsupported-quantization' });
  });

  it("refuses grayscale as 'unsupported-components'", () => {
    const sof = segmentAt(frame420, SOF0);
    const gray = Buffer.concat([
      frame420.subarray(0, sof),
      Buffer.from([0xff, 0xc0, 0x00, 0x0b, 8, 0, 48, 0, 64, 1, 1, 0x11, 0]),
      frame420.subarray(sof + 2 + frame420.readUInt16BE(sof + 2)),
    ]);
    expect(parseJpeg(gray)).toMatchObject({ ok: false, reason: 'unsupported-components' });
  });

  it("refuses a second scan as 'multiple-scans'", () => {
    const sos = segmentAt(frame420, SOS);
    const twoScans = Buffer.concat([frame420.subarray(0, frame420.length - 2), frame420.subarray(sos)]);
    expect(parseJpeg(twoScans)).toMatchObject({ ok: false, reason: 'multiple-scans' });
  });

  it("refuses truncated files as 'truncated'", () => {
    expect(parseJpeg(Buffer.alloc(0))).toMatchObject({ ok: false, reason: 'truncated' });
    expect(parseJpeg(Buffer.from([0xff]))).toMatchObject({ ok: false, reason: 'truncated' });
    expect(parseJpeg(Buffer.from([0xff, 0xd8]))).toMatchObject({ ok: false, reason: 'truncated' });
    for (const cut of [3, 10, segmentAt(frame420, SOS) + 5, frame420.length - 2, frame420.length - 1]) {
      expect(parseJpeg(frame420.subarray(0, cut))).toMatchObject({ ok: false, reason: 'truncated' });
    }
  });

  it("refuses garbage as 'malformed'", () => {
    expect(parseJpeg(Buffer.from('GIF89a....'))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseJpeg(Buffer.from([0xff, 0xd8, 0xff, 0xd9]))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseJpeg(Buffer.from([0xff, 0xd8, 0x12, 0x34]))).toMatchObject({ ok: false, reason: 'malformed' });
    const badLength = patched(frame420, (b) => {
      b.writeUInt16BE(1, segmentAt(frame420, DQT) + 2);
    });
    expect(parseJpeg(badLength)).toMatchObject({ ok: false, reason: 'malformed' });
    const sos = segmentAt(frame420, SOS);
    const scanBeforeFrame = Buffer.concat([Buffer.from([0xff, 0xd8]), frame420.subarray(sos)]);
    expect(parseJpeg(scanBeforeFrame)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('every rejection says why in words', () => {
    const r = parseJpeg(Buffer.from('not a jpeg'));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.detail.length).toBeGreaterThan(0);
  });

  it('never throws on random bytes or on corrupted frames', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        parseJpeg(Buffer.from(bytes));
        parseJpeg(Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.from(bytes)]));
      }),
      { numRuns: 1000 },
    );
    const small = encodeJpeg(renderPattern('bars', 1, 16, 16));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: small.length - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat({ max: small.length }),
        (edits, cut) => {
          const b = Buffer.from(small);
          for (const [at, value] of edits) b[at] = value;
          parseJpeg(b.subarray(0, cut));
          parseJpeg(b);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('buildJpeg', () => {
  const image: JpegImage = {
    width: 16,
    height: 16,
    type: 1,
    quantTables: Buffer.alloc(128, 1),
    restartInterval: 0,
    scan: Buffer.from([0x00]),
  };

  it('throws JpegImageError for images no header can describe', () => {
    expect(() => buildJpeg({ ...image, width: 0 })).toThrow(JpegImageError);
    expect(() => buildJpeg({ ...image, height: 65536 })).toThrow(JpegImageError);
    expect(() => buildJpeg({ ...image, quantTables: Buffer.alloc(64) })).toThrow(JpegImageError);
    expect(() => buildJpeg({ ...image, restartInterval: -1 })).toThrow(JpegImageError);
  });

  it('writes a DRI segment only with a restart interval', () => {
    const dri = Buffer.from([0xff, 0xdd, 0x00, 0x04]);
    expect(buildJpeg(image).includes(dri)).toBe(false);
    expect(buildJpeg({ ...image, restartInterval: 4 }).includes(Buffer.concat([dri, Buffer.from([0, 4])]))).toBe(true);
  });
});
