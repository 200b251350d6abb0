import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RgbaImage } from '../../../common/media/rgba-image.ts';
import { fitPixels, HalfBlockError, toHalfBlocks } from '../../../oclient/core/halfblock.ts';

/** An image whose pixel (x, y) is colour(x, y) (0xRRGGBB), alpha 255. */
function image(width: number, height: number, colour: (x: number, y: number) => number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = colour(x, y);
      data.set([(c >> 16) & 0xff, (c >> 8) & 0xff, c & 0xff, 255], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

describe('fitPixels', () => {
  it('fills the box width with a wide image, keeping its aspect ratio', () => {
    // 320x240 into 80 cols x 40 rows = 80 x 80 pixels: width-bound, 80 x 60.
    expect(fitPixels(320, 240, 80, 40)).toEqual({ width: 80, height: 60 });
  });

  it('fills the box height with a tall image', () => {
    // 100x400 into 80 x 20 cells = 80 x 40 pixels: height-bound, 10 x 40.
    expect(fitPixels(100, 400, 80, 20)).toEqual({ width: 10, height: 40 });
  });

  it('scales small images up', () => {
    expect(fitPixels(4, 2, 40, 10)).toEqual({ width: 40, height: 20 });
  });

  it('never exceeds the box, and is at least one pixel', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 200 }),
        (w, h, cols, rows) => {
          const f = fitPixels(w, h, cols, rows);
          expect(f.width).toBeGreaterThanOrEqual(1);
          expect(f.height).toBeGreaterThanOrEqual(1);
          expect(f.width).toBeLessThanOrEqual(cols);
          expect(f.height).toBeLessThanOrEqual(rows * 2);
          // One side touches the box (up to rounding).
          expect(f.width === cols || Math.abs(f.height - rows * 2) <= 1 || f.height === rows * 2).toBe(true);
        },
      ),
    );
  });

  it('is empty for an empty image or box', () => {
    expect(fitPixels(0, 10, 10, 10)).toEqual({ width: 0, height: 0 });
    expect(fitPixels(10, 10, 0, 10)).toEqual({ width: 0, height: 0 });
    expect(fitPixels(10, 10, 10, 0)).toEqual({ width: 0, height: 0 });
  });
});

describe('toHalfBlocks', () => {
  it('puts the upper pixel in the foreground and the lower one in the background', () => {
    const img = image(
      2,
      2,
      (x, y) =>
        [
          [0xff0000, 0x00ff00],
          [0x0000ff, 0xffffff],
        ][y]?.[x] ?? 0,
    );
    const f = toHalfBlocks(img, 2, 1);
    expect(f).toMatchObject({ cols: 2, rows: 1, pixelRows: 2 });
    expect(f.cells).toEqual([
      [
        { fg: 0xff0000, bg: 0x0000ff },
        { fg: 0x00ff00, bg: 0xffffff },
      ],
    ]);
  });

  it('leaves the background empty in the last row of an odd number of pixel rows', () => {
    // 3x3 into 3 cols x 2 rows: 3 x 3 pixels, so 2 cell rows, the second with no lower pixel.
    const img = image(3, 3, (_, y) => [0x101010, 0x202020, 0x303030][y] ?? 0);
    const f = toHalfBlocks(img, 3, 2);
    expect(f).toMatchObject({ cols: 3, rows: 2, pixelRows: 3 });
    expect(f.cells[0]).toEqual(Array(3).fill({ fg: 0x101010, bg: 0x202020 }));
    expect(f.cells[1]).toEqual(Array(3).fill({ fg: 0x303030, bg: null }));
  });

  it('averages the source pixels that fall in one output pixel', () => {
    // A 4x4 checkerboard of black and white shrunk to 1x1 pixel: mid grey (127.5 rounds to 128).
    const img = image(4, 4, (x, y) => ((x + y) % 2 === 0 ? 0xffffff : 0x000000));
    const f = toHalfBlocks(img, 1, 1);
    expect(f).toMatchObject({ cols: 1, rows: 1, pixelRows: 1 });
    expect(f.cells).toEqual([[{ fg: 0x808080, bg: null }]]);
  });

  it('keeps colour channels apart when averaging', () => {
    const img = image(2, 2, (x) => (x === 0 ? 0xff0000 : 0x0000ff));
    expect(toHalfBlocks(img, 1, 1).cells).toEqual([[{ fg: 0x800080, bg: null }]]);
  });

  it('scales up by repeating pixels', () => {
    const img = image(2, 1, (x) => (x === 0 ? 0x112233 : 0x445566));
    const f = toHalfBlocks(img, 4, 1);
    expect(f).toMatchObject({ cols: 4, rows: 1, pixelRows: 2 });
    expect(f.cells[0]?.map((c) => c.fg)).toEqual([0x112233, 0x112233, 0x445566, 0x445566]);
    expect(f.cells[0]?.map((c) => c.bg)).toEqual([0x112233, 0x112233, 0x445566, 0x445566]);
  });

  it('keeps the picture upright and unmirrored when shrinking', () => {
    // 320x240 with a red top-left quadrant into 40 x 15 cells (40 x 30 pixels).
    const img = image(320, 240, (x, y) => (x < 160 && y < 120 ? 0xff0000 : 0x000000));
    const f = toHalfBlocks(img, 40, 20);
    expect(f).toMatchObject({ cols: 40, rows: 15, pixelRows: 30 });
    expect(f.cells[0]?.[0]).toEqual({ fg: 0xff0000, bg: 0xff0000 });
    expect(f.cells[0]?.[39]).toEqual({ fg: 0, bg: 0 });
    expect(f.cells[14]?.[0]).toEqual({ fg: 0, bg: 0 });
    expect(f.cells[6]?.[19]).toEqual({ fg: 0xff0000, bg: 0xff0000 });
    expect(f.cells[7]?.[20]).toEqual({ fg: 0, bg: 0 });
  });

  it('gives every row the same number of cells, within the box', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 20 }),
        (w, h, cols, rows) => {
          const f = toHalfBlocks(
            image(w, h, () => 0x123456),
            cols,
            rows,
          );
          expect(f.cells).toHaveLength(f.rows);
          expect(f.rows).toBe(Math.ceil(f.pixelRows / 2));
          expect(f.rows).toBeLessThanOrEqual(rows);
          for (const row of f.cells) {
            expect(row).toHaveLength(f.cols);
            for (const c of row) expect(c.fg).toBe(0x123456);
          }
        },
      ),
    );
  });

  it('returns no cells for an empty box', () => {
    expect(
      toHalfBlocks(
        image(8, 8, () => 0),
        0,
        5,
      ),
    ).toEqual({ cols: 0, rows: 0, pixelRows: 0, cells: [] });
  });

  it('rejects a pixel buffer shorter than the size says', () => {
    expect(() => toHalfBlocks({ width: 4, height: 4, data: new Uint8Array(63) }, 4, 4)).toThrow(HalfBlockError);
    expect(() => toHalfBlocks({ width: 1.5, height: 4, data: new Uint8Array(64) }, 4, 4)).toThrow(HalfBlockError);
  });
});
