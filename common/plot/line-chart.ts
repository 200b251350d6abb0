/**
 * A time-series chart as SVG: one line per series (a viewer's fps or bitrate), vertical markers
 * for events (a link down, a failover) with their labels, axes with round ticks and a legend.
 * Pure: data in, text out.
 */
import { colour, esc, label, niceTicks, svgDocument, yGrid } from './svg.ts';

export interface Series {
  readonly name: string;
  /** [seconds, value], in time order. */
  readonly points: readonly (readonly [number, number])[];
}

export interface Marker {
  readonly at: number;
  readonly label: string;
}

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly markers?: readonly Marker[];
  readonly width?: number;
  readonly height?: number;
}

const MARGIN = { left: 60, right: 150, top: 36, bottom: 44 };
/** Marker labels beyond this many are left out (the lines stay): a chart must stay readable. */
export const MAX_MARKER_LABELS = 12;

/**
 * Markers closer than `gap` become one, labelled by the first with how many more: a failure sets
 * off several events at once (every neighbour sees the link go down), and their labels would overlap.
 */
export function clusterMarkers(markers: readonly Marker[], gap: number): Marker[] {
  const sorted = [...markers].sort((a, b) => a.at - b.at);
  const out: { at: number; labels: string[] }[] = [];
  for (const m of sorted) {
    const last = out.at(-1);
    if (last !== undefined && m.at - last.at <= gap) {
      if (!last.labels.includes(m.label)) last.labels.push(m.label);
    } else out.push({ at: m.at, labels: [m.label] });
  }
  return out.map((c) => ({
    at: c.at,
    label: c.labels.length > 1 ? `${c.labels[0]} (+${c.labels.length - 1})` : (c.labels[0] ?? ''),
  }));
}

export function lineChartSvg(chart: LineChart): string {
  const width = chart.width ?? 820;
  const height = chart.height ?? 320;
  const all = chart.series.flatMap((s) => s.points);
  const times = [...all.map((p) => p[0]), ...(chart.markers ?? []).map((m) => m.at)];
  const x0 = times.length ? Math.min(...times) : 0;
  const x1 = times.length ? Math.max(...times, x0 + 1) : 1;
  const y1 = Math.max(1, ...all.map((p) => p[1])) * 1.1;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const sx = (t: number): number => MARGIN.left + ((t - x0) / (x1 - x0)) * plotW;
  const sy = (y: number): number => MARGIN.top + plotH - (y / y1) * plotH;
  const body: string[] = [
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(chart.title)}</text>`,
  ];
  body.push(...yGrid(y1, MARGIN.left, plotW, sy));
  for (const t of niceTicks(x0, x1, 8)) {
    body.push(
      `<line x1="${sx(t)}" x2="${sx(t)}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="#333"/>`,
      `<text x="${sx(t)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${label(t)}</text>`,
    );
  }
  body.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 8}" text-anchor="middle">${esc(chart.xLabel)}</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">` +
      `${esc(chart.yLabel)}</text>`,
  );
  clusterMarkers(chart.markers ?? [], (x1 - x0) / 50).forEach((m, i) => {
    const x = sx(m.at);
    body.push(
      `<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#999" stroke-dasharray="4 3"/>`,
    );
    if (i < MAX_MARKER_LABELS)
      body.push(
        `<text transform="translate(${x + 3} ${MARGIN.top + 10 + (i % 4) * 12})" font-size="10" fill="#555">` +
          `${esc(m.label)}</text>`,
      );
  });
  chart.series.forEach((s, i) => {
    if (s.points.length > 0) {
      const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
      body.push(`<path d="${d}" fill="none" stroke="${colour(i)}" stroke-width="1.5"/>`);
    }
    const ly = MARGIN.top + 8 + i * 16;
    body.push(
      `<line x1="${width - MARGIN.right + 12}" x2="${width - MARGIN.right + 32}" y1="${ly}" y2="${ly}" ` +
        `stroke="${colour(i)}" stroke-width="3"/>`,
      `<text x="${width - MARGIN.right + 38}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  return svgDocument(width, height, body);
}
