/**
 * A topology run as real onode processes on loopback (the compiled CLI under onode/net/emulator.ts),
 * on the benchmark's own ports, with GET /status per node. stop() ends every process.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { join } from 'node:path';
import { loadTopologyFile, loopbackTopology, type Topology } from '../onode/config/topology.ts';
import { Emulator } from '../onode/net/emulator.ts';
import { opsToken } from '../common/security/overlay-keys.ts';
import { fetchStatus } from '../common/net/status-client.ts';
import type { StatusReport } from '../common/wire/status-api.ts';

export interface BenchPorts {
  readonly bootstrap: number;
  readonly overlay: number;
  readonly status: number;
  readonly rtsp: number;
}

export class EmulatedRun {
  readonly topology: Topology;
  readonly emulator: Emulator;
  /** The last lines the nodes printed, for error messages. */
  readonly lines: string[] = [];
  private readonly clients = new Set<ChildProcess>();

  constructor(
    readonly file: string,
    readonly dist: string,
    readonly ports: BenchPorts,
    moviesDir: string | undefined,
    extraArgs: readonly string[] = [],
  ) {
    this.topology = loopbackTopology(loadTopologyFile(file));
    this.emulator = new Emulator({
      file,
      topology: this.topology,
      cli: join(dist, 'onode/cli/main.js'),
      bootstrapPort: ports.bootstrap,
      ...(moviesDir === undefined ? {} : { moviesDir }),
      childArgs: [
        '--bootstrap-port',
        String(ports.bootstrap),
        '--overlay-port',
        String(ports.overlay),
        '--status-port',
        String(ports.status),
        '--rtsp-port',
        String(ports.rtsp),
        '--log-level',
        'warn',
        ...extraArgs,
      ],
      onLine: (node, line) => {
        this.lines.push(`[${node}] ${line}`);
        if (this.lines.length > 50) this.lines.shift();
      },
    });
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

  /** GET /status of a node, or null while it is not answering. */
  async status(node: string): Promise<StatusReport | null> {
    return fetchStatus({ host: this.address(node), port: this.ports.status }).catch(() => null);
  }

  /** True when every POP has a route to every server. */
  async converged(): Promise<boolean> {
    const servers = this.names('server').length;
    const ok = await Promise.all(
      this.names('pop').map(async (p) => {
        const routes = (await this.status(p))?.routes ?? [];
        return routes.length >= servers;
      }),
    );
    return ok.every(Boolean);
  }

  async waitConverged(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.converged())) {
      if (Date.now() > deadline)
        throw new Error(`${this.file}: not converged after ${timeoutMs} ms\n${this.lines.slice(-10).join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Starts a headless oclient; resolves with its exit code when it ends. */
  client(args: readonly string[]): {
    child: ChildProcess;
    done: Promise<{ code: number; stdout: string; stderr: string }>;
  } {
    let child: ChildProcess | undefined;
    const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      child = execFile(
        process.execPath,
        [
          join(this.dist, 'oclient/cli/main.js'),
          '--bootstrapper',
          `${this.address(this.topology.bootstrapper)}:${this.ports.bootstrap}`,
          '--rtsp-port',
          String(this.ports.rtsp),
          '--overlay-port',
          String(this.ports.overlay),
          ...args,
        ],
        { timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    if (child === undefined) throw new Error('execFile did not start the client');
    const c = child;
    this.clients.add(c);
    c.once('exit', () => this.clients.delete(c));
    return { child: c, done };
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.kill('SIGKILL');
    this.clients.clear();
    await this.emulator.stop();
  }
}
