/**
 * What `onode record` keeps of a run, sans-IO: every viewer's statistics sampled over time and
 * the overlay's event timeline, each bounded; and what it writes at the end, as JSON, CSV and the
 * SVG plots a report includes (fps and bitrate per viewer with failure events marked, startup
 * per viewer, the trees on the overlay).
 */
import { barChartSvg } from '../../common/plot/bar-chart.ts';
import { lineChartSvg, type Marker } from '../../common/plot/line-chart.ts';
import { type OverlayGraph, overlayGraphSvg } from '../../common/plot/overlay-graph.ts';
import type { ViewerStats } from '../../common/wire/status-api.ts';

/** One event of the timeline, as the bootstrapper's feed gives it. */
export interface RecordedEvent {
  /** ms since the epoch (the node's clock). */
  readonly at: number;
  readonly node: string;
  readonly kind: string;
  readonly detail: string;
}

/** A sample of one viewer, at the recorder's clock. */
export interface ViewerSample {
  readonly at: number;
  readonly viewer: ViewerStats;
}

/** Samples kept at most (a sample a second for 50 viewers is 3 hours); later ones are counted, not kept. */
export const MAX_SAMPLES = 500_000;
export const MAX_EVENTS = 100_000;

/** Event kinds marked on the time-series plots: what explains a dip. */
const MARKED = /down|cut|fail|kill|reroute|switch|lost|dead/i;

export class Recording {
  readonly samples: ViewerSample[] = [];
  readonly events: RecordedEvent[] = [];
  private readonly seen = new Set<string>();
  dropped = 0;

  constructor(readonly startedAt: number) {}

  addViewers(at: number, viewers: readonly ViewerStats[]): void {
    for (const viewer of viewers) this.push(this.samples, MAX_SAMPLES, { at, viewer });
  }

  /** Adds the events not seen before (the feed may repeat its recent timeline). */
  addEvents(events: readonly RecordedEvent[]): void {
    for (const e of events) {
      const key = `${e.at}|${e.node}|${e.kind}|${e.detail}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.push(this.events, MAX_EVENTS, e);
    }
  }

  private push<T>(list: T[], max: number, item: T): void {
    if (list.length >= max) this.dropped++;
    else list.push(item);
  }

  viewerIds(): string[] {
    return [...new Set(this.samples.map((s) => s.viewer.id))].sort();
  }

  eventsCsv(): string {
    const rows = [['seconds', 'at', 'node', 'kind', 'detail']];
    for (const e of this.events) rows.push([secs(e.at - this.startedAt), String(e.at), e.node, e.kind, e.detail]);
    return csv(rows);
  }

  viewersCsv(): string {
    const fields = [
      'state',
      'startupMs',
      'fps',
      'bitrateKbps',
      'framesReceived',
      'framesLost',
      'packetsLost',
      'fractionLost',
      'jitterMs',
      'longestStallMs',
      'failovers',
    ] as const;
    const rows = [['seconds', 'viewer', 'pop', 'movie', 'player', ...fields]];
    for (const { at, viewer: v } of this.samples) {
      rows.push([
        secs(at - this.startedAt),
        v.id,
        v.pop,
        v.movie,
        v.player,
        ...fields.map((f) => (v[f] === null ? '' : String(v[f]))),
      ]);
    }
    return csv(rows);
  }

  /** fps or bitrate of every viewer over time, with the failure events marked. */
  seriesSvg(field: 'fps' | 'bitrateKbps', title: string, yLabel: string): string {
    const series = this.viewerIds().map((id) => ({
      name: id,
      points: this.samples
        .filter((s) => s.viewer.id === id && s.viewer[field] !== null)
        .map((s) => [(s.at - this.startedAt) / 1000, s.viewer[field] ?? 0] as const),
    }));
    const markers: Marker[] = this.events
      .filter((e) => MARKED.test(e.kind))
      .map((e) => ({ at: (e.at - this.startedAt) / 1000, label: `${e.node}: ${e.kind}` }));
    return lineChartSvg({ title, xLabel: 'seconds since the recording began', yLabel, series, markers });
  }

  /** Each viewer's startup time (its last known value). */
  startupSvg(): string {
    const last = new Map<string, number | null>();
    for (const s of this.samples) last.set(s.viewer.id, s.viewer.startupMs ?? last.get(s.viewer.id) ?? null);
    const bars = [...last].sort().map(([name, value]) => ({ name, value }));
    return barChartSvg({ title: 'Startup time per viewer', yLabel: 'ms', bars });
  }
}

export function treeSvg(graph: OverlayGraph): string {
  return overlayGraphSvg(graph);
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
export function csv(rows: readonly (readonly string[])[]): string {
  const field = (f: string): string => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f);
  return `${rows.map((r) => r.map(field).join(',')).join('\r\n')}\r\n`;
}
