/**
 * `npm run bench:media` (issue 11): H.264 against MJPEG for the same pictures, in one run of
 * about a minute:
 *
 *   1. the stream on the wire: kbit/s and packets/s as servers send it (signatures included);
 *   2. per-hop relay throughput: a real overlay relay forwarding packets of each codec's mean
 *      size (bench/overlay/throughput.ts), and so how many such streams one relay carries;
 *   3. startup through 4 hops (s1 - n1 - n2 - n3 - p1, real processes on loopback): SETUP to the
 *      first picture a player can decode, cold (no node carries the movie) and warm.
 *
 * Ports: bootstrap 47000, overlay 44444 (relays: 44600), status 47080, RTSP 48554; addresses
 * 127.37.x.x (as npm run bench:rtsp: run one at a time). Every process stops on exit and Ctrl-C.
 *
 *   node dist/bench/media/main.js [--repetitions N] [--skip-relay]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { avSampleArgs } from '../../common/samples/av-sample.ts';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import type { LoopbackRun } from '../../onode/emulators/loopback-run.ts';
import { DIST } from '../../scripts/repository-root.ts';
import { stopAllChildren } from '../common/child.ts';
import { type BenchPorts, benchRun, untilCatalogued } from '../common/emulation.ts';
import { printSummary, type SummaryRow, say, verdict } from '../common/report.ts';
import { measureThroughput } from '../overlay/throughput.ts';
import { writePathTopology } from '../rtsp/topology.ts';
import { measureBitrates } from './bitrate.ts';
import { firstPicture } from './first-picture.ts';

const PORTS: BenchPorts = { bootstrap: 47000, overlay: 44444, status: 47080, rtsp: 48554 };
const RELAY_PORT = 44600;
const HOPS = 4;
const POP_ADDRESS = '127.37.100.1';
const CLIENT_ADDRESS = '127.37.100.30';
/** Issue 11: SETUP to the first decodable H.264 frame through 4 hops, cold. */
const COLD_TARGET_MS = 150;
const PRUNE_TIMEOUT_MS = 10_000;

