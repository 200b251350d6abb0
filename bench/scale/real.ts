/**
 * `npm run bench:scale:real`: real onode processes at scale (issue 13). For each size, a Waxman
 * network from `onode topology generate` runs as one process per place on loopback; it prints the
 * time until every node registered and every POP had a route to every server, memory per role
 * (relays apart), idle CPU per relay, and whether every headless client received frames.
 *
 *   node dist/bench/scale/real.js [--nodes 50,100,200] [--clients 20] [--servers 3] [--idle 20]
 *                                 [--watch 10] [--limit 120] [--seed 7] [--label TEXT]
 *
 * Binds 127.0.0.0/8 on ports of its own (bootstrap 27300, overlay 24744, status 27380, RTSP 28854).
 * Every process it starts is stopped at the end, on errors and on Ctrl-C (and the nodes exit with
 * it even when it is killed: their stdin closes). Numbers go to out/bench/scale-real.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import type { LoopbackRun } from '../../onode/emulators/loopback-run.ts';
import { DIST, ROOT } from '../../scripts/repository-root.ts';
import type { BenchPorts } from '../common/emulation.ts';
import { printSummary, type SummaryRow, say, verdict } from '../common/report.ts';
import { measureRealScale, type RealScaleResult, type RoleMemory } from './real-run.ts';

const PORTS: BenchPorts = { bootstrap: 27300, overlay: 24744, status: 27380, rtsp: 28854 };
/** Issue 13's targets for real processes. */
const TARGETS = { routedSec: 60, relayRssMb: 45, relayIdleCpuPct: 0.2 } as const;
/** POPs per size: one per 5 places, at most 20 (so 200 places have 20 POPs, one per client). */
const popsFor = (nodes: number): number => Math.max(2, Math.min(20, Math.floor(nodes / 5)));

const USAGE =
  'usage: node dist/bench/scale/real.js [--nodes 50,100,200] [--clients 20] [--servers 3] [--idle 20]\n' +
  '                                     [--watch 10] [--limit 120] [--seed 7] [--label TEXT]\n' +
  '  --nodes   overlay sizes (processes), comma-separated   --clients  headless clients per size\n' +
  '  --idle    seconds idle CPU is measured over            --watch    seconds each client plays\n' +
  '  --limit   seconds a size may take to be routed         --label    names the run in the JSON';

let current: LoopbackRun | null = null;
/** Sample movies and topology files of this run. */
let scratch: string | null = null;

function removeScratch(): void {
  if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
  scratch = null;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '50,100,200' },
      clients: { type: 'string', default: '20' },
      servers: { type: 'string', default: '3' },
      idle: { type: 'string', default: '20' },
      watch: { type: 'string', default: '10' },
      limit: { type: 'string', default: '120' },
      seed: { type: 'string', default: '7' },
      label: { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const sizes = (values.nodes ?? '').split(',').map(Number);
  const num = (s: string | undefined): number => Number(s);
  const counts = [values.clients, values.servers, values.idle, values.watch, values.limit, values.seed].map(num);
  if (values.help || sizes.some((n) => !Number.isInteger(n) || n < 10) || counts.some((n) => !(n >= 0))) {
    say(USAGE);
    return values.help ? 0 : 2;
  }
  const [clients, servers, idle, watch, limit, seed] = counts as [number, number, number, number, number, number];
  const cpu = cpus();
  say(
    `real processes at scale: ${cpu.length} CPUs (${cpu[0]?.model ?? 'unknown'}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}; load average ${loadavg()[0]?.toFixed(2)}`,
  );
  scratch = mkdtempSync(join(tmpdir(), 'onode-scale-real-'));
  const movies = join(scratch, 'movies');
  makeSampleMovies(movies, { frames: 50 });
  const results: (RealScaleResult & { loadAverageAtStart: number })[] = [];
  try {
    for (const nodes of sizes) {
      say(
        `\n${nodes} processes (${servers} servers, ${popsFor(nodes)} POPs), ${clients} clients; ` +
          `load average ${loadavg()[0]?.toFixed(2)}:`,
      );
      // The machine may be shared: its load when the size started goes with the numbers.
      const load = Number(loadavg()[0]?.toFixed(2));
      const r = await measureRealScale({
        nodes,
        servers,
        pops: popsFor(nodes),
        clients,
        seed,
        idleSeconds: idle,
        watchSeconds: watch,
        limitSeconds: limit,
        dist: DIST,
        moviesDir: movies,
        scratch,
        ports: PORTS,
        onRun: (run) => {
          current = run;
        },
      });
      results.push({ ...r, loadAverageAtStart: load });
      printSize(r, idle);
    }
  } finally {
    removeScratch();
  }
  const out = join(ROOT, 'out/bench');
  mkdirSync(out, { recursive: true });
  const file = join(out, 'scale-real.json');
  const at = new Date().toISOString();
  writeFileSync(file, `${JSON.stringify({ at, label: values.label, targets: TARGETS, results }, null, 1)}\n`);
  say('\nsummary (targets from issue 13):');
  printSummary(results.flatMap(summaryRows));
  say(`\nnumbers: ${file}`);
  return results.every((r) => r.routedSec !== null && r.clientsWithFrames === r.clients) ? 0 : 1;
}

