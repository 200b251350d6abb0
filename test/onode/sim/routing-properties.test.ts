/**
 * Routing over generated topologies (`onode topology generate`: Waxman and Barabási-Albert over
 * seeds drawn by fast-check): every node's route to every server is optimal under the report's
 * rule (checked against Dijkstra), following each node's chosen neighbour toward a server never
 * loops, and once converged an idle link carries hellos only: no route update, whatever the size.
 * A failure prints the fast-check seed and path to replay.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../../onode/config/topology.ts';
import { DEFAULT_ROUTING } from '../../../onode/core/route-adverts.ts';
import { type RandomOverlay, shortestLatencies } from '../../../onode/sim/random-overlay.ts';
import { simFromTopology } from '../../../onode/sim/topology-sim.ts';
import { generateGraph } from '../../../onode/topology/generate.ts';
import { chooseRoles } from '../../../onode/topology/roles.ts';
import { topologyText } from '../../../onode/topology/topology-writer.ts';

const RUNS = Number(process.env.SIM_PROPERTY_RUNS ?? 5);

interface Network {
  readonly nodes: number;
  readonly model: 'waxman' | 'barabasi-albert';
  readonly servers: number;
  readonly seed: number;
}

const network: fc.Arbitrary<Network> = fc.record({
  nodes: fc.integer({ min: 20, max: 80 }),
  model: fc.constantFrom('waxman' as const, 'barabasi-albert' as const),
  servers: fc.integer({ min: 1, max: 6 }),
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
});

function simulate(n: Network): RandomOverlay {
  const graph = generateGraph({ nodes: n.nodes, model: n.model, seed: n.seed });
  const roles = chooseRoles(graph, { servers: n.servers, pops: Math.max(1, Math.floor(n.nodes / 10)), seed: n.seed });
  return simFromTopology(parseTopology(topologyText(roles, { header: [] }), `generated-${n.seed}`));
}

function violations(o: RandomOverlay): string[] {
  const wrong: string[] = [];
  for (const server of o.servers) {
    const best = shortestLatencies(o.edges, server);
    for (const name of o.net.names()) {
      const optimum = best.get(name);
      if (name === server || optimum === undefined) continue;
      const route = o.net
        .node(name)
        .bestRoutes()
        .find((r) => r.server === server);
      if (route === undefined) wrong.push(`${name}: no route to ${server}`);
      else if (route.latencyMs > optimum.latencyMs * 1.1 + 1e-6 || route.latencyMs < optimum.latencyMs - 1e-6)
        wrong.push(`${name} -> ${server}: ${route.latencyMs} ms, optimum ${optimum.latencyMs} ms`);
    }
  }
  return wrong;
}

/** Following each node's chosen neighbour from every node reaches the server without coming back. */
function loops(o: RandomOverlay): string[] {
  const wrong: string[] = [];
  for (const server of o.servers) {
    for (const start of o.net.names()) {
      const seen = new Set<string>();
      let at = start;
      while (at !== server) {
        if (seen.has(at)) {
          wrong.push(`${start} -> ${server} loops at ${at}`);
          break;
        }
        seen.add(at);
        const via = o.net
          .node(at)
          .bestRoutes()
          .find((r) => r.server === server)?.via;
        if (via === undefined) break;
        at = via;
      }
    }
  }
  return wrong;
}

describe('routing over generated topologies', () => {
  it('converges to optimal, loop-free routes within three intervals, then tells nothing while idle', () => {
    fc.assert(
      fc.property(network, (n) => {
        const o = simulate(n);
        o.net.start();
        o.net.run(3 * DEFAULT_ROUTING.intervalMs);
        expect(violations(o)).toEqual([]);
        expect(loops(o)).toEqual([]);
        o.net.run(2 * DEFAULT_ROUTING.intervalMs);
        o.net.resetCounters();
        o.net.run(5 * DEFAULT_ROUTING.intervalMs);
        expect([...o.net.sentByType.keys()]).toEqual(['hello']);
        o.net.stop();
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
