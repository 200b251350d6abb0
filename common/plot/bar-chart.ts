/** A bar chart as SVG (a value per viewer, e.g. its startup time), labelled, with round ticks. */
import { colour, esc, label, svgDocument, yGrid } from './svg.ts';

export interface Bar {
  readonly name: string;
  /** null: no value (the viewer never started); drawn as a gap with "-". */
  readonly value: number | null;
}

export interface BarChart {
  readonly title: string;
  readonly yLabel: string;
  readonly bars: readonly Bar[];
  readonly width?: number;
  readonly height?: number;
}

const MARGIN = { left: 60, right: 20, top: 36, bottom: 60 };

export function barChartSvg(chart: BarChart): string {
  const width = chart.width ?? Math.max(360, MARGIN.left + MARGIN.right + chart.bars.length * 48);
  const height = chart.height ?? 320;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const top = Math.max(1, ...chart.bars.map((b) => b.value ?? 0)) * 1.1;
  const sy = (y: number): number => MARGIN.top + plotH - (y / top) * plotH;
  const slot = plotW / Math.max(1, chart.bars.length);
  const body: string[] = [
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(chart.title)}</text>`,
  ];
  body.push(...yGrid(top, MARGIN.left, plotW, sy));
  chart.bars.forEach((b, i) => {
    const x = MARGIN.left + i * slot + slot * 0.15;
    const w = slot * 0.7;
    const cx = x + w / 2;
    if (b.value !== null) {
      body.push(
        `<rect x="${x.toFixed(1)}" y="${sy(b.value).toFixed(1)}" width="${w.toFixed(1)}" ` +
          `height="${(MARGIN.top + plotH - sy(b.value)).toFixed(1)}" fill="${colour(0)}"/>`,
        `<text x="${cx}" y="${sy(b.value) - 4}" text-anchor="middle" font-size="10">${label(b.value)}</text>`,
      );
    } else {
      body.push(`<text x="${cx}" y="${MARGIN.top + plotH - 4}" text-anchor="middle">-</text>`);
    }
    body.push(
      `<text transform="translate(${cx} ${MARGIN.top + plotH + 14}) rotate(30)" font-size="11">${esc(b.name)}</text>`,
    );
  });
  body.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">` +
      `${esc(chart.yLabel)}</text>`,
  );
  return svgDocument(width, height, body);
}
