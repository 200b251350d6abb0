/**
 * 24-bit colour → the nearest xterm 256-colour palette index (16-231: the 6x6x6 cube, 232-255:
 * the grey ramp). blessed keeps one 8-bit colour per cell, and its own matcher caches every
 * colour it has seen, which for video grows without bound; this is arithmetic, no cache.
 */

/** The cube's six levels per channel. */
const CUBE = [0, 95, 135, 175, 215, 255] as const;

function cubeIndex(v: number): number {
  if (v < 48) return 0;
  if (v < 115) return 1;
  return Math.min(5, Math.floor((v - 35) / 40));
}

/** rgb is 0xRRGGBB; returns 16..255. */
export function rgbToXterm256(rgb: number): number {
  const r = (rgb >> 16) & 0xff;
  const g = (rgb >> 8) & 0xff;
  const b = rgb & 0xff;
  const ri = cubeIndex(r);
  const gi = cubeIndex(g);
  const bi = cubeIndex(b);
  const cube = 16 + 36 * ri + 6 * gi + bi;
  const cubeDist = dist(r, g, b, CUBE[ri] ?? 0, CUBE[gi] ?? 0, CUBE[bi] ?? 0);
  // The grey ramp is 8, 18, ..., 238.
  const mean = (r + g + b) / 3;
  const gi2 = Math.max(0, Math.min(23, Math.round((mean - 8) / 10)));
  const grey = 8 + 10 * gi2;
  return dist(r, g, b, grey, grey, grey) < cubeDist ? 232 + gi2 : cube;
}

function dist(r1: number, g1: number, b1: number, r2: number, g2: number, b2: number): number {
  return (r1 - r2) ** 2 + (g1 - g2) ** 2 + (b1 - b2) ** 2;
}
