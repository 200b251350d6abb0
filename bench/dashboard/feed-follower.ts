/**
 * Follows the bootstrapper's GET /feed in a worker thread of its own, so the lag it measures is the
 * dashboard's and not the time this benchmark's main thread spends on its 50 viewers' packets.
 * Asked `latest`, it answers with the newest state; asked `stop`, with the lag of every event that
 * arrived after the first state (ms from the node seeing it to the feed delivering it) and the
 * count of each kind.
 */
import { request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { DashboardState } from '../../common/wire/dashboard-api.ts';

export interface FeedResult {
  readonly lags: number[];
  readonly kinds: [string, number][];
}

type Reply = { type: 'latest'; state: DashboardState | null } | ({ type: 'stopped' } & FeedResult);

/** The main thread's handle on a follower worker. */
export class FeedFollower {
  private readonly worker: Worker;
  private waiting: ((r: Reply) => void)[] = [];

  constructor(url: string) {
    this.worker = new Worker(new URL(import.meta.url), { workerData: url });
    this.worker.on('message', (r: Reply) => this.waiting.shift()?.(r));
  }

  latest(): Promise<DashboardState | null> {
    return this.ask('latest').then((r) => (r.type === 'latest' ? r.state : null));
  }

  async stop(): Promise<FeedResult> {
    const r = await this.ask('stop');
    await this.worker.terminate();
    return r.type === 'stopped' ? r : { lags: [], kinds: [] };
  }

  /** Ends the worker without waiting for its results (errors, Ctrl-C). */
  kill(): void {
    void this.worker.terminate();
  }

  private ask(what: 'latest' | 'stop'): Promise<Reply> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.worker.postMessage(what);
    });
  }
}

function follow(url: string): void {
  let latest: DashboardState | null = null;
  let seen = -1;
  const lags: number[] = [];
  const kinds = new Map<string, number>();
  const req = request(url, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const now = Date.now();
      buf += chunk;
      for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
        const data = /^data: (.*)$/m.exec(buf.slice(0, end))?.[1];
        buf = buf.slice(end + 2);
        if (data === undefined) continue;
        const state = JSON.parse(data) as DashboardState;
        for (const e of state.events) {
          if (seen < 0 || e.id <= seen) continue;
          lags.push(now - e.at);
          kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
        }
        seen = Math.max(seen, ...state.events.map((e) => e.id), 0);
        latest = state;
      }
    });
    res.on('error', () => {});
  });
  req.on('error', () => {});
  req.end();
  parentPort?.on('message', (what: string) => {
    if (what === 'latest') parentPort?.postMessage({ type: 'latest', state: latest } satisfies Reply);
    else {
      req.destroy();
      parentPort?.postMessage({ type: 'stopped', lags, kinds: [...kinds] } satisfies Reply);
    }
  });
}

if (!isMainThread) follow(workerData as string);
