/**
 * `onode core FILE --run`: the scenario in a real CORE session, end to end. Writes the scenario
 * (clients left to this runner), starts a core-daemon when none answers, loads and starts the
 * session with core-cli, waits until every node registered and every POP has a route to every
 * server (asking them with `onode status` inside their nodes), runs the clients inside theirs,
 * then deletes the session and stops only the daemon it started, however the run ends.
 * CORE nodes share this machine's file system: logs, stats and frames land in the output folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseStatusReport } from '../../common/wire/status-api.ts';
import { emulatedHosts, type Topology } from '../config/topology.ts';
import { bootstrapperAddress, clientCommand, type CoreOptions } from './core-startup.ts';
import { coreScenarioXml } from './core-xml.ts';
import {
  capture,
  CoreUnavailable,
  coreProblem,
  deleteSession,
  ensureDaemon,
  inNode,
  startSession,
} from './core-daemon.ts';
import { summarizeRun, type ClientStats, type DriverResult, type RunSummary } from './run-summary.ts';

export interface CoreRunOptions extends Omit<CoreOptions, 'logDir' | 'startClients' | 'clientDuration'> {
  /** Where the scenario, every node's log and each client's stats and frames go. */
  readonly out: string;
  /** Seconds the whole run lasts; null: until the clients end. */
  readonly duration: number | null;
  /** Seconds each client plays; null: what is left of duration, else 60. */
  readonly clientSeconds: number | null;
  readonly readySeconds: number;
  readonly onLine: (line: string) => void;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** What a CORE run records in OUT/result.json: the Mininet driver's fields, plus CORE's session. */
export interface CoreResult extends Writable<Omit<DriverResult, 'clients'>> {
  clients: Record<string, number | null>;
  session?: number;
  /** When the run began (ms since the epoch). */
  startedAt?: number;
}

export interface CoreRunResult {
  readonly result: CoreResult;
  readonly summary: RunSummary;
  readonly stats: ReadonlyMap<string, ClientStats | null>;
}

class Stopped extends Error {}

