/**
 * A real Prometheus (Debian package prometheus) for the tests: started on 127.0.0.1 on a free
 * port with a given config and a scratch TSDB, asked through its HTTP API, stopped with
 * everything it wrote removed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireCommands } from '../capabilities.ts';

/** What an instant query answers: each series' labels and value. */
export interface PromSeries {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/** Log lines kept for failure messages. */
const MAX_LOG_LINES = 200;

/** A port free on 127.0.0.1 right now (let go at once, so another process could take it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export class PrometheusProcess {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'onode-prometheus-'));
  readonly log: string[] = [];
  port = 0;

  /** Starts Prometheus with `config` (YAML text) and waits until it says it is ready. */
  async start(config: string, timeoutMs = 20_000): Promise<void> {
    requireCommands('prometheus');
    const file = join(this.dir, 'prometheus.yml');
    writeFileSync(file, config);
    this.port = await freePort();
    const child = spawn(
      'prometheus',
      [
        `--config.file=${file}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (chunk: Buffer): void => {
      this.log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      this.log.splice(0, Math.max(0, this.log.length - MAX_LOG_LINES));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await this.until(async () => (await this.get('/-/ready')).ok, timeoutMs, 'ready');
  }

  /** An instant query's result vector. */
  async query(expr: string): Promise<PromSeries[]> {
    const res = await this.get(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as {
      status: string;
      data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Polls `check` until it is true; rejects with Prometheus's last lines after timeoutMs. */
  async until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`prometheus: not ${what} after ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  tail(): string {
    return this.log.slice(-20).join('\n');
  }

  /** Ends Prometheus and removes its config and data; safe to call twice. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private get(path: string): Promise<Response> {
    return fetch(`http://127.0.0.1:${this.port}${path}`, { signal: AbortSignal.timeout(2000) });
  }
}
