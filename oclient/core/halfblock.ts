/**
 * Turns an RGBA image into terminal cells: each cell is the upper half block '▀' whose
 * foreground is the upper pixel and whose background is the lower pixel, so a cell shows two
 * vertically stacked pixels. A terminal cell is about twice as tall as it is wide, which makes
 * these half-cell pixels roughly square: fitting the image into cols x (2 * rows) pixels keeps
 * its aspect ratio.
 *
 * Downscaling averages every source pixel that falls in an output pixel (a box filter), so thin
 * lines and text do not flicker in and out as nearest-neighbour sampling would make them.
 */
import type { RgbaImage } from '../../common/media/rgba-image.ts';

export const HALF_BLOCK = '▀';

export interface HalfBlockCell {
  /** Upper pixel, 0xRRGGBB. */
  readonly fg: number;
  /** Lower pixel, 0xRRGGBB; null in the last row of an image with an odd number of pixel rows. */
  readonly bg: number | null;
}

export interface HalfBlockFrame {
  /** Size in cells: at most the box asked for. One column is one pixel wide. */
  readonly cols: number;
  readonly rows: number;
  /** Pixel rows of the scaled image: 2 * rows, or one less when the last row has no lower pixel. */
  readonly pixelRows: number;
  readonly cells: readonly (readonly HalfBlockCell[])[];
}

/** Thrown for an image whose pixel buffer is shorter than its size says. */
export class HalfBlockError extends Error {
  override readonly name = 'HalfBlockError';
}

/**
 * The largest size with the image's aspect ratio that fits in cols x (2 * rows) pixels (at least
 * 1 x 1 when both the image and the box are non-empty; 0 x 0 otherwise).
 */
export function fitPixels(
  width: number,
  height: number,
  cols: number,
  rows: number,
): { width: number; height: number } {
  const boxW = Math.max(0, Math.floor(cols));
  const boxH = Math.max(0, Math.floor(rows)) * 2;
  if (width <= 0 || height <= 0 || boxW === 0 || boxH === 0) return { width: 0, height: 0 };
  const scale = Math.min(boxW / width, boxH / height);
  return {
    width: Math.min(boxW, Math.max(1, Math.round(width * scale))),
    height: Math.min(boxH, Math.max(1, Math.round(height * scale))),
  };
}

/** Scales img to fit a box of cols x rows cells, keeping its aspect ratio, and pairs pixel rows into cells. */
export function toHalfBlocks(img: RgbaImage, cols: number, rows: number): HalfBlockFrame {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 0 || img.height < 0) {
    throw new HalfBlockError(`image size ${img.width}x${img.height} is not a pair of non-negative integers`);
  }
  if (img.data.length < img.width * img.height * 4) {
    throw new HalfBlockError(
      `a ${img.width}x${img.height} RGBA image needs ${img.width * img.height * 4} bytes, got ${img.data.length}`,
    );
  }
  const size = fitPixels(img.width, img.height, cols, rows);
  const xs = spans(img.width, size.width);
  const ys = spans(img.height, size.height);
  const pixel = (x: number, y: number): number => average(img, xs[x] as Span, ys[y] as Span);
  const cells: HalfBlockCell[][] = [];
  for (let y = 0; y < size.height; y += 2) {
    const row: HalfBlockCell[] = [];
    for (let x = 0; x < size.width; x++)
      row.push({ fg: pixel(x, y), bg: y + 1 < size.height ? pixel(x, y + 1) : null });
    cells.push(row);
  }
  return { cols: size.width, rows: cells.length, pixelRows: size.height, cells };
}

/** Source pixels [from, to) that make up one output pixel along one axis. */
interface Span {
  readonly from: number;
  readonly to: number;
}

function spans(source: number, target: number): Span[] {
  const out: Span[] = [];
  for (let i = 0; i < target; i++) {
    const from = Math.floor((i * source) / target);
    out.push({ from, to: Math.max(from + 1, Math.floor(((i + 1) * source) / target)) });
  }
  return out;
}

function average(img: RgbaImage, xs: Span, ys: Span): number {
  let r = 0;
  let g = 0;
  let b = 0;
  const d = img.data;
  for (let y = ys.from; y < ys.to; y++) {
    let i = (y * img.width + xs.from) * 4;
    for (let x = xs.from; x < xs.to; x++, i += 4) {
      r += d[i] ?? 0;
      g += d[i + 1] ?? 0;
      b += d[i + 2] ?? 0;
    }
  }
  const n = (xs.to - xs.from) * (ys.to - ys.from);
  return (Math.round(r / n) << 16) | (Math.round(g / n) << 8) | Math.round(b / n);
}