export async function runInCore(topo: Topology, opts: CoreRunOptions): Promise<CoreRunResult> {
  const problem = coreProblem();
  if (problem !== null) throw new CoreUnavailable(problem);
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const clients = [...topo.clients.keys()];
  for (const c of clients) rmSync(join(out, `${c}.stats.json`), { force: true });
  const scenario = join(out, 'scenario.xml');
  writeFileSync(scenario, coreScenarioXml(topo, { ...opts, logDir: out, startClients: false }));

  const say = opts.onLine;
  const result: CoreResult = { ready: false, netem: !opts.emulateLinks, clients: {}, startedAt: Date.now() };
  const abort = new AbortController();
  const stop = (why: string) => () => {
    if (abort.signal.aborted) return;
    say(`stopping (${why}): deleting the CORE session`);
    abort.abort(new Stopped(why));
  };
  const onInt = stop('SIGINT');
  const onTerm = stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const players = new Map<string, ChildProcess>();
  let daemon: Awaited<ReturnType<typeof ensureDaemon>> | null = null;
  try {
    daemon = await ensureDaemon(join(out, 'core-daemon.log'));
    say(daemon.ours ? `started core-daemon (log ${join(out, 'core-daemon.log')})` : 'using the running core-daemon');
    checkAborted(abort.signal);
    const session = await startSession(scenario);
    result.session = session;
    say(`CORE session ${session} started from ${scenario}`);
    checkAborted(abort.signal);
    result.ready = await waitReady(topo, session, opts, result, abort.signal);
    result.readySeconds = round1((Date.now() - (result.startedAt ?? 0)) / 1000);
    result.readyAt = Date.now();
    if (!result.ready) {
      say(
        `the overlay is not ready after ${opts.readySeconds} s: not registered ${list(result.missing)}, ` +
          `POPs without routes ${list(result.unrouted)}`,
      );
    } else {
      say(`all ${topo.nodes.size} nodes registered, every POP has routes, after ${result.readySeconds} s`);
      await play(topo, session, opts, result, players, abort.signal);
    }
  } catch (err) {
    if (err instanceof Stopped || abort.signal.aborted) result.stopped = String((abort.signal.reason as Error).message);
    else if (err instanceof CoreUnavailable) result.error = err.message;
    else throw err;
  } finally {
    // null: still playing when the run stopped.
    for (const name of players.keys()) if (!(name in result.clients)) result.clients[name] = null;
    if (result.session !== undefined) await stopPlayers(result.session, players);
    if (result.session !== undefined) {
      await deleteSession(result.session);
      say(`CORE session ${result.session} deleted`);
    }
    if (daemon?.ours) {
      await daemon.stop();
      say('core-daemon stopped');
    }
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    writeFileSync(join(out, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  }
  const stats = new Map(clients.map((c) => [c, readStats(join(out, `${c}.stats.json`))]));
  return { result, summary: summarizeRun(result, clients, stats), stats };
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Stopped(String((signal.reason as Error).message));
}

/** Polls the bootstrapper's registrations and each POP's routes, from inside their nodes. */
async function waitReady(
  topo: Topology,
  session: number,
  opts: CoreRunOptions,
  result: CoreResult,
  signal: AbortSignal,
): Promise<boolean> {
  const node = opts.nodeBinary ?? process.execPath;
  const main = join(opts.root, 'dist', 'onode', 'cli', 'main.js');
  const status = async (host: string, address: string) => {
    const r = await capture(
      inNode(session, host, [node, main, 'status', address, '--json', '--timeout', '2000']),
      10_000,
    );
    try {
      const report = parseStatusReport(JSON.parse(r.stdout));
      return report.ok ? report.value : null;
    } catch {
      return null;
    }
  };
  const servers = [...topo.nodes.values()].filter((n) => n.role === 'server').length;
  const pops = [...topo.nodes.values()].filter((n) => n.role === 'pop');
  const deadline = Date.now() + opts.readySeconds * 1000;
  while (Date.now() < deadline) {
    checkAborted(signal);
    // All at once: each probe starts a node process inside a CORE node, about half a second.
    const [boot, ...popReports] = await Promise.all([
      status(topo.bootstrapper, bootstrapperAddress(topo)),
      ...pops.map((p) => status(p.name, p.addresses[0] ?? '')),
    ]);
    const registered = boot?.registered ?? [];
    const missing = [...topo.nodes.keys()].filter((n) => !registered.includes(n));
    const unrouted = pops.filter((_, i) => (popReports[i]?.routes ?? []).length < servers).map((p) => p.name);
    Object.assign(result, { registered, missing, unrouted: missing.length === 0 ? unrouted : [] });
    if (missing.length === 0 && unrouted.length === 0) return true;
    await sleep(250);
  }
  return false;
}

/** Runs every client inside its node and waits for them (and for the rest of --duration). */
async function play(
  topo: Topology,
  session: number,
  opts: CoreRunOptions,
  result: CoreResult,
  players: Map<string, ChildProcess>,
  signal: AbortSignal,
): Promise<void> {
  const began = result.startedAt ?? Date.now();
  const elapsed = (Date.now() - began) / 1000;
  const seconds =
    opts.clientSeconds ?? (opts.duration === null ? 60 : Math.max(5, Math.floor(opts.duration - elapsed - 3)));
  result.clientSeconds = seconds;
  const hosts = opts.movies.length === 0 ? [] : emulatedHosts(topo).filter((h) => h.role === 'client');
  const exits = hosts.map((host, i) => {
    const argv = ['sh', ...clientCommand(topo, host, i, { ...opts, logDir: resolve(opts.out) }, seconds)];
    const [vcmd = 'vcmd', ...args] = inNode(session, host.name, argv);
    // A group of its own: Ctrl-C stops the run, which ends the clients with the session.
    const child = spawn(vcmd, args, { stdio: 'ignore', detached: true });
    players.set(host.name, child);
    return new Promise<void>((done) =>
      child.once('exit', (code) => {
        if (!signal.aborted) result.clients[host.name] = code;
        done();
      }),
    );
  });
  result.clientsStartedAt = Date.now();
  opts.onLine(`${hosts.length} clients playing for ${seconds} s`);
  // The timers end with the wait, so that nothing keeps the process alive once the run is over.
  const waiting = new AbortController();
  const both = AbortSignal.any([signal, waiting.signal]);
  const timer = (ms: number) => sleep(ms, undefined, { signal: both }).catch(() => {});
  try {
    await Promise.race([Promise.all(exits), timer((seconds + 45) * 1000)]);
    checkAborted(signal);
    const rest = opts.duration === null ? 0 : began + opts.duration * 1000 - Date.now();
    if (rest > 0) await timer(rest);
    checkAborted(signal);
  } finally {
    waiting.abort();
  }
}

/** Asks the clients still playing to stop (they write their stats as they go), for up to 3 s. */
async function stopPlayers(session: number, players: ReadonlyMap<string, ChildProcess>): Promise<void> {
  const playing = [...players].filter(([, p]) => p.exitCode === null && p.signalCode === null);
  if (playing.length === 0) return;
  const ended = playing.map(([, p]) => new Promise<void>((done) => p.once('exit', () => done())));
  await Promise.all(
    playing.map(([name]) => capture(inNode(session, name, ['pkill', '-TERM', '-f', 'oclient/cli/main.js']), 5000)),
  );
  const patience = new AbortController();
  await Promise.race([Promise.all(ended), sleep(3000, undefined, { signal: patience.signal }).catch(() => {})]);
  patience.abort();
}

function readStats(path: string): ClientStats | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ClientStats;
  } catch {
    return null;
  }
}

function list(names: readonly string[] | undefined): string {
  return names === undefined || names.length === 0 ? 'none' : names.join(', ');
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
