/**
 * Emulator start-up benchmark: for the report topology, the time from the command to every POP
 * routed, and to each client's first frame, for `onode core --run` (stock CORE 9.2) next to
 * `onode mininet --duration`, trials alternating so that both see the same machine. Times are
 * wall clock from the spawn of the command: the runners record when the overlay was ready
 * (result.json: readyAt) and each client its first frame (stats: firstFrameAt).
 *
 *   npm run bench:emulators [-- --trials 2] [--only core|mininet]   (root, with CORE and Mininet)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { textTable } from '../../common/core/text-table.ts';
import type { ClientStats, DriverResult } from '../../onode/emulators/run-summary.ts';
import { DIST, ROOT } from '../../scripts/repository-root.ts';
import { say } from '../common/report.ts';

type Emulator = 'core' | 'mininet';

interface Trial {
  readonly emulator: Emulator;
  readonly routedS: number | null;
  /** Seconds from the command to each client's first frame. */
  readonly firstFrameS: readonly number[];
  readonly failed: string | null;
}

const CLIENTS = ['c1', 'c2', 'c3', 'c4', 'c5'];
const DURATION_S = 30;

function runOnce(emulator: Emulator, movies: string): Promise<Trial> {
  const out = mkdtempSync(join(tmpdir(), `bench-${emulator}-`));
  const args = [
    join(DIST, 'onode', 'cli', 'main.js'),
    emulator,
    join(ROOT, 'topologies', 'report.json5'),
    ...(emulator === 'core' ? ['--run'] : []),
    '--duration',
    String(DURATION_S),
    '--out',
    out,
    '--movies',
    movies,
  ];
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 240_000, maxBuffer: 16 << 20 }, (err, stdout) => {
      try {
        const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as DriverResult;
        const firstFrameS = CLIENTS.flatMap((c) => {
          try {
            const s = JSON.parse(readFileSync(join(out, `${c}.stats.json`), 'utf8')) as ClientStats;
            return typeof s.firstFrameAt === 'number' ? [(s.firstFrameAt - t0) / 1000] : [];
          } catch {
            return [];
          }
        });
        resolve({
          emulator,
          routedS: result.ready && result.readyAt !== undefined ? (result.readyAt - t0) / 1000 : null,
          firstFrameS,
          failed: err ? `exit ${(err as { code?: number }).code}: ${stdout.split('\n').slice(-4).join(' ')}` : null,
        });
      } catch (e) {
        resolve({ emulator, routedS: null, firstFrameS: [], failed: (e as Error).message });
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  });
}

const s = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${x.toFixed(1)} s`);
const median = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? null;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { trials: { type: 'string', default: '2' }, only: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    say('usage: npm run bench:emulators [-- --trials N] [--only core|mininet]   (as root)');
    return;
  }
  const trials = Number(values.trials);
  if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials ${values.trials}: give a whole number ≥ 1`);
  if (values.only !== undefined && values.only !== 'core' && values.only !== 'mininet')
    throw new Error(`--only ${values.only}: give core or mininet`);
  const emulators: Emulator[] = values.only ? [values.only as Emulator] : ['core', 'mininet'];
  const movies = mkdtempSync(join(tmpdir(), 'bench-emulator-movies-'));
  makeSampleMovies(movies, { frames: 40 });
  say(`report topology, ${DURATION_S} s runs, ${trials} trial(s) each, alternating; times from the command`);
  const rows: string[][] = [['emulator', 'trial', 'every POP routed', 'first frame: first', 'median', 'last', 'note']];
  const all: Trial[] = [];
  try {
    for (let t = 1; t <= trials; t++) {
      for (const e of emulators) {
        const trial = await runOnce(e, movies);
        all.push(trial);
        const ff = trial.firstFrameS;
        rows.push([
          e,
          String(t),
          s(trial.routedS),
          s(ff.length ? Math.min(...ff) : null),
          s(median(ff)),
          s(ff.length ? Math.max(...ff) : null),
          trial.failed ?? (ff.length < CLIENTS.length ? `${ff.length}/${CLIENTS.length} clients had frames` : ''),
        ]);
      }
    }
  } finally {
    rmSync(movies, { recursive: true, force: true });
  }
  say(textTable(rows));
  for (const e of emulators) {
    const mine = all.filter((x) => x.emulator === e);
    const routed = median(mine.flatMap((x) => (x.routedS === null ? [] : [x.routedS])));
    const last = median(mine.flatMap((x) => (x.firstFrameS.length ? [Math.max(...x.firstFrameS)] : [])));
    say(`${e.padEnd(8)} median: every POP routed ${s(routed)}, every client's first frame ${s(last)}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:emulators: ${(err as Error).message}\n`);
  process.exit(1);
});
