/**
 * Deterministic synthetic frames for the sample movies. Each frame carries its number drawn large
 * in the top-left corner, so whoever watches a stream can tell which frame is on screen (and spot
 * drops, repeats and reordering at a glance).
 */
import type { RgbaImage } from './jpeg-encoder.ts';

export type PatternKind = 'bars' | 'gradient' | 'bounce';

export const PATTERN_KINDS: readonly PatternKind[] = ['bars', 'gradient', 'bounce'];

/** 5x7 digit glyphs, one 5-bit row per entry, most significant bit leftmost. */
const DIGITS: readonly (readonly number[])[] = [
  [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
  [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
  [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
  [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
  [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
  [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
  [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
  [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
  [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
  [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
];
const GLYPH_W = 5;
const GLYPH_H = 7;

/** 75% colour bars in the usual order: white, yellow, cyan, green, magenta, red, blue. */
const BARS: readonly (readonly [number, number, number])[] = [
  [191, 191, 191],
  [191, 191, 0],
  [0, 191, 191],
  [0, 191, 0],
  [191, 0, 191],
  [191, 0, 0],
  [0, 0, 191],
];

/**
 * Renders frame `frameNumber` of a pattern; the same arguments always give the same pixels.
 * `frameNumber` both drives the motion and is the number drawn on the frame.
 */
export function renderPattern(kind: PatternKind, frameNumber: number, width: number, height: number): RgbaImage {
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new RangeError(`pattern size must be positive integers, got ${width}x${height}`);
  }
  if (!Number.isInteger(frameNumber) || frameNumber < 0) {
    throw new RangeError(`frame number must be a non-negative integer, got ${frameNumber}`);
  }
  const image: RgbaImage = { width, height, data: new Uint8Array(width * height * 4) };
  switch (kind) {
    case 'bars':
      drawBars(image, frameNumber);
      break;
    case 'gradient':
      drawGradient(image, frameNumber);
      break;
    case 'bounce':
      drawBounce(image, frameNumber);
      break;
    default:
      throw new RangeError(`unknown pattern ${String(kind)}`);
  }
  drawNumber(image, frameNumber);
  return image;
}

/** Colour bars over a grey ramp, with a black-and-white bar sweeping left to right. */
function drawBars(image: RgbaImage, frame: number): void {
  const { width, height, data } = image;
  const barsBottom = Math.max(1, Math.floor((height * 3) / 4));
  const sweepW = Math.max(2, Math.floor(width / 32));
  const sweepX = ((frame * Math.max(1, Math.floor(width / 80))) % (width + sweepW)) - sweepW;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (x >= sweepX && x < sweepX + sweepW) {
        const v = x - sweepX < sweepW / 2 ? 255 : 16;
        data[i] = data[i + 1] = data[i + 2] = v;
      } else if (y < barsBottom) {
        const bar = BARS[Math.min(BARS.length - 1, Math.floor((x * BARS.length) / width))] ?? [0, 0, 0];
        data[i] = bar[0];
        data[i + 1] = bar[1];
        data[i + 2] = bar[2];
      } else {
        data[i] = data[i + 1] = data[i + 2] = Math.floor((x * 255) / Math.max(1, width - 1));
      }
      data[i + 3] = 255;
    }
  }
}

/** Three sine waves (red across, green down, blue diagonally) drifting at different speeds. */
function drawGradient(image: RgbaImage, frame: number): void {
  const { width, height, data } = image;
  const wave = (phase: number): number => Math.round(128 + 110 * Math.sin(2 * Math.PI * phase));
  const red = Uint8Array.from({ length: width }, (_, x) => wave(x / width + frame / 100));
  const green = Uint8Array.from({ length: height }, (_, y) => wave(y / height + frame / 150));
  const blue = Uint8Array.from({ length: width + height }, (_, d) => wave(d / (width + height) - frame / 120));
  for (let y = 0; y < height; y++) {
    const g = green[y] ?? 0;
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = red[x] ?? 0;
      data[i + 1] = g;
      data[i + 2] = blue[x + y] ?? 0;
      data[i + 3] = 255;
    }
  }
}

/** A square bouncing off the edges over a dark background with a faint grid. */
function drawBounce(image: RgbaImage, frame: number): void {
  const { width, height, data } = image;
  const grid = Math.max(4, Math.floor(Math.min(width, height) / 8));
  for (let y = 0; y < height; y++) {
    const shade = 24 + Math.floor((y * 40) / height);
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const line = x % grid === 0 || y % grid === 0;
      data[i] = line ? shade + 30 : shade;
      data[i + 1] = line ? shade + 30 : shade;
      data[i + 2] = line ? shade + 60 : shade + 30;
      data[i + 3] = 255;
    }
  }
  const size = Math.max(2, Math.floor(Math.min(width, height) / 5));
  const speed = Math.max(1, Math.floor(Math.min(width, height) / 60));
  // Starts mid-frame rather than under the frame number in the corner.
  const left = triangle(frame * speed * 5 + Math.floor((width - size) / 2), width - size);
  const top = triangle(frame * speed * 3 + Math.floor((height - size) / 3), height - size);
  // The colour cycles so consecutive frames differ even where the square barely moves.
  const hue = (frame * 7) % 360;
  const [r, g, b] = hueToRgb(hue);
  fillRect(image, left, top, size, size, r, g, b);
}

/** Position bouncing between 0 and `range` after travelling `distance`. */
function triangle(distance: number, range: number): number {
  if (range <= 0) return 0;
  const m = distance % (2 * range);
  return m <= range ? m : 2 * range - m;
}

function hueToRgb(hue: number): readonly [number, number, number] {
  const sector = Math.floor(hue / 60);
  const f = (hue % 60) / 60;
  const up = Math.round(230 * f) + 25;
  const down = Math.round(230 * (1 - f)) + 25;
  switch (sector) {
    case 0:
      return [255, up, 25];
    case 1:
      return [down, 255, 25];
    case 2:
      return [25, 255, up];
    case 3:
      return [25, down, 255];
    case 4:
      return [up, 25, 255];
    default:
      return [255, 25, down];
  }
}

/** Fills a rectangle, clipped to the image. */
function fillRect(
  image: RgbaImage,
  x0: number,
  y0: number,
  w: number,
  h: number,
  r: number,
  g: number,
  b: number,
): void {
  const { width, height, data } = image;
  const xStart = Math.max(0, x0);
  const yStart = Math.max(0, y0);
  const xEnd = Math.min(width, x0 + w);
  const yEnd = Math.min(height, y0 + h);
  for (let y = yStart; y < yEnd; y++) {
    for (let x = xStart; x < xEnd; x++) {
      const i = (y * width + x) * 4;
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
      data[i + 3] = 255;
    }
  }
}

/** Draws `n` in white on a black box in the top-left corner, scaled with the frame. */
function drawNumber(image: RgbaImage, n: number): void {
  const scale = Math.max(1, Math.floor(Math.min(image.width, image.height) / 40));
  const text = String(n);
  const advance = (GLYPH_W + 1) * scale;
  const margin = scale * 2;
  fillRect(image, margin - scale, margin - scale, text.length * advance + scale, (GLYPH_H + 2) * scale, 0, 0, 0);
  for (let c = 0; c < text.length; c++) {
    const glyph = DIGITS[text.charCodeAt(c) - 48] ?? [];
    const gx = margin + c * advance;
    for (let row = 0; row < GLYPH_H; row++) {
      const bits = glyph[row] ?? 0;
      for (let col = 0; col < GLYPH_W; col++) {
        if (bits & (1 << (GLYPH_W - 1 - col))) {
          fillRect(image, gx + col * scale, margin + row * scale, scale, scale, 255, 255, 255);
        }
      }
    }
  }
}
