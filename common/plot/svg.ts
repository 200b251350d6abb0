/**
 * The small pieces every plot shares: escaping, a colour palette that stays apart on paper, and
 * "nice" axis ticks (1, 2 or 5 times a power of ten), so that a report can include the SVG as is.
 */

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export function colour(i: number): string {
  return PALETTE[i % PALETTE.length] ?? '#000';
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Ticks covering [lo, hi] at a round step, about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const r = raw / power;
  const step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** A number for a tick label: no trailing zeros, at most 3 decimals. */
export function label(n: number): string {
  return String(Number(n.toFixed(3)));
}

/** An SVG document of the given size with a white background (viewers show transparency as black). */
export function svgDocument(width: number, height: number, body: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      'font-family="sans-serif" font-size="12">',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Horizontal grid lines with their value labels, from 0 to `top`, over a plot starting at `left`. */
export function yGrid(top: number, left: number, plotW: number, sy: (y: number) => number): string[] {
  return niceTicks(0, top).flatMap((t) => [
    `<line x1="${left}" x2="${left + plotW}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`,
    `<text x="${left - 6}" y="${sy(t) + 4}" text-anchor="end">${label(t)}</text>`,
  ]);
}
