/**
 * The thin side of `onode core --run`: CORE's own tools. The daemon (started when none answers,
 * in a process group of its own so that Ctrl-C reaches us first and the session is deleted before
 * it stops), `core-cli` to load, start and delete a session, and `vcmd` to run a command inside
 * a node (CORE nodes are namespaces reachable only through their control socket).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** core-cli always talks to this address (it has no option for another). */
export const CORE_GRPC_PORT = 50051;
export const CORE_TOOLS = ['core-daemon', 'core-cli', 'vcmd'] as const;

export class CoreUnavailable extends Error {
  override readonly name = 'CoreUnavailable';
}

/** Why this machine cannot run a CORE session, or null if it can. */
export function coreProblem(): string | null {
  if (process.platform !== 'linux') return 'CORE runs on Linux only';
  if (process.getuid?.() !== 0) return 'CORE needs root: run it with sudo (e.g. sudo npx onode core FILE --run)';
  const missing = CORE_TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length > 0)
    return (
      `no ${missing.join(', ')} on PATH: install CORE 9.2 (npm run setup builds it from ` +
      '../shared/vendor/core; or bash install-core.sh core-9.2.1.tar.gz)'
    );
  return null;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: 'localhost', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface CoreDaemon {
  /** True when this run started it (and so stops it). */
  readonly ours: boolean;
  stop(): Promise<void>;
}

/** The daemon on CORE_GRPC_PORT: the one running, or one started now with its log in `logFile`. */
export async function ensureDaemon(logFile: string, timeoutMs = 30_000): Promise<CoreDaemon> {
  if (await answers(CORE_GRPC_PORT)) return { ours: false, stop: async () => {} };
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('core-daemon', [], { stdio: ['ignore', log, log], detached: true });
  } finally {
    closeSync(log);
  }
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const stop = async (): Promise<void> => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const patience = new AbortController();
    const killed = await Promise.race([
      gone.then(() => true),
      sleep(15_000, false, { signal: patience.signal }).catch(() => true),
    ]);
    patience.abort();
    if (!killed) {
      child.kill('SIGKILL');
      await gone;
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(CORE_GRPC_PORT))) {
    if (exited) throw new CoreUnavailable(`core-daemon exited at start; see ${logFile}`);
    if (Date.now() > deadline) {
      await stop();
      throw new CoreUnavailable(`core-daemon did not listen on port ${CORE_GRPC_PORT} within ${timeoutMs / 1000} s`);
    }
    await sleep(200);
  }
  return { ours: true, stop };
}

export interface Captured {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end, capturing its output; null code: it timed out or was killed. */
export function capture(argv: readonly string[], timeoutMs: number): Promise<Captured> {
  return new Promise((resolve) => {
    const [command, ...args] = argv;
    const child = spawn(command ?? 'false', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.once('error', (err) => resolve({ code: null, stdout, stderr: `${stderr}${err.message}` }));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Loads a scenario XML and starts it; the new session's id. */
export async function startSession(xmlFile: string): Promise<number> {
  const r = await capture(['core-cli', '--json', 'xml', '--file', xmlFile, '--start'], 180_000);
  let id: unknown;
  try {
    const reply = JSON.parse(r.stdout) as { result?: boolean; session_id?: unknown };
    id = reply.result === true ? reply.session_id : undefined;
  } catch {
    id = undefined;
  }
  if (typeof id !== 'number')
    throw new CoreUnavailable(`core-cli could not load ${xmlFile}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  return id;
}

export async function deleteSession(id: number): Promise<void> {
  await capture(['core-cli', 'session', '--id', String(id), 'delete'], 60_000);
}

/** The control socket of a node of a session (CORE's session directory is /tmp/pycore.ID). */
export function nodeSocket(session: number, node: string): string {
  return join('/tmp', `pycore.${session}`, node);
}

/** The argv that runs a command inside a node. */
export function inNode(session: number, node: string, argv: readonly string[]): string[] {
  return ['vcmd', '-c', nodeSocket(session, node), '--', ...argv];
}
