/**
 * `npm run demo`: the report's topology (2 servers, 5 relays, 3 POPs) as real processes on
 * loopback, five headless clients watching different movies at different POPs, a live view of
 * what flows where, and a per-client summary. Ctrl-C stops everything.
 *
 *   node dist/scripts/demo.js [--duration S] [--keep] [--topology FILE]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BOOTSTRAP_PORT, dashboardUrl, STATUS_PORT } from '../common/net/ports.ts';
import { recordOverlay, writeRecording } from '../onode/net/overlay-recorder.ts';
import { fetchStatus } from '../common/net/status-client.ts';
import type { StatusReport } from '../common/wire/status-api.ts';
import { loadTopologyFile, loopbackTopology, TopologyError } from '../onode/config/topology.ts';
import { Emulator } from '../onode/net/emulator.ts';
import { textTable as table } from '../common/core/text-table.ts';
import { renderFlows } from './demo-view.ts';
import { DIST as dist, ROOT as root } from './repository-root.ts';
import { makeSampleMovies } from '../common/samples/sample-movies.ts';

interface ClientStats {
  movie: string;
  pop: string;
  popRttMs: number;
  framesReceived: number;
  framesLost: number;
  packetsLost: number;
  startupMs: number | null;
  fps: number;
  jitterMs: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '20' },
      keep: { type: 'boolean', default: false },
      topology: { type: 'string', default: join(root, 'topologies/report.json5') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run demo [-- --duration S] [-- --keep] [-- --topology FILE]\n' +
        '  --duration S   how long the clients watch (default 20)\n' +
        '  --keep         keep the overlay running after the clients finish, until Ctrl-C\n',
    );
    return 0;
  }
  const duration = Number(values.duration);
  if (!Number.isFinite(duration) || duration <= 0)
    throw new Error(`--duration ${values.duration}: expected seconds above 0`);
  const movies = join(root, 'movies');
  const made = makeSampleMovies(movies);
  if (made.written.length > 0) process.stdout.write(`made sample movies in ${movies}\n`);
  const file = values.topology;
  const topo = loopbackTopology(loadTopologyFile(file));
  const out = join(root, 'out', 'demo');
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out)) if (f.endsWith('.json') || f.endsWith('.mjpeg')) rmSync(join(out, f));

  const logs: string[] = [];
  const emulator = new Emulator({
    file,
    topology: topo,
    cli: join(dist, 'onode/cli/main.js'),
    moviesDir: movies,
    bootstrapPort: BOOTSTRAP_PORT,
    childArgs: ['--probe-interval', '500'],
    onLine: (node, line) => logs.push(`[${node}] ${line}`),
    onExit: (node, code, signal) => process.stdout.write(`!! ${node} exited (${signal ?? `code ${code}`})\n`),
  });
  const clients: ReturnType<typeof execFile>[] = [];
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const c of clients) c.kill('SIGTERM');
    await emulator.stop();
  };
  process.once('SIGINT', () => {
    void stopAll().then(() => process.exit(130));
  });
  process.once('SIGTERM', () => {
    void stopAll().then(() => process.exit(143));
  });

  emulator.start();
  const bootstrapper = topo.nodes.get(topo.bootstrapper)?.addresses[0] ?? '';
  process.stdout.write(
    `started ${topo.nodes.size} onode processes from ${file} on loopback; ` +
      `bootstrapper ${emulator.bootstrapAddresses}\n`,
  );
  const statusOf = (name: string): Promise<StatusReport | null> =>
    fetchStatus({ host: topo.nodes.get(name)?.addresses[0] ?? '', port: STATUS_PORT }, 1000).catch(() => null);
  const names = [...topo.nodes.keys()];
  const servers = [...topo.nodes.values()].filter((n) => n.role === 'server').length;
  const t0 = Date.now();
  for (;;) {
    const all = await Promise.all(names.map(statusOf));
    const routed = (s: StatusReport): boolean =>
      (s.routes ?? []).length >= (s.role === 'server' ? servers - 1 : servers);
    if (all.every((s) => s !== null && routed(s) && (s.catalogue ?? []).length > 0)) break;
    if (Date.now() - t0 > 30_000) {
      process.stdout.write(`the overlay did not converge in 30 s; last log lines:\n${logs.slice(-20).join('\n')}\n`);
      await stopAll();
      return 1;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const dashboard = dashboardUrl(bootstrapper);
  process.stdout.write(
    `all ${names.length} nodes registered and routed in ${((Date.now() - t0) / 1000).toFixed(1)} s\n` +
      `dashboard: ${dashboard}\n`,
  );

  const catalogue = readCatalogue(await statusOf(topo.bootstrapper));
  const clientList = [...topo.clients.values()];
  const results = new Map<string, ClientStats | string>();
  const runs = clientList.map(
    (c, i) =>
      new Promise<void>((resolveRun) => {
        const movie = catalogue[i % catalogue.length] ?? 'bars.mjpeg';
        const pop = c.pop !== null ? topo.nodes.get(c.pop) : undefined;
        const popArgs = pop ? ['--pop', pop.clientAddresses[0] ?? pop.addresses[0] ?? ''] : [];
        const stats = join(out, `${c.name}.json`);
        const child = execFile(
          process.execPath,
          [
            join(dist, 'oclient/cli/main.js'),
            '--bootstrapper',
            emulator.bootstrapAddresses, // every bootstrapper, in order
            '--address',
            c.addresses[0] ?? '',
            '--movie',
            movie,
            '--headless',
            '--duration',
            String(duration),
            '--stats',
            stats,
            '--output',
            join(out, `${c.name}.mjpeg`),
            ...popArgs,
          ],
          (err, _stdout, stderr) => {
            results.set(
              c.name,
              err
                ? `failed: ${stderr.trim().split('\n').pop() ?? err.message}`
                : (JSON.parse(readFileSync(stats, 'utf8')) as ClientStats),
            );
            resolveRun();
          },
        );
        clients.push(child);
      }),
  );
  process.stdout.write(
    `${clientList.length} clients watching for ${duration} s: ` +
      `${clientList.map((c, i) => `${c.name}→${catalogue[i % catalogue.length]}`).join(', ')}\n\n`,
  );

  // The run is recorded as `onode record` would: timeline, viewers over time, plots.
  const recordDir = join(out, 'record');
  mkdirSync(recordDir, { recursive: true });
  const stopRecording = new AbortController();
  const recorded = recordOverlay(`${dashboard.replace(/\/$/, '')}/overlay`, {
    until: Number.POSITIVE_INFINITY,
    intervalMs: 1000,
    signal: stopRecording.signal,
  });

  let before = new Map<string, StatusReport>();
  const interactive = process.stdout.isTTY;
  const view = setInterval(() => {
    void Promise.all(names.map(statusOf)).then((all) => {
      const now = all.filter((s): s is StatusReport => s !== null);
      const text = `${clientTable(
        clientList.map((c) => c.name),
        out,
      )}\n\n${renderFlows(now, before, 1)}`;
      before = new Map(now.map((s) => [s.name ?? '?', s]));
      const elapsed = Math.round((Date.now() - t0) / 1000);
      if (interactive)
        process.stdout.write(
          `\x1b[2J\x1b[H${file} on loopback, t=${elapsed}s (Ctrl-C stops); dashboard ${dashboard}\n\n${text}\n`,
        );
      else if (elapsed % 5 === 0) process.stdout.write(`t=${elapsed}s\n${text}\n\n`);
    });
  }, 1000);
  await Promise.all(runs);
  clearInterval(view);
  stopRecording.abort();
  const { recording, last } = await recorded;
  const recordedFiles = last === null ? [] : writeRecording(recordDir, recording, last);

  const rows = [['client', 'movie', 'POP', 'rtt ms', 'frames', 'lost', 'pkts lost', 'startup ms', 'fps', 'jitter ms']];
  let failed = 0;
  for (const c of clientList) {
    const r = results.get(c.name);
    if (typeof r !== 'object') {
      failed++;
      rows.push([c.name, r ?? 'no result']);
      continue;
    }
    if (r.framesReceived === 0) failed++;
    rows.push([
      c.name,
      r.movie,
      r.pop,
      r.popRttMs.toFixed(2),
      String(r.framesReceived),
      String(r.framesLost),
      String(r.packetsLost),
      r.startupMs === null ? '-' : r.startupMs.toFixed(0),
      r.fps.toFixed(1),
      r.jitterMs.toFixed(2),
    ]);
  }
  process.stdout.write(`\nsummary (stats and received frames in ${out}):\n${table(rows)}\n`);
  if (recordedFiles.length > 0)
    process.stdout.write(
      `recorded ${recording.events.length} events and ${recording.samples.length} viewer samples ` +
        `(CSV, JSON, SVG plots) in ${recordDir}\n`,
    );
  if (values.keep) {
    process.stdout.write(
      `\nthe overlay keeps running, dashboard at ${dashboard}\n` +
        `try: npx oclient --bootstrapper ${bootstrapper} --movie ${catalogue[0]} ` +
        '--headless --duration 5 --address 127.0.6.30\nCtrl-C stops it\n',
    );
    await new Promise<void>((r) => process.once('SIGINT', () => r()));
  }
  await stopAll();
  return failed === 0 ? 0 : 1;
}

/** One row per client from the stats file it rewrites every second. */
function clientTable(names: string[], dir: string): string {
  const rows = [
    ['client', 'POP', 'movie', 'fps', 'kbit/s', 'frames', 'frames lost', 'pkts lost', 'jitter ms', 'startup ms'],
  ];
  for (const name of names) {
    let s: (ClientStats & { bitrateKbps?: number }) | null = null;
    try {
      s = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as ClientStats;
    } catch {
      // not written yet
    }
    rows.push(
      s === null
        ? [name, '…']
        : [
            name,
            s.pop,
            s.movie,
            String(s.fps),
            String(s.bitrateKbps ?? ''),
            String(s.framesReceived),
            String(s.framesLost),
            String(s.packetsLost),
            s.jitterMs.toFixed(2),
            s.startupMs === null ? '-' : s.startupMs.toFixed(0),
          ],
    );
  }
  return table(rows);
}

function readCatalogue(s: StatusReport | null): string[] {
  return (s?.catalogue ?? []).map((m) => m.name);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `demo: ${err instanceof TopologyError ? err.message : ((err as Error).stack ?? String(err))}\n`,
    );
    process.exit(1);
  },
);
