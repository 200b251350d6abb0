import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rgbToXterm256 } from '../../../oclient/tui/xterm-colors.ts';

/** The xterm palette from 16 up, as 0xRRGGBB. */
const PALETTE: number[] = [];
const LEVELS = [0, 95, 135, 175, 215, 255];
for (const r of LEVELS) for (const g of LEVELS) for (const b of LEVELS) PALETTE.push((r << 16) | (g << 8) | b);
for (let i = 0; i < 24; i++) {
  const v = 8 + 10 * i;
  PALETTE.push((v << 16) | (v << 8) | v);
}

const dist = (a: number, b: number): number =>
  (((a >> 16) & 0xff) - ((b >> 16) & 0xff)) ** 2 +
  (((a >> 8) & 0xff) - ((b >> 8) & 0xff)) ** 2 +
  ((a & 0xff) - (b & 0xff)) ** 2;

describe('rgbToXterm256', () => {
  it('maps the cube corners and greys', () => {
    expect(rgbToXterm256(0x000000)).toBe(16);
    expect(rgbToXterm256(0xffffff)).toBe(231);
    expect(rgbToXterm256(0xff0000)).toBe(196);
    expect(rgbToXterm256(0x00ff00)).toBe(46);
    expect(rgbToXterm256(0x0000ff)).toBe(21);
    expect(rgbToXterm256(0x808080)).toBe(244);
    expect(rgbToXterm256(0x5f87af)).toBe(67);
  });

  it('picks the nearest colour of the palette', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffff }), (rgb) => {
        const i = rgbToXterm256(rgb);
        expect(i).toBeGreaterThanOrEqual(16);
        expect(i).toBeLessThanOrEqual(255);
        const best = Math.min(...PALETTE.map((p) => dist(rgb, p)));
        // The cube's distance separates by channel and the nearest grey is the one nearest the mean.
        expect(dist(rgb, PALETTE[i - 16] ?? 0)).toBe(best);
      }),
    );
  });
});
