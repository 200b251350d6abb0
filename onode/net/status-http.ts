/**
 * GET /status on each of the node's addresses: the node's view as JSON (StatusReport).
 * Anything else gets 404; the server never keeps a connection open for long.
 */
import { createServer, type Server } from 'node:http';

export class StatusHttp {
  private readonly servers: Server[] = [];

  constructor(private readonly addresses: readonly string[], private readonly port: number, private readonly report: () => unknown) {}

  async start(): Promise<void> {
    for (const address of this.addresses) {
      const server = createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
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
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.port, address, () => {
          server.off('error', reject);
          resolve();
        });
      }).catch((err: Error) => {
        throw new Error(`cannot serve /status on ${address}:${this.port}: ${err.message}`);
      });
      this.servers.push(server);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => {
      s.closeAllConnections();
      s.close(() => r());
    })));
    this.servers.length = 0;
  }
}
