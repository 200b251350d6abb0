/**
 * Benchmark child processes: the orchestrator forks a script with an IPC channel and calls
 * named commands on it (request → one reply). A child exits when the channel closes, so even a
 * SIGKILLed orchestrator leaves no process behind; stopAllChildren() ends every live one.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { overlayMacKey, parseSecret } from '../../common/security/overlay-keys.ts';
import { runSecretText, SECRET_ENV } from '../../onode/config/overlay-secret.ts';

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly args: unknown;
}
type Reply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

const live = new Set<ChildProcess>();
/** The overlay secret every child of this run shares (in ONODE_SECRET, like emulated nodes). */
let runSecret: string | null = null;

/** A forked benchmark script, driven by request/reply over IPC. */
export class BenchChild {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(`${label}: ${m.error}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      live.delete(child);
      for (const p of this.pending.values()) p.reject(new Error(`${label} exited (${signal ?? `code ${code}`})`));
      this.pending.clear();
    });
  }

  /**
   * Forks `script` (its path under bench/ without extension, e.g. 'overlay/relay') with `config` as its only
   * argument; waits for its 'ready' reply.
   */
  static async start(label: string, script: string, config: unknown): Promise<BenchChild> {
    const here = dirname(fileURLToPath(import.meta.url));
    const ext = extname(fileURLToPath(import.meta.url));
    runSecret ??= runSecretText();
    const child = fork(join(here, '..', `${script}${ext}`), [JSON.stringify(config)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [SECRET_ENV]: runSecret },
    });
    live.add(child);
    const c = new BenchChild(label, child);
    await c.request('ready');
    return c;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /**
   * Pins every thread of the child to one CPU (taskset) and optionally lowers its priority, so
   * the process under test has a core of its own. Returns false where taskset is unavailable.
   */
  pin(cpu: number, nice = 0): boolean {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(this.pid)], { stdio: 'ignore' });
      if (nice !== 0) setPriority(this.pid, nice);
      return true;
    } catch {
      return false;
    }
  }

  request<T>(cmd: string, args: unknown = null): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.label} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (v) => resolve(v as T), reject });
      this.child.send({ id, cmd, args } satisfies Request);
    });
  }

  /** Asks the child to exit; kills it if it has not within a second. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 1000);
    await gone;
    clearTimeout(kill);
  }
}

/** Kills every benchmark child still running (Ctrl-C, errors). */
export function stopAllChildren(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

/**
 * The child side: answers requests with `handlers` (every child also answers 'ready' once its
 * setup promise resolves) and runs `cleanup` then exits when the orchestrator goes away.
 */
export function serveRequests(
  setup: Promise<unknown>,
  handlers: Record<string, (args: unknown) => unknown>,
  cleanup: () => Promise<void> | void,
): void {
  const reply = (r: Reply): void => {
    if (process.connected) process.send?.(r);
  };
  process.on('message', (m: Request) => {
    const run = async (): Promise<unknown> => {
      if (m.cmd === 'ready') return setup.then(() => true);
      const h = handlers[m.cmd];
      if (h === undefined) throw new Error(`unknown command ${m.cmd}`);
      return h(m.args);
    };
    run().then(
      (value) => reply({ id: m.id, ok: true, value }),
      (err: unknown) => reply({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  process.on('disconnect', () => {
    Promise.resolve()
      .then(cleanup)
      .finally(() => process.exit(0));
  });
  setup.catch((err: unknown) => {
    process.stderr.write(`bench child: ${err instanceof Error ? err.message : String(err)}\n`);
  });
}

/** The overlay MAC key of this run, in a child: relays and scripted peers authenticate with it. */
export function childMacKey(): Buffer {
  return overlayMacKey(parseSecret(process.env[SECRET_ENV] ?? '', SECRET_ENV));
}

/** The config a child was started with. */
export function childConfig<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('this script is started by a benchmark (bench/*/main.ts)');
  return JSON.parse(raw) as T;
}
