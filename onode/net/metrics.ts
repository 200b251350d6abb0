/**
 * GET /metrics: one node's metrics in the Prometheus text format, through prom-client. Each node
 * has its own Registry (tests run many nodes in one process, so never the global one) with its
 * name and role as default labels. Collect-on-scrape: the values come from the node's status
 * report and viewer table when a scrape asks, so the packet path does no extra work; and a scrape
 * budget (like GET /status's) bounds what a flood of requests can cost the relaying thread.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { RateWindow } from '../../common/core/rate-window.ts';
import type { StatusReport, ViewerStats } from '../../common/wire/status-api.ts';
import type { MetricSpec } from './metric-spec.ts';
import { NODE_METRICS } from './metrics-node.ts';
import { POP_METRICS } from './metrics-pop.ts';
import { type NodeSnapshot, nodeSnapshot } from './metrics-snapshot.ts';
import { VIEWER_METRICS, type ViewersSnapshot, viewersSnapshot } from './metrics-viewers.ts';

export interface NodeMetricsOptions {
  readonly node: string;
  /** server, node or pop (the bootstrapper is a server; it alone has onode_bootstrapper_*). */
  readonly role: string;
  readonly report: () => StatusReport;
  /** The POP's viewer table; default none (relays and servers have no viewers). */
  readonly viewers?: () => readonly ViewerStats[];
  /** The clock the scrape budget is counted on (ms); default performance.now. */
  readonly now?: () => number;
}

/**
 * Fresh builds per METRICS_WINDOW_MS at most; other requests get the last text. At the export
 * bounds a build is tens of ms of the relaying thread (BENCHMARKS.md, "Metrics"), so a flood of
 * GET /metrics costs at most a few % of a core; Prometheus asks every few seconds.
 */
export const METRICS_BUILDS_PER_WINDOW = 2;
export const METRICS_WINDOW_MS = 1000;

interface Bound<S> {
  readonly spec: MetricSpec<S>;
  readonly metric: Counter<string> | Gauge<string>;
}

interface Snapshot {
  readonly node: NodeSnapshot;
  readonly viewers: ViewersSnapshot;
}

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly nodeMetrics: Bound<NodeSnapshot>[];
  private readonly viewerMetrics: Bound<ViewersSnapshot>[];
  private readonly builds = new RateWindow(METRICS_BUILDS_PER_WINDOW, METRICS_WINDOW_MS);
  /** Encoded once: a request past the budget sends these bytes again, it does not re-encode the text. */
  private cached: Promise<Buffer> | null = null;
  private readonly viewers: () => readonly ViewerStats[];
  private readonly now: () => number;

  constructor(private readonly opts: NodeMetricsOptions) {
    this.registry.setDefaultLabels({ node: opts.node, role: opts.role });
    this.viewers = opts.viewers ?? (() => []);
    this.now = opts.now ?? (() => performance.now());
    this.nodeMetrics = [...NODE_METRICS, ...POP_METRICS].map((spec) => this.bind(spec));
    this.viewerMetrics = VIEWER_METRICS.map((spec) => this.bind(spec));
  }

  /** The exposition text now: fresh while the scrape budget lasts, else the last one built. */
  text(): Promise<string> {
    return this.body().then((b) => b.toString('utf8'));
  }

  private body(): Promise<Buffer> {
    if (this.builds.take(this.now()) || this.cached === null) {
      this.refresh(this.snapshot());
      this.cached = this.registry.metrics().then((t) => Buffer.from(t));
    }
    return this.cached;
  }

  /** The StatusHttp route: GET /metrics. */
  readonly route = (_req: IncomingMessage, res: ServerResponse): void => {
    let body: Promise<Buffer>;
    try {
      body = this.body();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
      return;
    }
    body.then(
      (text) =>
        res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' }).end(text),
      (err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${(err as Error).message}\n`);
      },
    );
  };

  private snapshot(): Snapshot {
    const viewers = viewersSnapshot(this.viewers());
    return { node: nodeSnapshot(this.opts.report(), viewers.omitted), viewers };
  }

  private bind<S>(spec: MetricSpec<S>): Bound<S> {
    const config = { name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [this.registry] };
    return { spec, metric: spec.type === 'counter' ? new Counter(config) : new Gauge(config) };
  }

  /** Every series set from the snapshot; series gone since the last scrape (a movie, a viewer) go. */
  private refresh(s: Snapshot): void {
    for (const b of this.nodeMetrics) apply(b, s.node);
    for (const b of this.viewerMetrics) apply(b, s.viewers);
  }
}

function apply<S>(b: Bound<S>, snapshot: S): void {
  const { metric, spec } = b;
  metric.reset();
  const samples = spec.read(snapshot);
  // prom-client gives an unlabelled metric a 0 series; a value this node does not have has none.
  if (spec.labels.length === 0 && samples.length === 0) metric.remove();
  for (const [labels, value] of samples) {
    // A counter never goes down: a value that is not a finite count (a bug upstream) is left out.
    if (!Number.isFinite(value)) continue;
    if (metric instanceof Counter) {
      if (value >= 0) metric.inc(labels, value);
    } else metric.set(labels, value);
  }
}
