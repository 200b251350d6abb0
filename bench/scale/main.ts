/**
 * `npm run bench:scale`: how routing scales with the overlay, in the simulator (the real core in
 * virtual time) on topology files as `onode topology` writes them:
 *
 *   waxman-100    a generated Waxman network, 100 places, 5 servers, 10 POPs
 *   Kdl           the Topology Zoo's largest network, 754 places, 20 servers, 100 POPs
 *   waxman-1000   1,000 places, 20 servers, 100 POPs
 *   waxman-10000  10,000 places, 50 servers, 500 POPs (with --large or --only: about 4 minutes of wall time)
 *
 * For each: virtual time until every node's route to every server is optimal under the 10 % rule
 * (target: within 3 route intervals), idle control traffic per link over 10 s of virtual
 * time once converged and settled (two intervals later), hellos included (kbit/s, mean and the
 * busiest link; target < 2 kbit/s), wall time, and the repair of a cut link. Prints a table and
 * plots the Waxman series against size: out/bench/scale-convergence.svg
 * and out/bench/scale-control.svg.
 *
 *   node dist/bench/scale/main.js [--large] [--only NAME,...]
 *
 * --only runs just the named cases (e.g. --only waxman-10000 runs the large one alone).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lineChartSvg } from '../../common/plot/line-chart.ts';
import { parseTopology } from '../../onode/config/topology.ts';
import { DEFAULT_ROUTING } from '../../onode/core/route-adverts.ts';
import { type RandomOverlay, shortestLatencies } from '../../onode/sim/random-overlay.ts';
import { simFromTopology } from '../../onode/sim/topology-sim.ts';
import { generateGraph } from '../../onode/topology/generate.ts';
import type { GeoGraph } from '../../onode/topology/geo-graph.ts';
import { readGraphml } from '../../onode/topology/graphml.ts';
import { graphmlFiles } from '../../onode/topology/graphml-archive.ts';
import { chooseRoles } from '../../onode/topology/roles.ts';
import { topologyText } from '../../onode/topology/topology-writer.ts';
import { ROOT } from '../../scripts/repository-root.ts';
import { printSummary, say, verdict } from '../common/report.ts';
import { type LinkRepair, measureLinkRepair } from './link-repair.ts';

const STEP_MS = 250;
const LIMIT_MS = 30_000;
const IDLE_MS = 10_000;
/** From convergence to the idle measurement. */
const SETTLE_MS = 2 * DEFAULT_ROUTING.intervalMs;
/** The issue's targets: 3 probe intervals, < 2 kbit/s on every link, < 30 s wall (< 5 min at 10,000). */
const TARGETS = { intervals: 3, kbps: 2, wallSec: 30, wallSecLarge: 300 } as const;

interface Case {
  readonly name: string;
  readonly graph: () => GeoGraph;
  readonly servers: number;
  readonly pops: number;
  /** Minutes of wall time: only with --large (or --only). */
  readonly large?: true;
}

interface Result {
  readonly name: string;
  readonly nodes: number;
  readonly links: number;
  readonly servers: number;
  readonly convergedMs: number | null;
  readonly meanKbps: number;
  readonly maxKbps: number;
  readonly wallSec: number;
  /** The JS heap in use once the overlay is converged and idle (every simulated node's state, and garbage). */
  readonly heapMb: number;
  /** Idle control bytes by message type, as shares (largest first). */
  readonly byType: string;
  readonly repair: LinkRepair | null;
}

const waxman = (nodes: number) => () => generateGraph({ nodes, model: 'waxman', seed: 7 });

/** One network from the Zoo archive kept in topologies/zoo. */
function zoo(file: string): () => GeoGraph {
  return () => {
    const text = graphmlFiles(join(ROOT, 'topologies/zoo/graphml.tar.gz')).get(file);
    if (text === undefined) throw new Error(`${file} is not in topologies/zoo/graphml.tar.gz`);
    return readGraphml(text, file);
  };
}

