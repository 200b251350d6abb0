/**
 * The bootstrapper's dashboard on its status HTTP server (StatusHttp.addRoute): GET / (the page),
 * GET /assets/... (its script and style, and cytoscape from node_modules: no CDN, works offline),
 * GET /feed (Server-Sent Events: the whole state on connect, then again whenever it changes, at most
 * every FEED_MIN_GAP_MS, and a heartbeat well inside the server's 5 s socket timeout), GET /overlay
 * (the same state as JSON) and GET /viewers (every POP's viewers).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { decrementCount, incrementCount } from '../../common/core/counts.ts';
import type { TelemetryStore } from '../core/telemetry-store.ts';
import type { StatusHttp } from './status-http.ts';

/** How often the feed looks for a change to send, and the shortest gap between two updates. */
export const FEED_MIN_GAP_MS = 250;
/** A comment line on an idle feed: the status server closes a socket silent for 5 s. */
export const FEED_HEARTBEAT_MS = 2000;
/** Feed clients at once (each holds one of the status server's connections). */
export const MAX_FEED_CLIENTS = 16;
export const MAX_FEED_CLIENTS_PER_ADDRESS = 4;
/** A client this far behind (bytes queued) is closed rather than buffered for. */
export const MAX_FEED_BACKLOG_BYTES = 4 * 1024 * 1024;

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** Where the page's files are: beside this module in the source tree, or in the repository from dist/. */
function pageDir(): string {
  const here = import.meta.dirname;
  for (const dir of [join(here, '../dashboard'), join(here, '../../../onode/dashboard')]) {
    try {
      readFileSync(join(dir, 'index.html'));
      return dir;
    } catch {}
  }
  throw new Error('the dashboard page (onode/dashboard/index.html) is missing from this installation');
}

function loadAssets(): Map<string, Asset> {
  const dir = pageDir();
  const cytoscape = createRequire(import.meta.url).resolve('cytoscape/dist/cytoscape.min.js');
  const html = 'text/html; charset=utf-8';
  const js = 'text/javascript; charset=utf-8';
  return new Map<string, Asset>([
    ['/', { type: html, body: readFileSync(join(dir, 'index.html')) }],
    ['/assets/dashboard.js', { type: js, body: readFileSync(join(dir, 'dashboard.js')) }],
    ['/assets/dashboard.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(dir, 'dashboard.css')) }],
    ['/assets/cytoscape.min.js', { type: js, body: readFileSync(cytoscape) }],
  ]);
}

export interface DashboardCounters {
  feedClients: number;
  feedRefused: number;
  feedUpdates: number;
  slowClients: number;
}

export class DashboardHttp {
  readonly counters: DashboardCounters = { feedClients: 0, feedRefused: 0, feedUpdates: 0, slowClients: 0 };
  /** Each feed client and the store version it was last sent. */
  private readonly clients = new Map<ServerResponse, number>();
  /** Feed clients per source address: two addresses must not take every slot. */
  private readonly perAddress = new Map<string, number>();
  private built: { version: number; state: string; viewers: string } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastWrite = 0;

  constructor(
    private readonly store: TelemetryStore,
    /** Counters shown beside the store's (the desk's reports and refusals). */
    private readonly extraCounters: () => Record<string, number> = () => ({}),
  ) {}

  /** Registers the routes (before http.start()) and starts the feed's timer; stop() ends both. */
  attach(http: StatusHttp): void {
    const assets = loadAssets();
    for (const [path, asset] of assets) http.addRoute(path, (_req, res) => this.asset(res, asset));
    http.addRoute('/index.html', (_req, res) => this.asset(res, assets.get('/') as Asset));
    http.addRoute('/overlay', (_req, res) => json(res, this.stateJson()));
    http.addRoute('/viewers', (_req, res) => json(res, this.viewersJson()));
    http.addRoute('/feed', (req, res) => this.feed(req, res));
    this.timer ??= setInterval(() => this.tick(), FEED_MIN_GAP_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const c of this.clients.keys()) c.end();
    this.clients.clear();
    this.counters.feedClients = 0;
  }

  /**
   * The state as JSON, built once per store version whoever asks (/overlay, a new feed client, a
   * tick): a stranger polling /overlay or reconnecting to /feed costs a copy, never a rebuild.
   */
  private stateJson(): string {
    const version = this.store.version;
    if (this.built?.version !== version) {
      const st = this.store.state();
      const state = { ...st, counters: { ...st.counters, ...this.extraCounters(), ...this.counters } };
      this.built = { version, state: JSON.stringify(state), viewers: JSON.stringify(this.store.viewers()) };
    }
    return this.built.state;
  }

  private viewersJson(): string {
    this.stateJson();
    return this.built?.viewers ?? '';
  }

  private asset(res: ServerResponse, a: Asset): void {
    res.writeHead(200, { 'content-type': a.type, 'cache-control': 'no-cache' }).end(a.body);
  }

  private feed(req: IncomingMessage, res: ServerResponse): void {
    const address = req.socket.remoteAddress ?? '';
    if (this.clients.size >= MAX_FEED_CLIENTS || (this.perAddress.get(address) ?? 0) >= MAX_FEED_CLIENTS_PER_ADDRESS) {
      this.counters.feedRefused++;
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end('too many dashboard clients\n');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    // Reconnect quickly after a restart of the bootstrapper.
    res.write('retry: 1000\n\n');
    const version = this.store.version;
    res.write(this.message(this.stateJson()));
    this.clients.set(res, version);
    incrementCount(this.perAddress, address);
    this.counters.feedClients = this.clients.size;
    let counted = true;
    const gone = (): void => {
      this.clients.delete(res);
      if (counted) decrementCount(this.perAddress, address);
      counted = false;
      this.counters.feedClients = this.clients.size;
    };
    req.on('close', gone);
    res.on('error', gone);
  }

  private message(data: string): string {
    return `event: state\ndata: ${data}\n\n`;
  }

  /** Sends the state to each client it changed for (one JSON for all), else a heartbeat when due. */
  private tick(): void {
    if (this.clients.size === 0) return;
    const now = Date.now();
    const version = this.store.version;
    const beat = now - this.lastWrite >= FEED_HEARTBEAT_MS;
    let update: string | null = null;
    for (const [c, sent] of this.clients) {
      if (c.writableLength > MAX_FEED_BACKLOG_BYTES) {
        this.counters.slowClients++;
        this.clients.delete(c);
        c.destroy();
      } else if (sent !== version) {
        // Built once per change, whatever the number of clients.
        update ??= this.message(this.stateJson());
        c.write(update);
        this.clients.set(c, version);
      } else if (beat) {
        c.write(': heartbeat\n\n');
      }
    }
    if (update !== null) this.counters.feedUpdates++;
    if (update !== null || beat) this.lastWrite = now;
    this.counters.feedClients = this.clients.size;
  }
}

function json(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(text);
}
