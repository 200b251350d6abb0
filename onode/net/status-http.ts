/**
 * GET /status on each of the node's addresses: the node's view as JSON. POST /faults injects
 * link failures for experiments (`onode fault`). Anything else gets 404; bodies are small and
 * connections short.
 */
import { createServer, type Server } from 'node:http';
import { listenOn } from '../../common/net/listen.ts';

const MAX_FAULT_BODY_BYTES = 4096;

export class StatusHttp {
  private readonly servers: Server[] = [];

  constructor(
    private readonly addresses: readonly string[],
    private readonly port: number,
    private readonly report: () => unknown,
    /** Handles POST /faults with its parsed JSON body; returns the reply (status, JSON). */
    private readonly faults: ((body: unknown) => { status: number; body: unknown }) | null = null,
  ) {}

  async start(): Promise<void> {
    for (const address of this.addresses) {
      const server = createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (req.method === 'POST' && path === '/faults' && this.faults !== null) {
          this.readBody(req, (body) => {
            const reply = body === undefined ? { status: 400, body: { error: 'expected a JSON body' } } : this.faults!(body);
            res.writeHead(reply.status, { 'content-type': 'application/json' }).end(`${JSON.stringify(reply.body)}\n`);
          });
          return;
        }
        if (req.method !== 'GET' || (path !== '/status' && path !== '/status/')) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('try GET /status\n');
          return;
        }
        let body: string;
        try {
          body = JSON.stringify(this.report(), null, 2);
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${body}\n`);
      });
      server.requestTimeout = 5000;
      server.keepAliveTimeout = 1000;
      await listenOn(server, this.port, address, 'GET /status');
      this.servers.push(server);
    }
  }

  private readBody(req: import('node:http').IncomingMessage, done: (body: unknown) => void): void {
    let text = '';
    let over = false;
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_FAULT_BODY_BYTES) {
        over = true;
        req.destroy();
      }
    });
    req.on('end', () => {
      if (over) return;
      try {
        done(JSON.parse(text));
      } catch {
        done(undefined);
      }
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => {
      s.closeAllConnections();
      s.close(() => r());
    })));
    this.servers.length = 0;
  }
}