function allOptimal(
  o: RandomOverlay,
  optimal: ReadonlyMap<string, ReadonlyMap<string, { latencyMs: number }>>,
): boolean {
  for (const name of o.net.names()) {
    const node = o.net.node(name);
    for (const server of o.servers) {
      if (server === name) continue;
      const best = optimal.get(server)?.get(name)?.latencyMs;
      // The route the node uses (as bestRoutes() reports it), without building the whole list.
      const route = node.routes.best(server, (n) => node.links.isAlive(n));
      if (best === undefined || route === undefined || route.latencyMs > best * 1.1 + 1e-6) return false;
    }
  }
  return true;
}

function measure(c: Case): Result {
  const wall = performance.now();
  const lap = (what: string): void => say(`  ${what}: ${((performance.now() - wall) / 1000).toFixed(1)} s wall so far`);
  const roles = chooseRoles(c.graph(), { servers: c.servers, pops: c.pops, seed: 1 });
  const topo = parseTopology(topologyText(roles, { header: [] }), c.name);
  const o = simFromTopology(topo);
  // Control messages are encoded (sizes, refusals) but delivered as sent: nodes share the routes'
  // objects instead of holding a decoded copy each (the codec has its own tests).
  o.net.decodeControl = false;
  const optimal = new Map(o.servers.map((s) => [s, shortestLatencies(o.edges, s)]));
  lap('built');
  o.net.start();
  let convergedMs: number | null = null;
  for (let t = STEP_MS; t <= LIMIT_MS && convergedMs === null; t += STEP_MS) {
    o.net.run(STEP_MS);
    if (allOptimal(o, optimal)) convergedMs = t;
  }
  lap(convergedMs === null ? 'not converged' : `converged at ${convergedMs} ms`);
  // The last refinements (a slightly faster path heard after the optimum was in place) settle first.
  o.net.run(SETTLE_MS);
  o.net.resetCounters();
  o.net.run(IDLE_MS);
  const kbps = o.edges.map(([a, b]) => {
    const bytes = o.net.controlBytesByLink.get(a < b ? `${a}|${b}` : `${b}|${a}`) ?? 0;
    return (bytes * 8) / IDLE_MS;
  });
  const types = [...o.net.sentByType].filter(([type]) => type !== 'data');
  const total = types.reduce((n, [, t]) => n + t.bytes, 0);
  const byType = types
    .sort((x, y) => y[1].bytes - x[1].bytes)
    .map(([type, t]) => `${type} ${Math.round((100 * t.bytes) / Math.max(1, total))} %`)
    .join(', ');
  const heapMb = process.memoryUsage().heapUsed / 1e6;
  lap('idle measured');
  const repair = measureLinkRepair(o);
  o.net.stop();
  return {
    repair,
    byType,
    name: c.name,
    nodes: topo.nodes.size,
    links: topo.links.length,
    servers: c.servers,
    convergedMs,
    meanKbps: kbps.reduce((x, y) => x + y, 0) / Math.max(1, kbps.length),
    maxKbps: Math.max(0, ...kbps),
    wallSec: (performance.now() - wall) / 1000,
    heapMb,
  };
}

function repairText(r: LinkRepair | null): string {
  if (r === null) return 'link failure: no route crosses any link';
  const ms = (x: number | null): string => (x === null ? 'never' : `${x} ms`);
  const after = r.repairedMs !== null && r.detectedMs !== null ? ` (${r.repairedMs - r.detectedMs} ms after)` : '';
  return (
    `link ${r.link.replace('|', '-')} cut (${r.affected} POP-server routes crossed it): detected ` +
    `${ms(r.detectedMs)}, every route repaired ${ms(r.repairedMs)}${after}`
  );
}

const wallLimit = (r: Result): number => (r.nodes >= 10_000 ? TARGETS.wallSecLarge : TARGETS.wallSec);

