/**
 * `onode record --bootstrapper ADDR --out DIR [--duration S]`: keeps what the dashboard shows for a
 * report. Reads the bootstrapper's GET /overlay once a second (every viewer's statistics, the event
 * timeline, the trees) and, at the end or on Ctrl-C, writes events.json/.csv, viewers.json/.csv and
 * the plots: fps.svg and bitrate.svg (per viewer, failure events marked), startup.svg, tree.svg.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import * as v from 'valibot';
import { STATUS_PORT } from '../../common/net/ports.ts';
import { type DashboardEvent, type DashboardState, DashboardStateSchema } from '../../common/wire/dashboard-api.ts';
import { Recording, type RecordedEvent, treeSvg } from '../core/recording.ts';
import { UsageError } from './node-commands.ts';
import { hostPort, intIn } from './options.ts';

interface RecordFlags {
  bootstrapper: { host: string; port: number };
  out: string;
  duration?: number;
  interval: number;
}

export function addRecordCommand(program: Command): void {
  program
    .command('record')
    .description("record a run from the bootstrapper's dashboard feed: viewers' statistics, events, plots")
    .requiredOption(
      '--bootstrapper <addr>',
      `the bootstrapper's ADDRESS[:PORT] (its status port, default ${STATUS_PORT})`,
      hostPort(STATUS_PORT),
    )
    .requiredOption('--out <dir>', 'where the JSON, CSV and SVG files go')
    .option('--duration <s>', 'stop after this long (default: on Ctrl-C)', intIn(1, 7 * 86_400, 'seconds'))
    .option('--interval <ms>', 'how often to read the state', intIn(200, 60_000, 'milliseconds'), 1000)
    .action(async (flags: RecordFlags) => {
      const out = resolve(flags.out);
      try {
        mkdirSync(out, { recursive: true });
      } catch (err) {
        throw new UsageError(`cannot create --out ${out}: ${(err as Error).message}`);
      }
      const url = `http://${flags.bootstrapper.host}:${flags.bootstrapper.port}/overlay`;
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const until = flags.duration === undefined ? Number.POSITIVE_INFINITY : Date.now() + flags.duration * 1000;
      const recording = new Recording(Date.now());
      let last: DashboardState | null = null;
      let failures = 0;
      process.stderr.write(
        `recording ${url} into ${out}${flags.duration ? ` for ${flags.duration} s` : ''}; Ctrl-C ends it\n`,
      );
      try {
        while (!stop.signal.aborted && Date.now() < until) {
          const state = await readState(url);
          if (state === null) {
            if (++failures === 1 || failures % 10 === 0)
              process.stderr.write(`cannot read ${url} (${failures} tries so far); is the bootstrapper up?\n`);
          } else {
            failures = 0;
            last = state;
            recording.addViewers(Date.now(), state.viewers);
            recording.addEvents(state.events.map(recordedEvent));
          }
          await sleep(Math.min(flags.interval, Math.max(0, until - Date.now())), undefined, {
            signal: stop.signal,
          }).catch(() => {});
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (last === null) throw new UsageError(`never got a state from ${url}: nothing recorded`);
      const files = writeRecording(out, recording, last);
      process.stdout.write(
        `recorded ${recording.viewerIds().length} viewers (${recording.samples.length} samples), ` +
          `${recording.events.length} events: ${files.join(', ')} in ${out}\n`,
      );
    });
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

/** Writes every file; returns their names. */
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
