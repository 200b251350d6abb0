import { describe, expect, it } from 'vitest';
import { LATENCY_TOLERANCE } from '../../../onode/core/route-choice.ts';
import { DEFAULT_PROBES, MAX_PROBE_FORWARDS } from '../../../onode/core/status-probes.ts';
import { randomOverlay, type RandomOverlay, shortestLatencies } from '../../../onode/sim/random-overlay.ts';

const SPEC = { nodes: 60, servers: 4, pops: 12, extraEdges: 1, minDelayMs: 1, maxDelayMs: 40 } as const;

function converged(seed: number, clockSkewMs = 0): RandomOverlay {
  const overlay = randomOverlay({ ...SPEC, seed, clockSkewMs });
  overlay.net.start();
  // Hellos measure RTTs within ~200 ms; probes go out every second, so a few rounds suffice.
  overlay.net.run(5000);
  return overlay;
}

type RouteKey = `${string}->${string}`;

function chosenRoutes(overlay: RandomOverlay): Map<RouteKey, { via: string; latencyMs: number; hops: number }> {
  const out = new Map<RouteKey, { via: string; latencyMs: number; hops: number }>();
  for (const name of overlay.net.names()) {
    for (const r of overlay.net.node(name).bestRoutes())
      out.set(`${name}->${r.server}`, { via: r.via, latencyMs: r.latencyMs, hops: r.hops });
  }
  return out;
}

/** Every node's route to every server against Dijkstra: optimal, or within 10% with fewer hops. */
function routeViolations(overlay: RandomOverlay): string[] {
  const routes = chosenRoutes(overlay);
  const problems: string[] = [];
  for (const server of overlay.servers) {
    const optimal = shortestLatencies(overlay.edges, server);
    for (const name of overlay.net.names()) {
      if (name === server) continue;
      const best = optimal.get(name)!;
      const chosen = routes.get(`${name}->${server}`);
      if (chosen === undefined) {
        problems.push(`${name} has no route to ${server}`);
        continue;
      }
      const within = chosen.latencyMs <= best.latencyMs * (1 + LATENCY_TOLERANCE) + 1e-9;
      const optimalOrShorter = Math.abs(chosen.latencyMs - best.latencyMs) < 1e-9 || chosen.hops < best.hops;
      if (chosen.latencyMs < best.latencyMs - 1e-9 || !within || !optimalOrShorter) {
        problems.push(
          `${name}->${server}: chose ${chosen.latencyMs} ms/${chosen.hops} hops via ${chosen.via}, ` +
            `optimum ${best.latencyMs} ms/${best.hops} hops`,
        );
      }
    }
  }
  return problems;
}

describe('STATUS probes over a random overlay', () => {
  it.each([3, 11, 29])('every route is latency-optimal within the 10%% hop rule (seed %i)', (seed) => {
    const overlay = converged(seed);
    expect(overlay.net.names().length).toBeGreaterThanOrEqual(50);
    expect(routeViolations(overlay)).toEqual([]);
    // Each node's route table also knows every server's catalogue.
    for (const name of overlay.net.names()) {
      expect(
        overlay.net
          .node(name)
          .catalogue()
          .map((m) => m.name),
      ).toEqual(['alpha.mjpeg', 'beta.mjpeg']);
    }
  });

  it('uses the hop rule somewhere on these overlays (the test above is not only exact matches)', () => {
    let fewerHops = 0;
    for (const seed of [3, 11, 29]) {
      const overlay = converged(seed);
      for (const server of overlay.servers) {
        const optimal = shortestLatencies(overlay.edges, server);
        for (const r of overlay.net.names().flatMap((n) =>
          overlay.net
            .node(n)
            .bestRoutes()
            .filter((x) => x.server === server)
            .map((x) => ({ n, ...x })),
        )) {
          if (r.latencyMs > optimal.get(r.n)!.latencyMs + 1e-9) fewerHops++;
        }
      }
    }
    expect(fewerHops).toBeGreaterThan(0);
  });

  it('bounds the flood: no node forwards one probe more than MAX_PROBE_FORWARDS times', () => {
    const overlay = converged(11);
    overlay.net.resetCounters();
    overlay.net.run(5 * DEFAULT_PROBES.intervalMs);
    const forwards = [...overlay.net.probeForwards.values()];
    // The flood really happened: nodes other than leaves forwarded probes (a leaf has nobody to forward to).
    const forwarders = new Set([...overlay.net.probeForwards.keys()].map((k) => k.split('|')[0]));
    const nonLeaves = overlay.net.names().filter((n) => overlay.net.neighboursOf(n).length > 1);
    expect(forwarders.size).toBeGreaterThan(nonLeaves.length * 0.9);
    expect(forwards.length).toBeGreaterThan(overlay.servers.length * 4 * 50);
    expect(overlay.net.maxProbeForwards()).toBeLessThanOrEqual(MAX_PROBE_FORWARDS);
    for (const name of overlay.net.names()) {
      const probes = overlay.net.node(name).probes.counters;
      expect(probes.droppedNoRtt).toBe(0);
    }
  });

  it('chooses identical routes when node clocks are offset by up to ±5 s', () => {
    const synced = converged(11);
    const skewed = converged(11, 5000);
    expect(routeViolations(skewed)).toEqual([]);
    expect(chosenRoutes(skewed)).toEqual(chosenRoutes(synced));
  });

  it('forgets routes through a failed link and converges on the new optimum', () => {
    const overlay = converged(3);
    // Take down the first hop of some node's route to s1 and compare with Dijkstra without that link.
    const [from, route] = [...chosenRoutes(overlay)].find(([k, r]) => k.endsWith('->s1') && r.hops >= 3)!;
    const name = from.split('->')[0]!;
    overlay.net.link(name, route.via)!.up = false;
    // Stale routes age out after the TTL (3.5 probe intervals).
    overlay.net.run(4 * DEFAULT_PROBES.intervalMs + 1000);
    const remaining = overlay.edges.filter(
      ([a, b]) => !((a === name && b === route.via) || (a === route.via && b === name)),
    );
    const after = { ...overlay, edges: remaining };
    expect(chosenRoutes(overlay).get(`${name}->s1`)?.via).not.toBe(route.via);
    expect(routeViolations(after)).toEqual([]);
  });
});

describe('STATUS probes after a server restart', () => {
  function routesTo(overlay: RandomOverlay, server: string): number {
    return overlay.net.names().filter(
      (n) =>
        n !== server &&
        overlay.net
          .node(n)
          .bestRoutes()
          .some((r) => r.server === server),
    ).length;
  }

  it.each([
    ['after its routes expired', 6000],
    ['within the route TTL', 500],
  ])('is learned again everywhere although its sequence numbers restart from 1 (%s)', (_label, downMs) => {
    const overlay = randomOverlay({ nodes: 30, servers: 2, pops: 5, seed: 3 });
    overlay.net.start();
    // Long enough that other nodes have seen sequence numbers well above 1.
    overlay.net.run(20_000);
    expect(routesTo(overlay, 's1')).toBe(29);
    overlay.net.kill('s1');
    overlay.net.run(downMs);
    overlay.net.restart('s1');
    overlay.net.run(5000);
    expect(routesTo(overlay, 's1')).toBe(29);
    expect(routeViolations(overlay)).toEqual([]);
  });
});
