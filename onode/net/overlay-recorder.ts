/**
 * Records a run from the bootstrapper's GET /overlay (the dashboard's state): every viewer's
 * statistics and the event timeline into a Recording, and the last state for the tree plot.
 * Used by `onode record` and the demo; writes the files a report includes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as v from 'valibot';
import { type DashboardEvent, type DashboardState, DashboardStateSchema } from '../../common/wire/dashboard-api.ts';
import { type RecordedEvent, Recording, treeSvg } from '../core/recording.ts';

export interface RecordOptions {
  /** ms since the epoch to stop at (Infinity: until the signal). */
  readonly until: number;
  readonly intervalMs: number;
  readonly signal: AbortSignal;
  /** Told of each failure to read the state (the count so far). */
  readonly onMiss?: (failures: number) => void;
}

export interface Recorded {
  readonly recording: Recording;
  /** The last state read; null if none was. */
  readonly last: DashboardState | null;
}

export async function recordOverlay(url: string, opts: RecordOptions): Promise<Recorded> {
  const recording = new Recording(Date.now());
  let last: DashboardState | null = null;
  let failures = 0;
  while (!opts.signal.aborted && Date.now() < opts.until) {
    const state = await readState(url);
    if (state === null) opts.onMiss?.(++failures);
    else {
      failures = 0;
      last = state;
      recording.addViewers(Date.now(), state.viewers);
      recording.addEvents(state.events.map(recordedEvent));
    }
    const wait = Math.min(opts.intervalMs, Math.max(0, opts.until - Date.now()));
    await sleep(wait, undefined, { signal: opts.signal }).catch(() => {});
  }
  return { recording, last };
}

async function readState(url: string): Promise<DashboardState | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return null;
    const parsed = v.safeParse(DashboardStateSchema, await res.json());
    return parsed.success ? parsed.output : null;
  } catch {
    return null;
  }
}

function recordedEvent(e: DashboardEvent): RecordedEvent {
  const parts = [
    e.movie,
    e.peer,
    e.from !== undefined || e.to !== undefined ? `${e.from ?? '-'}→${e.to ?? '-'}` : undefined,
    e.count === undefined ? undefined : `×${e.count}`,
  ];
  return { at: e.at, node: e.node, kind: e.kind, detail: parts.filter((p) => p !== undefined).join(' ') };
}

/** Writes every file of a recording into `out`; returns their names. */
export function writeRecording(out: string, r: Recording, last: DashboardState): string[] {
  const files: Record<string, string> = {
    'events.json': `${JSON.stringify(r.events, null, 2)}\n`,
    'events.csv': r.eventsCsv(),
    'viewers.json': `${JSON.stringify(r.samples, null, 2)}\n`,
    'viewers.csv': r.viewersCsv(),
    'fps.svg': r.seriesSvg('fps', 'Frames per second per viewer', 'fps'),
    'bitrate.svg': r.seriesSvg('bitrateKbps', 'Bitrate per viewer', 'kbit/s'),
    'startup.svg': r.startupSvg(),
    'tree.svg': treeSvg({
      title: 'Distribution trees at the end of the recording',
      nodes: last.nodes,
      links: last.links.map((l) => ({ a: l.a, b: l.b, alive: l.alive && !l.cut })),
      trees: last.movies.map((m) => ({ movie: m.movie, server: m.server, edges: m.edges.map((e) => [e.from, e.to]) })),
    }),
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(out, name), text);
  return Object.keys(files);
}
