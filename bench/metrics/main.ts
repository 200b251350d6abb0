/**
 * What a Prometheus scrape costs a POP: the time to set every series from a status report and
 * serialise GET /metrics (NodeMetrics.text()), for POPs with more and more streams, sessions and
 * viewers, up to the export bounds. The report is made up (building it is what GET /status
 * already costs); this is the part /metrics adds. CPU only: no sockets, no processes.
 *
 *   npm run build && node dist/bench/metrics/main.js [--rounds 200]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { StatusReport, ViewerStats } from '../../common/wire/status-api.ts';
import { NodeMetrics } from '../../onode/net/metrics.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '200' } } });
const rounds = Math.max(10, Number(values.rounds) || 200);

function report(streams: number, sessions: number): StatusReport {
  return {
    name: 'o5',
    role: 'pop',
    pid: 1,
    uptimeSec: 100,
    neighbours: Array.from({ length: 8 }, (_, i) => ({
      name: `o${i}`,
      address: `127.0.0.${i}`,
      alive: true,
      rttMs: 3.2,
      failures: 1,
    })),
    routes: [
      { server: 's1', via: 'o2', latencyMs: 20, hops: 2 },
      { server: 's2', via: 'o3', latencyMs: 30, hops: 3 },
    ],
    streams: Array.from({ length: streams }, (_, i) => ({
      movie: `movie-${i}.mjpeg`,
      state: 'active',
      upstream: 'o2',
      rootPath: ['s1', 'o2', 'o5'],
      downstream: ['o6'],
      clients: ['127.0.6.20:5000'],
      packetsIn: 1e6 + i,
      bytesIn: 1e9 + i,
      packetsOut: 1e6,
      bytesOut: 1e9,
      strayPackets: 0,
      duplicates: 3,
      repaired: 2,
    })),
    sessions: Array.from({ length: sessions }, (_, i) => ({
      viewer: `viewer-${i}`,
      movie: `movie-${i % Math.max(1, streams)}.mjpeg`,
      client: `127.0.6.${i % 250}:5000`,
      transport: 'udp',
      state: 'playing',
      packets: 50_000,
      retransmitted: 3,
      packetsDropped: 0,
      framesDropped: 0,
    })),
    faults: { cut: [] },
    counters: {
      transport: { datagramsIn: 1e7, datagramsOut: 1e7, bytesIn: 1e10, bytesOut: 1e10, badMac: 0, malformed: 1 },
      tree: { reroutes: 2, switches: 1, repairsRequested: 7, repairsServed: 6 },
      rtsp: { connections: { open: sessions }, sessionsOpened: sessions, requests: 4 * sessions },
      verify: { verified: 1e6, rejected: 0 },
      ops: { requests: 100 },
    },
  };
}

function viewers(n: number): ViewerStats[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `o5/viewer-${i}`,
    pop: 'o5',
    movie: `movie-${i}.mjpeg`,
    client: '127.0.6.20:5000',
    player: 'oclient',
    startedAt: 0,
    updatedAt: 1,
    state: 'playing',
    startupMs: 400,
    fps: 25,
    bitrateKbps: 900,
    framesReceived: 10_000,
    framesLost: 2,
    packetsLost: 3,
    fractionLost: 0,
    jitterMs: 1.5,
    longestStallMs: 200,
    failovers: 0,
  }));
}

async function measure(streams: number, sessions: number, nViewers: number): Promise<string> {
  const r = report(streams, sessions);
  const v = viewers(nViewers);
  let now = 0;
  // Each scrape a fresh build: the clock moves past the build budget's window every time.
  const m = new NodeMetrics({ node: 'o5', role: 'pop', report: () => r, viewers: () => v, now: () => (now += 1000) });
  for (let i = 0; i < 20; i++) await m.text(); // warm-up
  const us: number[] = [];
  let text = '';
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    text = await m.text();
    us.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  us.sort((a, b) => a - b);
  const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  const median = us[Math.floor(us.length / 2)] ?? 0;
  const p99 = us[Math.floor(us.length * 0.99)] ?? 0;
  // Prometheus scrapes every 5 s (the config --prometheus writes): the share of one core.
  const core = (median / 5e6) * 100;
  return (
    `| ${streams} | ${sessions} | ${nViewers} | ${series} | ${(text.length / 1024).toFixed(0)} | ` +
    `${(median / 1000).toFixed(2)} | ${(p99 / 1000).toFixed(2)} | ${core.toFixed(3)} % |`
  );
}

const cases: readonly (readonly [number, number, number])[] = [
  [1, 1, 1],
  [10, 10, 10],
  [50, 50, 50],
  [100, 128, 128],
  [200, 256, 256],
];
process.stdout.write(
  `scrape cost of a POP's GET /metrics, ${rounds} scrapes each, load ${loadavg()[0]?.toFixed(1)}\n\n`,
);
process.stdout.write('| Streams | Sessions | Viewers | Series | KiB | Median ms | p99 ms | Core at 1 scrape / 5 s |\n');
process.stdout.write('| --- | --- | --- | --- | --- | --- | --- | --- |\n');
for (const [s, n, v] of cases) process.stdout.write(`${await measure(s, n, v)}\n`);
