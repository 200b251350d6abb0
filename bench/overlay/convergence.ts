/**
 * How long a 50-node overlay takes to converge, on one random overlay (onode/sim/random-overlay.ts):
 *
 *   simulated  real OverlayNode logic in virtual time: when every POP first has a route to every
 *              server, and when every node's route to every server is first latency-optimal
 *              (Dijkstra over the link delays, with the metric's 10% fewer-hops rule);
 *   emulated   the same graph as a topology file, one onode process per node on loopback with the
 *              link delays applied by the nodes: wall time from starting the processes until every
 *              POP reports (GET /status) a route to every server.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LATENCY_TOLERANCE } from '../../onode/core/route-choice.ts';
import { randomOverlay, type RandomOverlay, shortestLatencies } from '../../onode/sim/random-overlay.ts';
import { type BenchPorts, benchRun } from '../common/emulation.ts';

export const OVERLAY_SPEC = { nodes: 50, servers: 3, pops: 10, seed: 7 } as const;

export interface SimulatedConvergence {
  /** Virtual ms until every POP has a route to every server. */
  readonly popRoutesMs: number | null;
  /** Virtual ms until every node's route to every server is optimal. */
  readonly optimalMs: number | null;
  readonly wallMs: number;
  readonly links: number;
}

const STEP_MS = 10;

export function simulateConvergence(limitMs = 30_000): SimulatedConvergence {
  const wall = performance.now();
  const overlay = randomOverlay(OVERLAY_SPEC);
  const optimal = new Map(overlay.servers.map((s) => [s, shortestLatencies(overlay.edges, s)]));
  overlay.net.start();
  let popRoutesMs: number | null = null;
  let optimalMs: number | null = null;
  for (let t = STEP_MS; t <= limitMs && optimalMs === null; t += STEP_MS) {
    overlay.net.run(STEP_MS);
    if (
      popRoutesMs === null &&
      overlay.pops.every((p) => overlay.net.node(p).bestRoutes().length >= overlay.servers.length)
    )
      popRoutesMs = t;
    if (allOptimal(overlay, optimal)) optimalMs = t;
  }
  overlay.net.stop();
  return { popRoutesMs, optimalMs, wallMs: performance.now() - wall, links: overlay.edges.length };
}

type Optimal = Map<string, Map<string, { latencyMs: number; hops: number }>>;

function allOptimal(overlay: RandomOverlay, optimal: Optimal): boolean {
  for (const name of overlay.net.names()) {
    const routes = overlay.net.node(name).bestRoutes();
    for (const server of overlay.servers) {
      if (server === name) continue;
      const best = optimal.get(server)?.get(name);
      const chosen = routes.find((r) => r.server === server);
      if (best === undefined || chosen === undefined) return false;
      const exact = Math.abs(chosen.latencyMs - best.latencyMs) < 1e-9;
      const nearWithFewerHops =
        chosen.latencyMs <= best.latencyMs * (1 + LATENCY_TOLERANCE) + 1e-9 && chosen.hops < best.hops;
      if (!exact && !nearWithFewerHops) return false;
    }
  }
  return true;
}

export interface EmulatedConvergence {
  /** Wall seconds from starting the processes until all had registered with the bootstrapper. */
  readonly registeredSec: number | null;
  /** Wall seconds from starting the processes until every POP had a route to every server. */
  readonly convergedSec: number | null;
  readonly processes: number;
}

/** The same overlay as simulateConvergence, as real processes. */
export async function emulateConvergence(
  dist: string,
  ports: BenchPorts,
  limitMs = 60_000,
): Promise<EmulatedConvergence> {
  const dir = mkdtempSync(join(tmpdir(), 'onode-bench-'));
  const file = join(dir, 'random-50.json5');
  const overlay = randomOverlay(OVERLAY_SPEC);
  writeFileSync(file, topologyFile(overlay));
  const run = benchRun(file, dist, ports, undefined, ['--probe-interval', '1000']);
  try {
    const t0 = performance.now();
    run.start();
    const sec = (): number => (performance.now() - t0) / 1000;
    const everyone = run.topology.nodes.size;
    let registeredSec: number | null = null;
    let convergedSec: number | null = null;
    while (performance.now() - t0 < limitMs) {
      if (registeredSec === null) {
        const registered = (await run.statusOrNull(run.topology.bootstrapper))?.registered;
        if (registered !== undefined && registered.length >= everyone) registeredSec = sec();
      }
      if (registeredSec !== null && (await run.isConverged({ catalogue: false }))) {
        convergedSec = sec();
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return { registeredSec, convergedSec, processes: everyone };
  } finally {
    await run.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A native topology file for a random overlay: host i at 10.0.150.i (127.0.150.i on loopback). */
export function topologyFile(o: RandomOverlay): string {
  const names = [...o.servers, ...o.relays, ...o.pops];
  const pops = new Set(o.pops);
  const servers = new Set(o.servers);
  const nodes = Object.fromEntries(
    names.map((n, i) => {
      const address = `10.0.150.${i + 1}`;
      const role = servers.has(n) ? 'server' : pops.has(n) ? 'pop' : 'node';
      return [n, { role, addresses: [address], ...(role === 'pop' ? { clientAddresses: [address] } : {}) }];
    }),
  );
  const links = o.edges.map(([a, b, delayMs]) => ({ between: [a, b], delayMs }));
  const writer = 'bench/overlay/main.ts';
  const header = `// ${OVERLAY_SPEC.nodes}-node random overlay (seed ${OVERLAY_SPEC.seed}) written by ${writer}`;
  return `${header}\n${JSON.stringify({ bootstrapper: o.servers[0], nodes, links }, null, 1)}\n`;
}
