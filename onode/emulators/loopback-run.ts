/**
 * A topology run as real onode processes on loopback (the compiled CLI under onode/net/emulator.ts)
 * on ports of its own, with GET /status and POST /faults per node and headless oclients beside it.
 * The end-to-end tests and the benchmarks both drive their runs through this; stop() ends every
 * process it started and removes its scratch directory.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FaultsOutcome, postFaults } from '../../common/net/ops-client.ts';
import { fetchStatus } from '../../common/net/status-client.ts';
import { opsToken } from '../../common/security/overlay-keys.ts';
import type { FaultsRequest } from '../../common/wire/ops-api.ts';
import type { StatusReport } from '../../common/wire/status-api.ts';
import { loadTopologyFile, loopbackTopology, type Topology } from '../config/topology.ts';
import { Emulator } from '../net/emulator.ts';

export interface RunPorts {
  readonly bootstrap: number;
  readonly overlay: number;
  readonly status: number;
  readonly rtsp: number;
}

export interface LoopbackRunOptions {
  /** The compiled tree whose dist/onode and dist/oclient CLIs run. */
  readonly dist: string;
  /** Movies for the servers; default none (the CLI's own default). */
  readonly moviesDir?: string;
  /** Flags for every node after the port flags (intervals, log level); default none. */
  readonly nodeArgs?: readonly string[];
}

export interface ClientResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Lines of node output kept for assertions and error messages; older ones are dropped. */
export const MAX_RUN_LINES = 20_000;
/** Lines of node output an error message quotes. */
const QUOTED_LINES = 30;
/** A GET /status that has not answered by then counts as not answering. */
const STATUS_TIMEOUT_MS = 2000;
/** A headless client still running after this is killed (it should have ended with its --duration). */
const CLIENT_TIMEOUT_MS = 60_000;
const POLL_MS = 200;

export class LoopbackRun {
  private scratch: string | null = null;
  readonly topology: Topology;
  readonly emulator: Emulator;
  /** What the nodes printed, each line prefixed with its node's name, oldest first. */
  readonly lines: string[] = [];
  readonly moviesDir: string | undefined;
  private readonly dist: string;
  private readonly clients = new Set<ChildProcess>();

  constructor(
    readonly file: string,
    readonly ports: RunPorts,
    opts: LoopbackRunOptions,
  ) {
    this.dist = opts.dist;
    this.moviesDir = opts.moviesDir;
    this.topology = loopbackTopology(loadTopologyFile(file));
    this.emulator = new Emulator({
      file,
      topology: this.topology,
      cli: join(opts.dist, 'onode/cli/main.js'),
      bootstrapPort: ports.bootstrap,
      ...(opts.moviesDir === undefined ? {} : { moviesDir: opts.moviesDir }),
      childArgs: [
        '--bootstrap-port',
        String(ports.bootstrap),
        '--overlay-port',
        String(ports.overlay),
        '--status-port',
        String(ports.status),
        '--rtsp-port',
        String(ports.rtsp),
        ...(opts.nodeArgs ?? []),
      ],
      onLine: (node, line) => {
        this.lines.push(`[${node}] ${line}`);
        if (this.lines.length > MAX_RUN_LINES) this.lines.shift();
      },
    });
  }

  /** Scratch space for this run's outputs (recorded movies, fake players): made on first use, removed by stop(). */
  get dir(): string {
    this.scratch ??= mkdtempSync(join(tmpdir(), 'onode-run-'));
    return this.scratch;
  }

  /** Starts every node of the topology (stop() ends them). */
  start(): void {
    this.emulator.start();
  }

  /** The operations token of this run's nodes (POST /faults). */
  get opsToken(): string {
    return opsToken(Buffer.from(this.emulator.secret));
  }

  names(role: 'server' | 'node' | 'pop'): string[] {
    return [...this.topology.nodes.values()].filter((n) => n.role === role).map((n) => n.name);
  }

  address(node: string): string {
    return this.topology.nodes.get(node)?.addresses[0] ?? '';
  }

  /** GET /status of a node, checked against the status schema; rejects while the node is not answering. */
  status(node: string): Promise<StatusReport> {
    return fetchStatus({ host: this.address(node), port: this.ports.status }, STATUS_TIMEOUT_MS);
  }

  /** GET /status of a node, or null while it is not answering. */
  statusOrNull(node: string): Promise<StatusReport | null> {
    return this.status(node).catch(() => null);
  }

  /** GET /status as sent, unparsed: for checks of what a node must never publish. */
  async statusText(node: string): Promise<string> {
    const res = await fetch(`http://${this.address(node)}:${this.ports.status}/status`, {
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
    return res.text();
  }

  /** POST /faults at a node with this run's operations token. */
  faults(node: string, body: FaultsRequest): Promise<FaultsOutcome> {
    return postFaults({ host: this.address(node), port: this.ports.status }, this.opsToken, body);
  }

  /**
   * True when every POP has a route to every server and, with `catalogue` (default), knows at
   * least one movie: a run without movies converges on routes alone.
   */
  async isConverged(opts: { catalogue?: boolean } = {}): Promise<boolean> {
    const servers = this.names('server').length;
    const ok = await Promise.all(
      this.names('pop').map(async (p) => {
        const st = await this.statusOrNull(p);
        if (st === null || (st.routes ?? []).length < servers) return false;
        return opts.catalogue === false || (st.catalogue ?? []).length > 0;
      }),
    );
    return ok.every(Boolean);
  }

  /** Waits until isConverged(opts); rejects with the nodes' last lines after `timeoutMs`. */
  async converged(timeoutMs = 20_000, opts: { catalogue?: boolean } = {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.isConverged(opts))) {
      if (Date.now() > deadline) {
        const last = this.lines.slice(-QUOTED_LINES).join('\n');
        throw new Error(`${this.file}: not converged after ${timeoutMs} ms:\n${last}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Starts a headless oclient against this run; `done` resolves with its exit code and output. */
  startClient(args: readonly string[]): { child: ChildProcess; done: Promise<ClientResult> } {
    let child: ChildProcess | undefined;
    const done = new Promise<ClientResult>((resolve) => {
      child = execFile(
        process.execPath,
        [
          join(this.dist, 'oclient/cli/main.js'),
          '--bootstrapper',
          this.emulator.bootstrapAddresses,
          '--rtsp-port',
          String(this.ports.rtsp),
          '--overlay-port',
          String(this.ports.overlay),
          ...args,
        ],
        { timeout: CLIENT_TIMEOUT_MS },
        (err, stdout, stderr) => {
          const code = (err as { code?: unknown } | null)?.code;
          resolve({ code: err === null ? 0 : typeof code === 'number' ? code : 1, stdout, stderr });
        },
      );
    });
    if (child === undefined) throw new Error('execFile did not start the client');
    const c = child;
    this.clients.add(c);
    c.once('exit', () => this.clients.delete(c));
    return { child: c, done };
  }

  /** Runs a headless oclient to its end. */
  client(args: readonly string[]): Promise<ClientResult> {
    return this.startClient(args).done;
  }

  /** Ends every client and node of this run and removes its scratch directory; safe to call twice. */
  async stop(): Promise<void> {
    for (const c of this.clients) c.kill('SIGKILL');
    this.clients.clear();
    await this.emulator.stop();
    if (this.scratch !== null) rmSync(this.scratch, { recursive: true, force: true });
    this.scratch = null;
  }
}
