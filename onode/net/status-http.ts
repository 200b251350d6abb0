/**
 * The node's operations API on each of its addresses: GET /status (the node's view as JSON,
 * readable by anyone: it holds no secrets and no session ids) and POST /faults (link failures
 * for experiments, `onode fault`). Every mutating request needs the bearer token and a JSON
 * body; no CORS headers are ever sent, so a web page elsewhere can neither read nor forge.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import * as v from 'valibot';
import { decrementCount, incrementCount } from '../../common/core/counts.ts';
import { Service, type StartContext } from '../../common/core/lifecycle.ts';
import { RateWindow } from '../../common/core/rate-window.ts';
import { listenOn } from '../../common/net/listen.ts';
import { equalBytes } from '../../common/security/equal-bytes.ts';
import {
  describeIssue,
  FaultsRequestSchema,
  type FaultsRequest,
  MAX_OPS_BODY_BYTES,
} from '../../common/wire/ops-api.ts';

/**
 * Requests and idle keep-alive connections end quickly: nothing here is long-running. A connection
 * that makes no progress for REQUEST_TIMEOUT_MS (a client that asks and never reads) is closed too.
 */
export const REQUEST_TIMEOUT_MS = 5000;
/** Requests one connection may pipeline before it is closed: a poller asks one at a time. */
const MAX_REQUESTS_PER_SOCKET = 100;
const KEEP_ALIVE_MS = 1000;
/** Connections at once per server, and per client address: pollers are few, and one address cannot take them all. */
const MAX_CONNECTIONS = 256;
export const MAX_CONNECTIONS_PER_ADDRESS = 8;
/** How often idle and slow connections are checked against the timeouts (Node's default: 30 s). */
const TIMEOUT_CHECK_MS = 1000;
/**
 * Reports built per REPORT_WINDOW_MS at most; past that, requests get the last one built.
 * GET /status is open to anyone, and with a large catalogue a build is milliseconds of the thread
 * that relays packets; a budget rather than an age keeps every ordinary read fresh.
 */
export const REPORT_BUILDS_PER_WINDOW = 5;
export const REPORT_WINDOW_MS = 200;

export interface OpsCounters {
  requests: number;
  unauthorized: number;
  badRequests: number;
  /** Connections closed at once: over MAX_CONNECTIONS_PER_ADDRESS. */
  refusedConnections: number;
}

export type FaultsHandler = (body: FaultsRequest) => { status: number; body: unknown };

/**
 * A GET route besides /status (/metrics, /viewers, the dashboard): it answers within the same
 * connection limits and timeouts. A handler that throws answers 500, never ends the node.
 */
export type GetRoute = (req: IncomingMessage, res: ServerResponse) => void;

export class StatusHttp extends Service {
  readonly counters: OpsCounters = { requests: 0, unauthorized: 0, badRequests: 0, refusedConnections: 0 };
  private readonly token: Buffer;
  private readonly perAddress = new Map<string, number>();
  /** The last report built, and its JSON, encoded once for every response that reuses it. */
  private latest: { report: unknown; body: Buffer | null } | null = null;
  /** The last body of each JSON route (addJsonRoute). */
  private readonly jsonBodies = new Map<string, Buffer>();
  private readonly builds = new RateWindow(REPORT_BUILDS_PER_WINDOW, REPORT_WINDOW_MS);
  private readonly routes = new Map<string, GetRoute>();

  constructor(
    private readonly addresses: readonly string[],
    private readonly port: number,
    private readonly report: () => unknown,
    token: string,
    private readonly faults: FaultsHandler | null = null,
    /** The clock the report build budget is counted on (tests pass a virtual one). */
    private readonly now: () => number = () => performance.now(),
  ) {
    super();
    this.token = Buffer.from(token, 'utf8');
  }

