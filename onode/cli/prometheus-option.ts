/** --prometheus FILE (emulate, mininet, core): writes the run's Prometheus scrape config. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { STATUS_PORT } from '../../common/net/ports.ts';
import type { Topology } from '../config/topology.ts';
import { prometheusConfig, scrapeTargets } from '../emulators/prometheus-config.ts';
import { UsageError } from './node-commands.ts';

export const PROMETHEUS_HELP =
  "write a Prometheus config that scrapes every node's GET /metrics (job onode, labels node and role) " +
  'to this file; run it with: prometheus --config.file FILE';

/**
 * Writes the config for `topo` (addresses as the nodes will have them) and returns the line that
 * says where, and how to use it.
 */
export function writePrometheusConfig(file: string, topo: Topology, how: string, port = STATUS_PORT): string {
  const text = prometheusConfig(scrapeTargets(topo, port), {
    comment: `onode: scrape every node of ${topo.source} (${how}); written by onode at ${new Date().toISOString()}`,
  });
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw new UsageError(`cannot write the Prometheus config to ${file}: ${(err as Error).message}`);
  }
  return (
    `wrote a Prometheus scrape config for ${topo.nodes.size} nodes to ${resolve(file)} ` +
    `(prometheus --config.file ${file})`
  );
}
