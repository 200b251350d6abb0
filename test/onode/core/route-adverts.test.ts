import { describe, expect, it } from 'vitest';
import { LATENCY_TOLERANCE } from '../../../onode/core/route-choice.ts';
import { DEFAULT_ROUTING } from '../../../onode/core/route-adverts.ts';
import { randomOverlay, type RandomOverlay, shortestLatencies } from '../../../onode/sim/random-overlay.ts';

const SPEC = { nodes: 60, servers: 4, pops: 12, extraEdges: 1, minDelayMs: 1, maxDelayMs: 40 } as const;

function converged(seed: number, clockSkewMs = 0): RandomOverlay {
  const overlay = randomOverlay({ ...SPEC, seed, clockSkewMs });
  overlay.net.start();
  // Hellos measure RTTs within ~200 ms; route updates follow at once.
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

describe('route updates over a random overlay', () => {
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

  it('sends no route update on an idle overlay once converged: idle links carry hellos only', () => {
    const overlay = converged(11);
    overlay.net.resetCounters();
    overlay.net.run(5 * DEFAULT_ROUTING.intervalMs);
    expect([...overlay.net.sentByType.keys()].sort()).toEqual(['hello']);
    for (const name of overlay.net.names()) {
      const c = overlay.net.node(name).routing.counters;
      expect(c.droppedLoop + c.droppedBadPath + c.droppedFull, name).toBe(0);
    }
  });

  it('heals a lost update: the hello digest disagrees, a dump is asked for, routes converge', () => {
    const overlay = randomOverlay({ ...SPEC, seed: 29 });
    // Every route update on one busy link is lost for the first 3 s.
    const [a, b] = overlay.edges.find(([x, y]) => overlay.servers.includes(x) || overlay.servers.includes(y))!;
    overlay.net.dropRule = (from, to, msg) =>
      msg.type === 'routes' && ((from === a && to === b) || (from === b && to === a)) && overlay.net.clock.now() < 3000;
    overlay.net.start();
    overlay.net.run(3000);
    overlay.net.dropRule = null;
    overlay.net.run(4000);
    const asked =
      overlay.net.node(a).routing.counters.dumpRequestsSent + overlay.net.node(b).routing.counters.dumpRequestsSent;
    expect(asked).toBeGreaterThan(0);
    expect(routeViolations(overlay)).toEqual([]);
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
    // Detection (3 missed hellos on an idle link: 3 s) and the withdrawals after it.
    overlay.net.run(4000);
    const remaining = overlay.edges.filter(
      ([a, b]) => !((a === name && b === route.via) || (a === route.via && b === name)),
    );
    const after = { ...overlay, edges: remaining };
    expect(chosenRoutes(overlay).get(`${name}->s1`)?.via).not.toBe(route.via);
    expect(routeViolations(after)).toEqual([]);
  });
});

describe('a server known dead', () => {
  it('is dropped everywhere at once (no path after path), and learnt again when it restarts', () => {
    const overlay = converged(3);
    const others = overlay.net.names().filter((n) => n !== 's1');
    const reaching = (): string[] => others.filter((n) => overlay.net.node(n).routes.best('s1') !== undefined);
    expect(reaching()).toHaveLength(others.length);
    overlay.net.resetCounters();
    overlay.net.kill('s1', { bootstrapperNotices: true });
    // Each hop coalesces for at most MIN_UPDATE_GAP_MS: a few hundred ms cover the diameter.
    overlay.net.run(400);
    expect(reaching()).toEqual([]);
    // The news went out once per node and link; no route to s1 was told again while it spread.
    expect(others.every((n) => overlay.net.node(n).routing.counters.serversGone === 1)).toBe(true);
    overlay.net.restart('s1');
    overlay.net.run(3000);
    expect(reaching()).toHaveLength(others.length);
    expect(routeViolations(overlay)).toEqual([]);
  });
});

describe('route updates after a server restart', () => {
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
