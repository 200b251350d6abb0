/**
 * A Prometheus configuration that scrapes every node of a run: job "onode", one target per node
 * (its first address and status port, where GET /metrics is), labelled with the node's name and
 * role. `onode emulate|mininet|core --prometheus FILE` write it; `prometheus --config.file FILE`
 * runs with it as it is. Pure: the caller writes the text.
 */
import type { Topology } from '../config/topology.ts';

export interface ScrapeTarget {
  readonly node: string;
  /** server, node or pop; the bootstrapper is a server (its label bootstrapper="true" says which). */
  readonly role: string;
  readonly address: string;
  readonly port: number;
  readonly bootstrapper: boolean;
}

export interface PrometheusConfigOptions {
  /** How often Prometheus scrapes each node (s); default 5: a run lasts minutes, not days. */
  readonly intervalSec?: number;
  /** A comment line at the top: what run the file is for. */
  readonly comment?: string;
}

export const DEFAULT_SCRAPE_INTERVAL_SEC = 5;
export const PROMETHEUS_JOB = 'onode';

/** One target per node of the topology, in file order. */
export function scrapeTargets(topo: Topology, statusPort: number): ScrapeTarget[] {
  return [...topo.nodes.values()].map((n) => ({
    node: n.name,
    role: n.role,
    address: n.addresses[0] ?? '',
    port: statusPort,
    bootstrapper: topo.bootstrappers.includes(n.name),
  }));
}

/**
 * The configuration as YAML. Strings are written as JSON strings, which YAML reads as they are
 * (names with any character stay one scalar). honor_labels keeps the node and role labels each
 * node puts on its own series rather than renaming them exported_node and exported_role.
 */
export function prometheusConfig(targets: readonly ScrapeTarget[], opts: PrometheusConfigOptions = {}): string {
  const every = `${opts.intervalSec ?? DEFAULT_SCRAPE_INTERVAL_SEC}s`;
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    ...(opts.comment === undefined ? [] : opts.comment.split('\n').map((l) => `# ${l}`)),
    'global:',
    `  scrape_interval: ${every}`,
    `  evaluation_interval: ${every}`,
    'scrape_configs:',
    `  - job_name: ${q(PROMETHEUS_JOB)}`,
    '    honor_labels: true',
    '    metrics_path: /metrics',
    `    scrape_timeout: ${every}`,
    '    static_configs:',
  ];
  for (const t of targets) {
    lines.push(
      `      - targets: [${q(`${t.address}:${t.port}`)}]`,
      '        labels:',
      `          node: ${q(t.node)}`,
      `          role: ${q(t.role)}`,
      ...(t.bootstrapper ? ['          bootstrapper: "true"'] : []),
    );
  }
  if (targets.length === 0) lines.push('      []');
  return `${lines.join('\n')}\n`;
}