/** The overlay of part 3 while it runs: stopped on exit and on Ctrl-C. */
let active: LoopbackRun | null = null;

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const max = (xs: readonly number[]): number => Math.max(...xs);
const fixed = (x: number, d = 0): string => x.toFixed(d);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      repetitions: { type: 'string', default: '5' },
      'skip-relay': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const repetitions = Number(values.repetitions);
  if (values.help || !Number.isInteger(repetitions) || repetitions < 1) {
    say('usage: npm run bench:media [-- --repetitions N] [-- --skip-relay]');
    return values.help ? 0 : 2;
  }
  const cpu = cpus();
  say(
    `overlay-cdn media benchmark: ${cpu.length} CPUs (${cpu[0]?.model ?? 'unknown'}), load ${loadavg()[0]?.toFixed(2)}`,
  );
  const work = mkdtempSync(join(tmpdir(), 'bench-media-'));
  const movies = join(work, 'movies');
  const rows: SummaryRow[] = [];
  try {
    makeSampleMovies(movies);
    execFileSync('ffmpeg', avSampleArgs(join(movies, 'testsrc.mp4')));

    say(
      '\n1. the same pictures (gradient.mjpeg, 320x240, 25 fps) on the wire, signed, with IP/UDP and overlay framing',
    );
    const rates = await measureBitrates(movies, work);
    for (const r of rates) {
      say(
        `   ${r.codec.padEnd(18)} ${fixed(r.kbitPerSec).padStart(6)} kbit/s, ` +
          `${fixed(r.packetsPerSec).padStart(4)} packets/s, ` +
          `mean packet ${fixed(r.meanPacketBytes)} bytes, largest picture ${r.largestUnitBytes} bytes`,
      );
    }
    const [mj, h264] = rates;
    if (mj === undefined || h264 === undefined) throw new Error('both encodings measured');
    rows.push({
      what: 'bitrate, MJPEG / H.264',
      value: `${fixed(mj.kbitPerSec)} / ${fixed(h264.kbitPerSec)} kbit/s`,
      target: '',
      verdict: '',
    });
    rows.push({ what: 'H.264 saves', value: `${fixed(mj.kbitPerSec / h264.kbitPerSec, 1)}x`, target: '', verdict: '' });

    if (!values['skip-relay']) {
      say("\n2. one overlay relay (1 in, 3 out), packets of each codec's mean size, 3 rounds of 1 s");
      for (const r of rates) {
        const tp = await measureThroughput({
          port: RELAY_PORT,
          rtpBytes: Math.round(r.meanPacketBytes),
          rounds: 3,
          roundMs: 1000,
        });
        const pps = tp.overlay.median.forwardedPps;
        const streams = pps / r.packetsPerSec;
        say(
          `   ${r.codec.padEnd(18)} ${fixed(pps)} packets/s per sink: ` +
            `${fixed(streams)} streams of this movie per relay`,
        );
        rows.push({ what: `relay, ${r.codec}`, value: `${fixed(streams)} streams`, target: '', verdict: '' });
      }
    }

    say(
      `\n3. startup through ${HOPS} hops, SETUP -> first decodable picture, ${repetitions} cold and warm starts each`,
    );
    const path = writePathTopology(work, HOPS);
    const overlay = benchRun(path.file, DIST, PORTS, movies, ['--probe-interval', '300']);
    active = overlay;
    overlay.start();
    await overlay.converged(30_000, { catalogue: false });
    await untilCatalogued(overlay, path.pop, ['testsrc.mp4', 'gradient.mjpeg'], 15_000);
    for (const movie of ['testsrc.mp4', 'gradient.mjpeg']) {
      const cold: number[] = [];
      const warm: number[] = [];
      const url = `rtsp://${POP_ADDRESS}:${PORTS.rtsp}/${movie}`;
      for (let i = 0; i < repetitions; i++) {
        await untilNotCarried(overlay, path.nodes, movie);
        const first = await firstPicture(url, CLIENT_ADDRESS);
        await sleep(150 + Math.random() * 300);
        const second = await firstPicture(url, CLIENT_ADDRESS);
        cold.push(first.result.pictureMs);
        say(
          `   (cold: SETUP answered after ${fixed(first.result.setupMs)} ms, ` +
            `${first.result.packetsBefore} packets before the picture)`,
        );
        warm.push(second.result.pictureMs);
        await second.stop();
        await first.stop();
      }
      const show = (xs: number[]) =>
        `median ${fixed(median(xs))} ms, max ${fixed(max(xs))} ms (${xs.map((x) => fixed(x)).join(', ')})`;
      say(`   ${movie.padEnd(15)} cold ${show(cold)}\n   ${''.padEnd(15)} warm ${show(warm)}`);
      const isH264 = movie.endsWith('.mp4');
      rows.push({
        what: `startup cold, ${isH264 ? 'H.264' : 'MJPEG'}`,
        value: `${fixed(median(cold))} ms (max ${fixed(max(cold))})`,
        target: isH264 ? `< ${COLD_TARGET_MS} ms` : '',
        verdict: isH264 ? verdict(median(cold) < COLD_TARGET_MS) : '',
      });
      rows.push({
        what: `startup warm, ${isH264 ? 'H.264' : 'MJPEG'}`,
        value: `${fixed(median(warm))} ms`,
        target: '',
        verdict: '',
      });
    }
  } finally {
    await active?.stop();
    active = null;
    stopAllChildren();
    rmSync(work, { recursive: true, force: true });
  }
  say('\nsummary');
  printSummary(rows);
  return 0;
}

/** A cold start is cold: no node of the path carries the movie (any of its streams) any more. */
async function untilNotCarried(run: LoopbackRun, nodes: readonly string[], movie: string): Promise<void> {
  const started = performance.now();
  for (;;) {
    const reports = await Promise.all(nodes.map((n) => run.statusOrNull(n)));
    const carried = reports.some((r) => r === null || (r.streams ?? []).some((s) => s.movie.startsWith(movie)));
    if (!carried) return;
    if (performance.now() - started > PRUNE_TIMEOUT_MS)
      throw new Error(`${movie} still carried ${PRUNE_TIMEOUT_MS} ms on`);
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

process.on('SIGINT', () => {
  stopAllChildren();
  void (active?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
});
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench:media: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    stopAllChildren();
    process.exit(1);
  },
);
