/**
 * The real core in virtual time on real operator networks (Internet Topology Zoo, imported by
 * `onode topology import`): within three route intervals every node has a route to every
 * server, and each is optimal under the report's rule (the lowest latency, or one with fewer hops
 * within 10 % of it), checked against Dijkstra over the link delays.
 */
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../../onode/config/topology.ts';
import { DEFAULT_ROUTING } from '../../../onode/core/route-adverts.ts';
import { shortestLatencies } from '../../../onode/sim/random-overlay.ts';
import { simFromTopology } from '../../../onode/sim/topology-sim.ts';
import { readGraphml } from '../../../onode/topology/graphml.ts';
import { chooseRoles } from '../../../onode/topology/roles.ts';
import { topologyText } from '../../../onode/topology/topology-writer.ts';
import { zooFiles } from '../topology/zoo-archive.ts';

const ZOO = zooFiles();

function converged(file: string, servers: number, pops: number) {
  const graph = readGraphml(ZOO.get(file) as string, file);
  const topo = parseTopology(topologyText(chooseRoles(graph, { servers, pops, seed: 1 }), { header: [] }), file);
  const o = simFromTopology(topo);
  o.net.start();
  o.net.run(3 * DEFAULT_ROUTING.intervalMs);
  let routes = 0;
  const wrong: string[] = [];
  for (const server of o.servers) {
    const best = shortestLatencies(o.edges, server);
    for (const name of o.net.names()) {
      if (name === server) continue;
      const route = o.net
        .node(name)
        .bestRoutes()
        .find((r) => r.server === server);
      const optimum = best.get(name)?.latencyMs ?? Number.NaN;
      if (route === undefined) wrong.push(`${name}: no route to ${server}`);
      else if (route.latencyMs > optimum * 1.1 + 1e-6) {
        wrong.push(`${name} -> ${server}: ${route.latencyMs} ms via ${route.via}, optimum ${optimum} ms`);
      } else routes++;
    }
  }
  o.net.stop();
  return { nodes: topo.nodes.size, routes, wrong };
}

describe('the simulator on Topology Zoo networks', () => {
  it('Cogentco (197 places, 3 servers): optimal routes within three probe intervals', () => {
    const r = converged('Cogentco.graphml', 3, 10);
    expect(r.wrong).toEqual([]);
    expect(r.routes).toBe(3 * (r.nodes - 1));
  });

  it('Kdl (754 places, 20 servers, 100 POPs): optimal routes within three probe intervals', () => {
    const r = converged('Kdl.graphml', 20, 100);
    expect(r.wrong).toEqual([]);
    expect(r.routes).toBe(20 * (r.nodes - 1));
  }, 120_000);
});
