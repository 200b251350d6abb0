/**
 * `npm run bench:dashboard`: what the dashboard costs and how far behind it is, on the 50-node
 * random overlay of bench/overlay (3 servers, 10 POPs) as real processes on loopback, with 50
 * viewers (light RTSP sessions, 5 per POP) and a relay killed halfway:
 *
 *   lag       for every event the bootstrapper's feed (GET /feed) brings, the time from the node
 *             seeing it (the event's time) to the feed delivering it here; target ≤ 1 s
 *   bytes     each node's telemetry lines toward the bootstrapper (bytes on the wire, as the node
 *             counts them), per second over the window; target < 2 kbit/s per node
 *   CPU       the time each node's reporter spends sampling and building reports, as a share of
 *             one core over the window; target < 1 %
 *
 * Ports of its own (bootstrap 27100, overlay 24544, status 27180, RTSP 28654); every process
 * started is stopped at the end, on errors and on Ctrl-C.
 *
 *   node dist/bench/dashboard/main.js [--seconds S] [--viewers-per-pop N]   (defaults 40, 5)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { randomOverlay } from '../../onode/sim/random-overlay.ts';
import { DIST } from '../../scripts/repository-root.ts';
import { type BenchPorts, benchRun } from '../common/emulation.ts';
import { printSummary, say, verdict } from '../common/report.ts';
import { OVERLAY_SPEC, topologyFile } from '../overlay/convergence.ts';
import { LoadSession } from '../rtsp/session.ts';
import { FeedFollower } from './feed-follower.ts';

const PORTS: BenchPorts = { bootstrap: 27100, overlay: 24544, status: 27180, rtsp: 28654 };
const TARGETS = { lagMs: 1000, kbpsPerNode: 2, cpuPct: 1 } as const;

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A POP answers 503 while its tree for the movie is still forming (a loaded machine): try again. */
async function openRetrying(url: string, address: string, rtpPort: number): Promise<LoadSession> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await LoadSession.open(url, address, rtpPort);
    } catch (err) {
      if (attempt >= 10) throw err;
      await sleep(1000);
    }
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '40' }, 'viewers-per-pop': { type: 'string', default: '5' } },
  });
  const seconds = Number(values.seconds);
  const VIEWERS_PER_POP = Number(values['viewers-per-pop']);
  const dir = mkdtempSync(join(tmpdir(), 'onode-bench-dashboard-'));
  const file = join(dir, 'random-50.json5');
  writeFileSync(file, topologyFile(randomOverlay(OVERLAY_SPEC)));
  const movies = join(dir, 'movies');
  makeSampleMovies(movies, { frames: 40 });
  const run = benchRun(file, DIST, PORTS, movies, ['--probe-interval', '1000']);
  const sessions: LoadSession[] = [];
  let feed: FeedFollower | null = null;
  const stop = async (): Promise<void> => {
    feed?.kill();
    for (const s of sessions) s.close();
    await run.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    say(`dashboard: ${run.topology.nodes.size} onode processes, ${VIEWERS_PER_POP} viewers per POP`);
    run.start();
    await run.converged(90_000);
    const boot = run.address(run.topology.bootstrapper);
    feed = new FeedFollower(`http://${boot}:${PORTS.status}/feed`);
    const catalogue = ((await run.status(run.topology.bootstrapper)).catalogue ?? []).map((m) => m.name);
    const pops = run.names('pop');
    let i = 0;
    for (const pop of pops) {
      for (let k = 0; k < VIEWERS_PER_POP; k++, i++) {
        const url = `rtsp://${run.address(pop)}:${PORTS.rtsp}/${catalogue[i % catalogue.length]}`;
        sessions.push(await openRetrying(url, `127.61.${Math.floor(i / 200)}.${(i % 200) + 1}`, 30_000 + 2 * i));
      }
    }
    say(`${sessions.length} viewers playing ${catalogue.length} movies; measuring ${seconds} s`);
    await sleep(5000);
    const first = await feed.latest();
    await sleep((seconds * 1000) / 2);
    // A relay on some tree dies: link-down, reroute and prune events flow to the dashboard.
    const tree = (await feed.latest())?.movies.find((m) => m.edges.length > 2);
    const relay = tree?.edges.map((e) => e.from).find((n) => run.topology.nodes.get(n)?.role === 'node');
    if (relay !== undefined) {
      say(`kill -9 ${relay} (on the tree of ${tree?.movie})`);
      run.emulator.kill(relay);
    }
    await sleep((seconds * 1000) / 2);
    const last = await feed.latest();
    const { lags, kinds } = await feed.stop();
    if (first === null || last === null) throw new Error('the feed sent nothing');
    const kbps: number[] = [];
    const cpu: number[] = [];
    for (const n of last.nodes) {
      const a = first.nodes.find((x) => x.name === n.name)?.cost;
      const b = n.cost;
      if (a == null || b == null || b.at <= a.at || n.name === relay) continue;
      kbps.push(((b.sentBytes - a.sentBytes) * 8) / (b.at - a.at));
      cpu.push((100 * (b.busyMs - a.busyMs)) / (b.at - a.at));
    }
    const viewers = last.viewers.length;
    say(`${lags.length} events through the feed; ${kbps.length} nodes measured; ${viewers} viewers listed`);
    say(`events: ${kinds.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    const maxLag = Math.max(...lags);
    const maxKbps = Math.max(...kbps);
    const maxCpu = Math.max(...cpu);
    printSummary([
      { what: 'what', value: 'measured', target: 'target', verdict: '' },
      {
        what: 'dashboard lag, p50 / p99 / max',
        value: `${[quantile(lags, 0.5), quantile(lags, 0.99), maxLag].map(Math.round).join(' / ')} ms`,
        target: `≤ ${TARGETS.lagMs} ms`,
        verdict: verdict(lags.length > 0 && maxLag <= TARGETS.lagMs),
      },
      {
        what: 'telemetry per node, mean / max',
        value: `${(kbps.reduce((x, y) => x + y, 0) / kbps.length).toFixed(2)} / ${maxKbps.toFixed(2)} kbit/s`,
        target: `< ${TARGETS.kbpsPerNode} kbit/s`,
        verdict: verdict(maxKbps < TARGETS.kbpsPerNode),
      },
      {
        what: 'reporting CPU per node, mean / max',
        value: `${(cpu.reduce((x, y) => x + y, 0) / cpu.length).toFixed(3)} / ${maxCpu.toFixed(3)} %`,
        target: `< ${TARGETS.cpuPct} % of a core`,
        verdict: verdict(maxCpu < TARGETS.cpuPct),
      },
    ]);
    return 0;
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:dashboard: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
