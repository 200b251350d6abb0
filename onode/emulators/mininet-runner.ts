/**
 * Runs a topology in Mininet: checks the machine can (root, the mininet package), writes the
 * plan and copies the driver (mininet-driver.py, a real Python file so that pyflakes checks it)
 * into the output directory, runs the driver with the system python3 and
 * reads back what happened. The driver owns the network and cleans it up however it ends; this
 * side forwards SIGTERM to it and, on Ctrl-C (which the driver receives too), just waits.
 */
import { runSecretText, SECRET_ENV } from '../config/overlay-secret.ts';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Topology } from '../config/topology.ts';
import { mininetPlan, type MininetPlan, type PlanOptions } from './mininet-plan.ts';
import { summarizeRun, type ClientStats, type DriverResult, type RunSummary } from './run-summary.ts';

/** Debian's mininet package installs its Python API for the system interpreter, not for pyenv's. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
/** The driver, from the repository root: the source tree is there whether onode runs from dist/ or not. */
export const MININET_DRIVER = join('onode', 'emulators', 'mininet-driver.py');

export class MininetUnavailable extends Error {
  override readonly name = 'MininetUnavailable';
}

export interface MininetRunOptions extends Omit<PlanOptions, 'movies' | 'out' | 'file' | 'moviesDir' | 'runScript'> {
  readonly file: string;
  readonly moviesDir: string;
  readonly out: string;
  /** The repository root (holds scripts/run.sh, the driver and dist/). */
  readonly root: string;
  readonly python?: string;
  /** Where the driver's own lines go (default: stdout). */
  readonly onLine?: (line: string) => void;
  /** The overlay secret of the run; default ONODE_SECRET, else a new one. */
  readonly secret?: string;
}

export interface MininetRunResult {
  readonly plan: MininetPlan;
  readonly result: DriverResult;
  readonly summary: RunSummary;
  readonly stats: ReadonlyMap<string, ClientStats | null>;
}

/** Why this machine cannot run Mininet, or null if it can. */
export function mininetProblem(python = SYSTEM_PYTHON): string | null {
  if (process.platform !== 'linux') return 'Mininet runs on Linux only';
  if (process.getuid?.() !== 0) return 'Mininet needs root: run it with sudo (e.g. sudo npx onode mininet ...)';
  if (!existsSync(python)) return `no ${python}: install the Debian package (apt-get install mininet)`;
  const probe = spawnSync(python, ['-c', 'import mininet.net'], { encoding: 'utf8' });
  if (probe.status !== 0)
    return `${python} cannot import mininet: install the Debian package (apt-get install mininet)`;
  const netns = spawnSync('ip', ['netns', 'add', `onode-probe-${process.pid}`], { encoding: 'utf8' });
  if (netns.status !== 0)
    return `this machine cannot create network namespaces (${(netns.stderr || netns.error?.message || '').trim()})`;
  spawnSync('ip', ['netns', 'del', `onode-probe-${process.pid}`]);
  return null;
}

/** The movies a directory offers, sorted (what servers serve, by file name). */
export function listMovies(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.mjpe?g$/i.test(f))
    .sort();
}

export async function runInMininet(topo: Topology, opts: MininetRunOptions): Promise<MininetRunResult> {
  const python = opts.python ?? SYSTEM_PYTHON;
  const problem = mininetProblem(python);
  if (problem !== null) throw new MininetUnavailable(problem);
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const plan = mininetPlan(topo, {
    ...opts,
    file: resolve(opts.file),
    moviesDir: resolve(opts.moviesDir),
    movies: listMovies(opts.moviesDir),
    runScript: join(resolve(opts.root), 'scripts', 'run.sh'),
    out,
  });
  const planFile = join(out, 'plan.json');
  const driverFile = join(out, 'mininet-driver.py');
  const resultFile = join(out, 'result.json');
  writeFileSync(planFile, `${JSON.stringify(plan, null, 2)}\n`);
  // A copy beside the plan: the run's directory shows what ran, and the file cannot change under it.
  copyFileSync(join(resolve(opts.root), MININET_DRIVER), driverFile);
  writeFileSync(resultFile, '');
  // A previous run's stats must not pass for this one's.
  for (const c of topo.clients.keys()) rmSync(join(out, `${c}.stats.json`), { force: true });

  const interactive = plan.duration === null;
  const child = spawn(python, [driverFile, planFile, resultFile], {
    stdio: interactive ? 'inherit' : ['pipe', 'pipe', 'pipe'],
    // Mininet hosts inherit the driver's environment: every node gets this run's overlay secret.
    env: {
      ...process.env,
      ONODE_NODE: process.execPath,
      [SECRET_ENV]: opts.secret ?? runSecretText(),
    },
  });
  const print = opts.onLine ?? ((line: string) => process.stdout.write(`${line}\n`));
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) print(line);
    });
  }
  // Ctrl-C reaches the driver as well (same process group): wait for its clean-up.
  const onInt = (): void => print('stopping: the network is being removed');
  const onTerm = (): void => {
    child.kill('SIGTERM');
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    await new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }

  const result = readResult(resultFile);
  const clients = [...topo.clients.keys()];
  const stats = new Map(clients.map((c) => [c, readStats(join(out, `${c}.stats.json`))]));
  return { plan, result, summary: summarizeRun(result, clients, stats), stats };
}

function readResult(path: string): DriverResult {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DriverResult;
  } catch {
    return {
      ready: false,
      netem: null,
      clients: {},
      error: 'the Mininet driver ended without a result (see its output above)',
    };
  }
}

function readStats(path: string): ClientStats | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ClientStats;
  } catch {
    return null;
  }
}
