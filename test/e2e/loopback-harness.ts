/**
 * Runs a topology on loopback with real processes (the compiled CLI in dist/, which `npm test`
 * builds first) on ports of its own, so a demo running on the same machine does not collide.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll } from 'vitest';
import { makeSampleMovies } from '../../scripts/make-movies.ts';
import { loadTopologyFile, loopbackTopology, type Topology } from '../../onode/config/topology.ts';
import { Emulator } from '../../onode/net/emulator.ts';
import { splitMovie } from '../../common/media/movie-file.ts';
import { type FaultsOutcome, postFaults } from '../../common/net/ops-client.ts';
import { fetchStatus } from '../../common/net/status-client.ts';
import { opsToken } from '../../common/security/overlay-keys.ts';
import type { FaultsRequest } from '../../common/wire/ops-api.ts';
import type { StatusReport } from '../../common/wire/status-api.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ONODE = join(ROOT, 'dist/onode/cli/main.js');
export const OCLIENT = join(ROOT, 'dist/oclient/cli/main.js');

export interface TestPorts {
  bootstrap: number;
  overlay: number;
  status: number;
  rtsp: number;
}

/**
 * One overlay for a whole test file: sample movies (`frames` each) in a temporary directory, the
 * topology started and converged before the first test, everything stopped and removed after the
 * last. Call it at the top of a file or describe; the run it returns is ready inside the tests.
 */
export function suiteRun(
  file: string,
  ports: TestPorts,
  opts: { frames?: number; extraArgs?: string[] } = {},
): LoopbackRun {
  const movies = mkdtempSync(join(tmpdir(), 'onode-movies-'));
  const run = new LoopbackRun(file, movies, ports, opts.extraArgs);
  beforeAll(async () => {
    makeSampleMovies(movies, { frames: opts.frames ?? 40 });
    run.emulator.start();
    await run.converged();
  }, 60_000);
  afterAll(async () => {
    await run.stop();
    rmSync(movies, { recursive: true, force: true });
  });
  return run;
}

export class LoopbackRun {
  readonly dir = mkdtempSync(join(tmpdir(), 'onode-e2e-'));
  readonly topology: Topology;
  readonly emulator: Emulator;
  readonly lines: string[] = [];

  constructor(
    readonly file: string,
    readonly moviesDir: string,
    readonly ports: TestPorts,
    extraArgs: string[] = [],
  ) {
    this.topology = loopbackTopology(loadTopologyFile(file));
    this.emulator = new Emulator({
      file,
      topology: this.topology,
      cli: ONODE,
      moviesDir,
      bootstrapPort: ports.bootstrap,
      childArgs: [
        '--bootstrap-port',
        String(ports.bootstrap),
        '--overlay-port',
        String(ports.overlay),
        '--status-port',
        String(ports.status),
        '--rtsp-port',
        String(ports.rtsp),
        '--probe-interval',
        '300',
        ...extraArgs,
      ],
      onLine: (node, line) => this.lines.push(`[${node}] ${line}`),
    });
  }

  address(node: string): string {
    return this.topology.nodes.get(node)?.addresses[0] ?? '';
  }

  /** POST /faults at a node with this run's operations token. */
  faults(node: string, body: FaultsRequest): Promise<FaultsOutcome> {
    return postFaults(
      { host: this.address(node), port: this.ports.status },
      opsToken(Buffer.from(this.emulator.secret)),
      body,
    );
  }

  status(node: string): Promise<StatusReport> {
    return fetchStatus({ host: this.address(node), port: this.ports.status });
  }

  /** GET /status as sent, unparsed: for checks of what a node must never publish. */
  async statusText(node: string): Promise<string> {
    const res = await fetch(`http://${this.address(node)}:${this.ports.status}/status`, {
      signal: AbortSignal.timeout(2000),
    });
    return res.text();
  }

  /** Waits until every POP has a route to every server and knows the catalogue. */
  async converged(timeoutMs = 20_000): Promise<void> {
    const servers = [...this.topology.nodes.values()].filter((n) => n.role === 'server').length;
    const pops = [...this.topology.nodes.values()].filter((n) => n.role === 'pop').map((n) => n.name);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await Promise.all(
        pops.map(async (p) => {
          try {
            const st = await this.status(p);
            return (st.routes ?? []).length >= servers && (st.catalogue ?? []).length > 0;
          } catch {
            return false;
          }
        }),
      );
      if (ok.every(Boolean)) return;
      if (Date.now() > deadline)
        throw new Error(`not converged after ${timeoutMs} ms:\n${this.lines.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  client(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolvePromise) => {
      execFile(
        process.execPath,
        [
          OCLIENT,
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
          resolvePromise({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  async stop(): Promise<void> {
    await this.emulator.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Decoded RGBA pixels of every frame in a movie file (either format). */
export function decodedFrames(path: string): Buffer[] {
  const split = splitMovie(readFileSync(path), path);
  if (!split.ok) throw new Error(`${path}: ${split.detail}`);
  return split.value.frames.map((f) => Buffer.from(jpeg.decode(f.jpeg, { useTArray: true, formatAsRGBA: true }).data));
}

/**
 * Asserts the received frames are consecutive frames of the source, pixel for pixel (the live
 * channel loops, so the first one may be any frame). Returns the number compared.
 */
export function matchConsecutive(received: Buffer[], source: Buffer[]): number {
  if (received.length === 0) throw new Error('no frames received');
  const start = source.findIndex((f) => f.equals(received[0] as Buffer));
  if (start < 0) throw new Error('the first received frame matches no source frame');
  received.forEach((f, i) => {
    const want = source[(start + i) % source.length] as Buffer;
    if (!f.equals(want))
      throw new Error(`received frame ${i} differs from source frame ${(start + i) % source.length}`);
  });
  return received.length;
}
