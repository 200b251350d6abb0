import jpegJs from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { encodeJpeg, type RgbaImage } from '../../../common/samples/jpeg-encoder.ts';
import { renderPattern } from '../../../common/samples/test-pattern.ts';

/** Peak signal-to-noise ratio of the RGB channels, in dB. */
function psnr(a: RgbaImage, decoded: Uint8Array): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = (a.data[i + c] ?? 0) - (decoded[i + c] ?? 0);
      sum += d * d;
      n++;
    }
  }
  return sum === 0 ? Infinity : 10 * Math.log10((255 * 255) / (sum / n));
}

function lumaPsnr(a: RgbaImage, decoded: Uint8Array): number {
  const luma = (p: ArrayLike<number>, i: number): number =>
    0.299 * (p[i] ?? 0) + 0.587 * (p[i + 1] ?? 0) + 0.114 * (p[i + 2] ?? 0);
  let sum = 0;
  for (let i = 0; i < a.data.length; i += 4) sum += (luma(a.data, i) - luma(decoded, i)) ** 2;
  return 10 * Math.log10((255 * 255) / (sum / (a.data.length / 4)));
}

function markers(jpeg: Buffer): number[] {
  const found: number[] = [];
  for (let i = 0; i + 1 < jpeg.length; i++) {
    const next = jpeg[i + 1] ?? 0;
    if (jpeg[i] === 0xff && next !== 0x00 && next !== 0xff) found.push(next);
  }
  return found;
}

describe('encodeJpeg', () => {
  it.each([
    ['420', 64, 48],
    ['422', 64, 48],
    ['420', 37, 21],
    ['422', 1, 1],
    ['420', 17, 200],
  ] as const)('writes a %s JPEG of %ix%i that jpeg-js decodes close to the source', (sampling, width, height) => {
    const image = renderPattern('gradient', 5, width, height);
    const jpeg = encodeJpeg(image, { sampling, quality: 90 });
    const decoded = jpegJs.decode(jpeg, { useTArray: true, formatAsRGBA: true });
    expect([decoded.width, decoded.height]).toEqual([width, height]);
    expect(psnr(image, decoded.data)).toBeGreaterThan(sampling === '420' && width > 16 ? 28 : 25);
  });

  it('writes SOI, APP0, DQT, SOF0, DHT, SOS, EOI in that order, with SOF0 sampling per option', () => {
    const image = renderPattern('bars', 0, 32, 32);
    for (const [sampling, hv] of [
      ['420', 0x22],
      ['422', 0x21],
    ] as const) {
      const jpeg = encodeJpeg(image, { sampling });
      expect(markers(jpeg)).toEqual([0xd8, 0xe0, 0xdb, 0xc0, 0xc4, 0xda, 0xd9]);
      const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
      expect(jpeg.subarray(sof + 4, sof + 19)).toEqual(
        Buffer.from([8, 0, 32, 0, 32, 3, 1, hv, 0, 2, 0x11, 1, 3, 0x11, 1]),
      );
    }
  });

  it('writes DRI and cycling RST0..RST7 markers with a restart interval', () => {
    // 64x64 at 4:2:0 = 16 MCUs; interval 1 → 15 restart markers RST0..7, RST0..6.
    const jpeg = encodeJpeg(renderPattern('bounce', 2, 64, 64), { restartInterval: 1 });
    const found = markers(jpeg);
    expect(found).toContain(0xdd);
    expect(found.filter((m) => m >= 0xd0 && m <= 0xd7)).toEqual([
      0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6,
    ]);
    const plain = jpegJs.decode(encodeJpeg(renderPattern('bounce', 2, 64, 64)), { useTArray: true }).data;
    expect(Buffer.from(jpegJs.decode(jpeg, { useTArray: true }).data).equals(Buffer.from(plain))).toBe(true);
  });

  it('is deterministic and shrinks with quality', () => {
    const image = renderPattern('bars', 9, 96, 64);
    expect(encodeJpeg(image, { quality: 60 })).toEqual(encodeJpeg(image, { quality: 60 }));
    expect(encodeJpeg(image, { quality: 20 }).length).toBeLessThan(encodeJpeg(image, { quality: 95 }).length);
  });

  it('handles extreme quality settings and saturated colours', () => {
    const white: RgbaImage = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 4).fill(255) };
    for (const quality of [1, 100]) {
      const decoded = jpegJs.decode(encodeJpeg(white, { quality }), { useTArray: true });
      expect(Math.min(...decoded.data)).toBeGreaterThanOrEqual(250);
    }
    // Chroma is subsampled, so judge quality 100 on luma alone: it must be near lossless.
    const image = renderPattern('bars', 0, 48, 48);
    const decoded = jpegJs.decode(encodeJpeg(image, { quality: 100 }), { useTArray: true }).data;
    expect(lumaPsnr(image, decoded)).toBeGreaterThan(45);
  });

  it('throws RangeError for invalid sizes, options and short data', () => {
    const image = renderPattern('bars', 0, 8, 8);
    expect(() => encodeJpeg({ ...image, width: 0 })).toThrow(RangeError);
    expect(() => encodeJpeg({ ...image, height: 1.5 })).toThrow(RangeError);
    expect(() => encodeJpeg({ ...image, width: 65536 })).toThrow(RangeError);
    expect(() => encodeJpeg({ ...image, data: new Uint8Array(10) })).toThrow(RangeError);
    expect(() => encodeJpeg(image, { quality: 0 })).toThrow(RangeError);
    expect(() => encodeJpeg(image, { quality: 101 })).toThrow(RangeError);
    expect(() => encodeJpeg(image, { restartInterval: 65536 })).toThrow(RangeError);
    expect(() => encodeJpeg(image, { sampling: '444' as '420' })).toThrow(RangeError);
  });
});