function main(): number {
  const { values } = parseArgs({
    options: { large: { type: 'boolean', default: false }, only: { type: 'string' } },
  });
  const all: Case[] = [
    { name: 'waxman-100', graph: waxman(100), servers: 5, pops: 10 },
    { name: 'Kdl', graph: zoo('Kdl.graphml'), servers: 20, pops: 100 },
    { name: 'waxman-1000', graph: waxman(1000), servers: 20, pops: 100 },
    { name: 'waxman-10000', graph: waxman(10_000), servers: 50, pops: 500, large: true },
  ];
  const only = values.only?.split(',');
  const unknown = only?.filter((n) => !all.some((c) => c.name === n)) ?? [];
  if (unknown.length > 0)
    throw new Error(`no case ${unknown.join(', ')} (cases: ${all.map((c) => c.name).join(', ')})`);
  const cases = all.filter((c) => (only === undefined ? values.large || c.large !== true : only.includes(c.name)));
  const intervalMs = DEFAULT_ROUTING.intervalMs;
  const results: Result[] = [];
  for (const c of cases) {
    say(`${c.name}: simulating...`);
    const r = measure(c);
    results.push(r);
    say(
      `  ${r.nodes} places, ${r.links} links, ${r.servers} servers: converged ` +
        `${r.convergedMs === null ? 'never' : `${r.convergedMs} ms`}, control per link ` +
        `${r.meanKbps.toFixed(2)} / ${r.maxKbps.toFixed(2)} kbit/s, ${r.wallSec.toFixed(1)} s wall, ` +
        `${r.heapMb.toFixed(0)} MB heap`,
    );
    say(`  idle control by type: ${r.byType}`);
    say(`  ${repairText(r.repair)}`);
  }
  printSummary([
    {
      what: 'overlay (places, servers)',
      value: 'converged · control mean / max · wall',
      target: 'target',
      verdict: '',
    },
    ...results.map((r) => ({
      what: `${r.name} (${r.nodes}, ${r.servers})`,
      value:
        `${r.convergedMs === null ? 'never' : `${(r.convergedMs / intervalMs).toFixed(1)} intervals`} · ` +
        `${r.meanKbps.toFixed(2)} / ${r.maxKbps.toFixed(2)} kbit/s · ${r.wallSec.toFixed(1)} s`,
      target: `≤ ${TARGETS.intervals} intervals, < ${TARGETS.kbps} kbit/s, < ${wallLimit(r)} s`,
      verdict: verdict(
        r.convergedMs !== null &&
          r.convergedMs <= TARGETS.intervals * intervalMs &&
          r.maxKbps < TARGETS.kbps &&
          r.wallSec < wallLimit(r),
      ),
    })),
  ]);
  const out = join(ROOT, 'out/bench');
  mkdirSync(out, { recursive: true });
  // The trend against size is drawn for one family of networks (Waxman); Kdl is in the table.
  const sorted = results.filter((r) => r.name.startsWith('waxman')).sort((a, b) => a.nodes - b.nodes);
  const chart = (title: string, yLabel: string, series: { name: string; y: (r: Result) => number }[]) =>
    lineChartSvg({
      title,
      xLabel: 'places in the overlay',
      yLabel,
      series: series.map((s) => ({ name: s.name, points: sorted.map((r) => [r.nodes, s.y(r)] as const) })),
    });
  writeFileSync(
    join(out, 'scale-convergence.svg'),
    chart('Convergence (simulated)', 'virtual seconds to optimal routes', [
      { name: 'converged', y: (r) => (r.convergedMs ?? LIMIT_MS) / 1000 },
      { name: 'wall seconds', y: (r) => r.wallSec },
    ]),
  );
  writeFileSync(
    join(out, 'scale-control.svg'),
    chart('Idle control traffic per link (simulated)', 'kbit/s', [
      { name: 'busiest link', y: (r) => r.maxKbps },
      { name: 'mean', y: (r) => r.meanKbps },
    ]),
  );
  say(`plots: ${join(out, 'scale-convergence.svg')}, ${join(out, 'scale-control.svg')}`);
  return 0;
}

/**
 * The V8 heap this bench needs: 10,000 simulated nodes hold ~2 GB of routes (more than the default
 * limit), and a young generation of 64 MB lets the messages in flight die young instead of being
 * promoted and marked again and again (a fifth less CPU at 4,000 nodes).
 */
const V8_FLAGS = ['--max-old-space-size=8192', '--max-semi-space-size=64'];

/** Runs main() in a Node with V8_FLAGS: started without them, this process starts one that has them. */
function withHeap(): number {
  if (V8_FLAGS.every((f) => process.execArgv.includes(f))) return main();
  const args = [...process.execArgv, ...V8_FLAGS, process.argv[1]!, ...process.argv.slice(2)];
  return spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1;
}

process.exit(withHeap());