const f1 = (x: number): string => x.toFixed(1);
const mem = (m: RoleMemory): string =>
  `${m.role.padEnd(12)} ${String(m.count).padStart(4)}  RSS ${f1(m.rssMeanMb)} / ${f1(m.rssMaxMb)} MB` +
  `  anon ${f1(m.anonMeanMb)} / ${f1(m.anonMaxMb)}  PSS ${f1(m.pssMeanMb)} / ${f1(m.pssMaxMb)}` +
  `  peak RSS ${f1(m.peakMaxMb)} MB`;

function printSize(r: RealScaleResult, idle: number): void {
  const s = (x: number | null): string => (x === null ? 'never' : `${f1(x)} s`);
  say(`  registered ${s(r.registeredSec)} (${r.registered} of ${r.nodes}), routed ${s(r.routedSec)} after start`);
  if (r.routedSec === null) say('  (not routed: the memory and CPU below are of processes still starting, not idle)');
  if (r.startCpuSec !== null) say(`  CPU used by the nodes until routed: ${f1(r.startCpuSec)} s`);
  say('  memory when idle (mean / max):');
  for (const m of r.idleMemory) say(`    ${mem(m)}`);
  say(`  idle CPU over ${idle} s, % of a core (mean / max):`);
  for (const c of r.idleCpu) say(`    ${c.role.padEnd(12)} ${c.meanPct.toFixed(3)} / ${c.maxPct.toFixed(3)}`);
  say('  memory while the clients play (mean / max):');
  for (const m of r.streamingMemory) say(`    ${mem(m)}`);
  say(
    `  clients with frames: ${r.clientsWithFrames} of ${r.clients} ` +
      `(frames min ${r.clientFramesMin}, mean ${Math.round(r.clientFramesMean)})`,
  );
  for (const why of r.clientFailures.slice(0, 5)) say(`    ${why}`);
}

function summaryRows(r: RealScaleResult): SummaryRow[] {
  const relayIdle = r.idleMemory.find((m) => m.role === 'node');
  const relayStreaming = r.streamingMemory.find((m) => m.role === 'node');
  const relayCpu = r.idleCpu.find((c) => c.role === 'node');
  const n = `${r.nodes} processes:`;
  const rows: SummaryRow[] = [
    {
      what: `${n} routed after start`,
      value: r.routedSec === null ? 'never' : `${f1(r.routedSec)} s`,
      target: `< ${TARGETS.routedSec} s`,
      verdict: verdict(r.routedSec !== null && r.routedSec < TARGETS.routedSec),
    },
  ];
  if (relayIdle !== undefined)
    rows.push({
      what: `${n} relay RSS idle, max (mean)`,
      value: `${f1(relayIdle.rssMaxMb)} MB (${f1(relayIdle.rssMeanMb)})`,
      target: `< ${TARGETS.relayRssMb} MB`,
      verdict: verdict(relayIdle.rssMaxMb < TARGETS.relayRssMb),
    });
  if (relayIdle !== undefined)
    rows.push({
      what: `${n} relay PSS idle, max (mean)`,
      value: `${f1(relayIdle.pssMaxMb)} MB (${f1(relayIdle.pssMeanMb)})`,
      target: '',
      verdict: '',
    });
  if (relayStreaming !== undefined)
    rows.push({
      what: `${n} relay RSS streaming, max (mean)`,
      value: `${f1(relayStreaming.rssMaxMb)} MB (${f1(relayStreaming.rssMeanMb)})`,
      target: '',
      verdict: '',
    });
  if (relayCpu !== undefined)
    rows.push({
      what: `${n} relay idle CPU, mean (max)`,
      value: `${relayCpu.meanPct.toFixed(2)} % (${relayCpu.maxPct.toFixed(2)})`,
      target: `< ${TARGETS.relayIdleCpuPct} %`,
      verdict: verdict(relayCpu.meanPct < TARGETS.relayIdleCpuPct),
    });
  rows.push({
    what: `${n} clients with frames`,
    value: `${r.clientsWithFrames} of ${r.clients}`,
    target: 'all',
    verdict: verdict(r.clientsWithFrames === r.clients),
  });
  return rows;
}

async function stopAndExit(code: number): Promise<never> {
  await current?.stop();
  removeScratch();
  process.exit(code);
}

process.on('SIGINT', () => void stopAndExit(130));
process.on('SIGTERM', () => void stopAndExit(143));
main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`bench:scale:real: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAndExit(1);
  },
);
