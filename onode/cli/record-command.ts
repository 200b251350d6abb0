/**
 * `onode record --bootstrapper ADDR --out DIR [--duration S]`: keeps what the dashboard shows for a
 * report. Reads the bootstrapper's GET /overlay once a second (every viewer's statistics, the event
 * timeline, the trees) and, at the end or on Ctrl-C, writes events.json/.csv, viewers.json/.csv and
 * the plots: fps.svg and bitrate.svg (per viewer, failure events marked), startup.svg, tree.svg.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { STATUS_PORT } from '../../common/net/ports.ts';
import { type Recorded, recordOverlay, writeRecording } from '../net/overlay-recorder.ts';
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
      process.stderr.write(
        `recording ${url} into ${out}${flags.duration ? ` for ${flags.duration} s` : ''}; Ctrl-C ends it\n`,
      );
      let done: Recorded;
      try {
        done = await recordOverlay(url, {
          until: flags.duration === undefined ? Number.POSITIVE_INFINITY : Date.now() + flags.duration * 1000,
          intervalMs: flags.interval,
          signal: stop.signal,
          onMiss: (n) => {
            if (n === 1 || n % 10 === 0)
              process.stderr.write(`cannot read ${url} (${n} tries so far); is the bootstrapper up?\n`);
          },
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      const { recording, last } = done;
      if (last === null) throw new UsageError(`never got a state from ${url}: nothing recorded`);
      const files = writeRecording(out, recording, last);
      process.stdout.write(
        `recorded ${recording.viewerIds().length} viewers (${recording.samples.length} samples), ` +
          `${recording.events.length} events: ${files.join(', ')} in ${out}\n`,
      );
    });
}
