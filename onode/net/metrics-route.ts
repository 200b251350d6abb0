/**
 * The GET /metrics route NodeProcess registers. prom-client and the metric tables load on the
 * first scrape, not at start: they add about 4.5 MB of RSS to a node process, which a node
 * nobody scrapes (most runs) never pays.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeMetrics, NodeMetricsOptions } from './metrics.ts';
import type { GetRoute } from './status-http.ts';

export function metricsRoute(opts: NodeMetricsOptions): GetRoute {
  let metrics: Promise<NodeMetrics> | null = null;
  return (req: IncomingMessage, res: ServerResponse): void => {
    // A failed load is tried again on the next scrape, not remembered until restart.
    metrics ??= import('./metrics.ts').then(
      (m) => new m.NodeMetrics(opts),
      (err: unknown) => {
        metrics = null;
        throw err;
      },
    );
    metrics.then(
      (m) => m.route(req, res),
      (err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${(err as Error).message}\n`);
      },
    );
  };
}
