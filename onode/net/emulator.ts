/**
 * Runs a whole topology on one machine: one child process per node, the bootstrapper first,
 * each on its own loopback addresses (A.B.C.D → 127.B.C.D). Children exit when their stdin
 * closes, so even a SIGKILLed emulator leaves no orphans; stop() asks politely, then kills.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { generateSecret } from '../../common/security/overlay-keys.ts';
import type { Topology } from '../config/topology.ts';
import { SECRET_ENV } from '../config/overlay-secret.ts';
import { DAEMON_NODE_FLAGS } from './daemon-flags.ts';

export interface EmulatorOptions {
  /** The topology file as given (the bootstrapper child loads it itself). */
  readonly file: string;
  /** The same topology, mapped to loopback. */
  readonly topology: Topology;
  /** The compiled onode CLI entry to run children with. */
  readonly cli: string;
  readonly moviesDir?: string;
  readonly bootstrapperName?: string;
  /** Extra flags for every child (ports, intervals, log level). */
  readonly childArgs?: readonly string[];
  readonly bootstrapPort: number;
  /** Receives each line a child prints, with the child's node name. */
  readonly onLine?: (node: string, line: string) => void;
  readonly onExit?: (node: string, code: number | null, signal: string | null) => void;
  /** The overlay secret the nodes share; default: a new one for this run (children get it in ONODE_SECRET). */
  readonly secret?: string;
}

export class Emulator {
  private readonly children = new Map<string, ChildProcess>();
  private readonly argsOf = new Map<string, string[]>();
  private stopping = false;
  private started = false;
  /** The one stop: stop() is final, and a second call waits for the first. */
  private stopped: Promise<void> | null = null;
  /** This run's overlay secret: what a test or tool needs to speak to the nodes (e.g. onode fault). */
  readonly secret: string;

  constructor(private readonly opts: EmulatorOptions) {
    this.secret = opts.secret ?? generateSecret();
  }

  /** The (first) bootstrapper's address:port. */
  get bootstrapAddress(): string {
    const b = this.opts.topology.nodes.get(this.opts.topology.bootstrapper);
    return `${b?.addresses[0] ?? '127.0.0.1'}:${this.opts.bootstrapPort}`;
  }

  /** Every bootstrapper's address:port, comma-separated, in order: what nodes and clients are given. */
  get bootstrapAddresses(): string {
    const topo = this.opts.topology;
    return topo.bootstrappers
      .map((name) => `${topo.nodes.get(name)?.addresses[0] ?? '127.0.0.1'}:${this.opts.bootstrapPort}`)
      .join(',');
  }

  pids(): Map<string, number> {
    return new Map(
      [...this.children].flatMap(([n, c]) => (c.pid === undefined ? [] : [[n, c.pid] as [string, number]])),
    );
  }

  /** Spawns every node, once: a second call (or one after stop()) does nothing. */
  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    const topo = this.opts.topology;
    const movies = this.opts.moviesDir !== undefined ? ['--movies', this.opts.moviesDir] : [];
    const extra = this.opts.childArgs ?? [];
    // Every bootstrapper reads the topology; with several, each is told which it is.
    const several = topo.bootstrappers.length > 1;
    for (const name of topo.bootstrappers) {
      this.spawnNode(name, [
        'server',
        '--topology',
        this.opts.file,
        '--loopback',
        ...(several ? ['--address', topo.nodes.get(name)?.addresses[0] ?? ''] : []),
        ...movies,
        ...(this.opts.bootstrapperName ? ['--bootstrapper', this.opts.bootstrapperName] : []),
        ...extra,
      ]);
    }
    for (const node of topo.nodes.values()) {
      if (topo.bootstrappers.includes(node.name)) continue;
      this.spawnNode(node.name, [
        node.role,
        '--bootstrapper',
        this.bootstrapAddresses,
        '--address',
        node.addresses[0] ?? '',
        ...(node.role === 'server' ? movies : []),
        ...extra,
      ]);
    }
  }

  /** Kills a node's process (if running) and starts it again with the same arguments: a restart. */
  async restart(name: string): Promise<void> {
    const args = this.argsOf.get(name);
    if (args === undefined) throw new Error(`no node ${name}`);
    const old = this.children.get(name);
    if (old !== undefined && old.exitCode === null && old.signalCode === null) {
      await new Promise<void>((resolve) => {
        old.once('exit', () => resolve());
        old.kill('SIGKILL');
      });
    }
    this.spawnNode(name, args);
  }

  /** Kills one node's process at once (failure tests and demos). */
  kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
    return this.children.get(name)?.kill(signal) ?? false;
  }

  /** Ends every node's process (SIGTERM, SIGKILL after 2.5 s). Idempotent: later calls share the first. */
  stop(): Promise<void> {
    this.stopped ??= this.stopAll();
    return this.stopped;
  }

  private async stopAll(): Promise<void> {
    this.stopping = true;
    const exits = [...this.children.values()].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 2500).unref();
        }),
    );
    await Promise.all(exits);
    this.children.clear();
  }

  private spawnNode(name: string, args: string[]): void {
    this.argsOf.set(name, args);
    const node = [...DAEMON_NODE_FLAGS, ...process.execArgv];
    const child = spawn(process.execPath, [...node, this.opts.cli, ...args, '--exit-with-stdin'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // In the environment, not argv: other users can read a process's arguments.
      env: { ...process.env, [SECRET_ENV]: this.secret },
    });
    this.children.set(name, child);
    child.stdin?.on('error', () => {});
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => this.opts.onLine?.(name, line));
    }
    child.on('exit', (code, signal) => {
      if (!this.stopping) this.opts.onExit?.(name, code, signal);
    });
  }
}