  protected async open(ctx: StartContext): Promise<void> {
    for (const address of this.addresses) {
      const server = createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_MS }, (req, res) =>
        this.handle(req, res),
      );
      server.on('connection', (socket) => this.admit(socket));
      server.requestTimeout = REQUEST_TIMEOUT_MS;
      server.headersTimeout = REQUEST_TIMEOUT_MS;
      server.keepAliveTimeout = KEEP_ALIVE_MS;
      server.timeout = REQUEST_TIMEOUT_MS;
      server.maxRequestsPerSocket = MAX_REQUESTS_PER_SOCKET;
      server.maxConnections = MAX_CONNECTIONS;
      await listenOn(server, this.port, address, 'GET /status');
      ctx.defer(
        () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      );
    }
  }

  /** Serves GET `path` (exact, query ignored) with `route`; call before start. */
  addRoute(path: string, route: GetRoute): void {
    this.routes.set(path, route);
  }

  /** Counts a new connection against its address; over the cap it is closed at once (its fd freed). */
  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    if ((this.perAddress.get(address) ?? 0) >= MAX_CONNECTIONS_PER_ADDRESS) {
      this.counters.refusedConnections++;
      socket.destroy();
      return;
    }
    incrementCount(this.perAddress, address);
    socket.once('close', () => decrementCount(this.perAddress, address));
  }

  /**
   * The node's report: built fresh while the port's one build budget lasts, else the last one
   * built. GET /status and /metrics both read it, so a flood of either costs one budget.
   */
  latestReport(): unknown {
    if (this.builds.take(this.now()) || this.latest === null) this.latest = { report: this.report(), body: null };
    return this.latest.report;
  }

  /**
   * Serves GET `path` as the JSON of `build()`, rebuilt within the same budget as the report
   * (past it, the last body built): every JSON view of a node costs one budget, not one each.
   */
  addJsonRoute(path: string, build: () => unknown): void {
    this.addRoute(path, (_req, res) => {
      let body = this.jsonBodies.get(path);
      if (this.builds.take(this.now()) || body === undefined) {
        body = Buffer.from(`${JSON.stringify(build())}\n`);
        this.jsonBodies.set(path, body);
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
    });
  }

  /** The report as JSON, encoded once per report built. */
  private reportBody(): Buffer {
    this.latestReport();
    const latest = this.latest as { report: unknown; body: Buffer | null };
    latest.body ??= Buffer.from(`${JSON.stringify(latest.report, null, 2)}\n`);
    return latest.body;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.counters.requests++;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/faults' && this.faults !== null) {
      if (req.method !== 'POST') return this.reply(res, 405, { error: 'POST /faults only' }, { allow: 'POST' });
      const refusal = this.refuseMutation(req);
      if (refusal !== null) return this.reply(res, refusal.status, { error: refusal.error }, refusal.headers);
      return this.readJson(req, res, (body) => {
        const parsed = v.safeParse(FaultsRequestSchema, body);
        if (!parsed.success) {
          this.counters.badRequests++;
          return this.reply(res, 400, {
            error: `expected {"cut": [names]} and/or {"restore": [names]}: ${describeIssue(parsed.issues)}`,
          });
        }
        const out = this.faults!(parsed.output);
        this.latest = null; // the next GET /status shows the change
        this.reply(res, out.status, out.body);
      });
    }
    const route = req.method === 'GET' ? this.routes.get(path ?? '') : undefined;
    if (route !== undefined) {
      try {
        route(req, res);
      } catch (err) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${(err as Error).message}\n`);
      }
      return;
    }
    if (req.method !== 'GET' || (path !== '/status' && path !== '/status/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try GET /status\n');
      return;
    }
    let body: Buffer;
    try {
      body = this.reportBody();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
  }

  /**
   * Token first (a stranger learns nothing else), then the content type browsers cannot send
   * cross-site without asking.
   */
  private refuseMutation(
    req: IncomingMessage,
  ): { status: number; error: string; headers?: Record<string, string> } | null {
    const auth = req.headers.authorization ?? '';
    const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7).trim() : '', 'utf8');
    if (!equalBytes(given, this.token)) {
      this.counters.unauthorized++;
      return {
        status: 401,
        headers: { 'www-authenticate': 'Bearer' },
        error:
          'needs Authorization: Bearer TOKEN ' +
          '(onode fault derives it from the overlay secret: --secret FILE or ONODE_SECRET)',
      };
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      this.counters.badRequests++;
      return { status: 415, error: 'needs Content-Type: application/json' };
    }
    return null;
  }

  private readJson(req: IncomingMessage, res: ServerResponse, done: (body: unknown) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OPS_BODY_BYTES) {
        this.counters.badRequests++;
        this.reply(res, 413, { error: `body over ${MAX_OPS_BODY_BYTES} bytes` }, { connection: 'close' });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_OPS_BODY_BYTES) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        this.counters.badRequests++;
        return this.reply(res, 400, { error: 'expected a JSON body' });
      }
      done(body);
    });
    req.on('error', () => {});
  }

  private reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) return;
    res
      .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
      .end(`${JSON.stringify(body)}\n`);
  }
}
