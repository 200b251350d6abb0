/**
 * RTSP benchmarks (issue 3), in one run of about 2.5 minutes:
 *
 *   1. startup, SETUP → first complete frame, through a 4-hop overlay path on loopback: cold
 *      (the stream is new to the POP) and warm (a second viewer while the first plays);
 *   2. concurrent RTSP viewers one POP sustains for a 25 fps 320x240 movie with under 0.1 %
 *      loss, side by side with gst-rtsp-server (shared media factory) serving the same frames.
 *
 * The overlay runs as real onode processes (s1 - n1 - n2 - n3 - p1) on bootstrap 37000, overlay
 * 34444, status 37080 and RTSP 38554; gst-rtsp-server on 38600; everything on 127.37.x.x. Each
 * server under test gets CPU 0 to itself (taskset), the load generator and the rest of the
 * overlay share CPU 1. Every process started stops on exit, errors and Ctrl-C. Details:
 * BENCHMARKS.md, section 5.
 *
 *   node dist/bench/rtsp/main.js [--steps 10,25,50,…] [--window-ms 4000] [--repetitions 9] [--skip-gst]
 */
import { printSummary, say } from '../common/report.ts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchChild, stopAllChildren } from '../common/child.ts';
import { type BenchPorts, benchRun, untilCatalogued } from '../common/emulation.ts';
import { type CapacityResult, LOSS_TARGET_PCT, measureCapacity, type StepResult } from './capacity.ts';
import { GstRtspServerProcess, gstUnavailable, stopGstServers, writeFrames } from './gst.ts';
import type { LoadConfig } from './load.ts';
import { measureStartup } from './startup.ts';
import { writePathTopology } from './topology.ts';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { DIST, ROOT } from '../../scripts/repository-root.ts';

const root = ROOT;
const dist = DIST;

const PORTS: BenchPorts = { bootstrap: 37000, overlay: 34444, status: 37080, rtsp: 38554 };
const GST = { address: '127.37.220.1', port: 38600 } as const;
const HOPS = 4;
const POP_CLIENT_ADDRESS = '127.37.100.1';
const STARTUP_CLIENT_ADDRESS = '127.37.100.20';
const MOVIE = 'bars.mjpeg';
/** Cold starts rotate over these, so one movie's tree can be pruned while another starts. */
const STARTUP_MOVIES = ['bars.mjpeg', 'gradient.mjpeg', 'bounce.mjpeg'];
const FPS = 25;
/** onode's RtspSessions.MAX_SESSIONS is 1024: the last step stays under it. */
const DEFAULT_STEPS = [10, 25, 50, 100, 200, 400, 600, 800, 1000];
const LOAD: LoadConfig = {
  addressPrefix: '127.37',
  firstNetwork: 200,
  perAddress: 4,
  rtpPortBase: 42000,
  concurrency: 32,
};
const TARGETS = { coldMs: 100, warmMs: 30 } as const;
const SERVER_CPU = 0;
const LOAD_CPU = 1;

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/** Pins every thread of a process to one CPU; false where taskset is missing or the CPU does not exist. */
function pin(pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function describeStep(label: string, s: StepResult): string {
  const w = s.window;
  return (
    `   ${label} ${String(s.clients).padStart(5)}: ${w.sessions} playing, loss ${w.lossPct.toFixed(3)} % ` +
    `(worst session ${w.worstLossPct.toFixed(2)} %, ${w.sessionsOverTarget} at >= ${LOSS_TARGET_PCT} %), ` +
    `${(w.fpsTotal / Math.max(1, w.sessions)).toFixed(1)} fps/session (min ${w.fpsMin.toFixed(1)}), ` +
    `${w.ppsPerSession.toFixed(0)} pps, ${w.kbpsPerSession.toFixed(0)} kbit/s each, ` +
    `delay spread p50 ${w.delaySpreadP50Ms.toFixed(0)} / max ${w.delaySpreadMaxMs.toFixed(0)} ms, ` +
    `CPU: server ${s.serverCpuPct.toFixed(0)} %, generator ${w.generatorCpuPct.toFixed(0)} %, ` +
    `machine ${s.machineBusyPct.toFixed(0)} %` +
    `${w.receiverDrops > 0 ? `, ${w.receiverDrops} dropped at the generator's sockets` : ''}` +
    `${s.inboundDrops > 0 ? `, ${s.inboundDrops} dropped at overlay sockets on the path` : ''}` +
    `${
      s.udpRcvbufErrors + s.udpSndbufErrors > 0
        ? `, kernel UDP buffer errors (machine-wide) ${s.udpRcvbufErrors} receive / ${s.udpSndbufErrors} send`
        : ''
    }` +
    `, opened in ${(s.opened.ms / 1000).toFixed(1)} s${s.retried ? ' (second window)' : ''}` +
    `${
      s.sustained
        ? ''
        : `  NOT SUSTAINED: ${s.why}${s.limitedBy === null ? '' : ` (the ${s.limitedBy} was at its limit)`}`
    }`
  );
}

function capacityValue(c: CapacityResult): string {
  const bound = c.ceilingNotReached || c.limitedBy !== null;
  const why = c.ceilingNotReached
    ? '; last step'
    : c.limitedBy !== null
      ? `; then the ${c.limitedBy} was the limit`
      : '';
  return `${bound ? '>= ' : ''}${c.largest} (${c.largestEverySession} with every session < ${LOSS_TARGET_PCT} %${why})`;
}

/** POP ≥ gst, or INCONCLUSIVE when the side that decides it stopped for a reason other than the server. */
function compareVerdict(pop: CapacityResult, gst: CapacityResult): string {
  const popBound = pop.ceilingNotReached || pop.limitedBy !== null;
  const gstBound = gst.ceilingNotReached || gst.limitedBy !== null;
  if (pop.largest >= gst.largest) {
    if (!gstBound) return 'met';
    if (pop.ceilingNotReached && gst.ceilingNotReached) return 'met up to the last step';
    return 'INCONCLUSIVE (gst-rtsp-server stopped on the generator or the machine)';
  }
  return popBound ? 'INCONCLUSIVE (the POP stopped on the generator or the machine)' : 'MISSED';
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: DEFAULT_STEPS.join(',') },
      'window-ms': { type: 'string', default: '4000' },
      repetitions: { type: 'string', default: '9' },
      'skip-gst': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    say(
      'usage: node dist/bench/rtsp/main.js [options]\n' +
        `  --steps LIST        viewer counts to step through (default ${DEFAULT_STEPS.join(',')})\n` +
        '  --window-ms MS      measurement window per step (default 4000; 1 s of settling comes first)\n' +
        '  --repetitions N     cold and warm starts each (default 9)\n' +
        '  --skip-gst          measure the POP only',
    );
    return 0;
  }
  const steps = values.steps.split(',').map(Number);
  const windowMs = Number(values['window-ms']);
  const repetitions = Number(values.repetitions);
  if (
    steps.some((n) => !Number.isInteger(n) || n < 1) ||
    !(windowMs >= 500) ||
    !Number.isInteger(repetitions) ||
    repetitions < 1
  ) {
    throw new Error('--steps takes positive integers, --window-ms at least 500, --repetitions a positive integer');
  }
  const started = performance.now();
  const cpu = cpus();
  say(
    `overlay-cdn RTSP benchmarks: ${cpu.length} CPUs (${cpu[0]?.model ?? 'unknown'}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}; load average ${loadavg()[0]?.toFixed(2)}`,
  );
  const gstProblem = values['skip-gst'] ? 'skipped (--skip-gst)' : gstUnavailable();
  if (gstProblem !== null) say(`gst-rtsp-server: ${gstProblem}`);

  const tmp = mkdtempSync(join(tmpdir(), 'bench-rtsp-'));
  const movies = join(root, 'movies');
  makeSampleMovies(movies);
  const path = writePathTopology(tmp, HOPS);
  const run = benchRun(path.file, dist, PORTS, movies, ['--probe-interval', '300']);
  cleanups.push(
    () => run.stop(),
    () => rmSync(tmp, { recursive: true, force: true }),
  );
  const rows: [string, string, string, string][] = [];
  try {
    run.start();
    await run.converged(30_000, { catalogue: false });
    await untilCatalogued(run, path.pop, STARTUP_MOVIES, 10_000);
    say(
      `\noverlay: ${path.nodes.join(' - ')} (${HOPS} hops, no emulated delay), ` +
        `converged after ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    say(
      '\n1. startup, SETUP -> first complete frame (PlaySession.stats().startupMs), ' +
        `${repetitions} cold and ${repetitions} warm starts`,
    );
    const startup = await measureStartup({
      run,
      nodes: path.nodes,
      popAddress: POP_CLIENT_ADDRESS,
      rtspPort: PORTS.rtsp,
      clientAddress: STARTUP_CLIENT_ADDRESS,
      movies: STARTUP_MOVIES,
      repetitions,
    });
    for (const [kind, samples, target] of [
      ['cold', startup.cold, TARGETS.coldMs],
      ['warm', startup.warm, TARGETS.warmMs],
    ] as const) {
      const xs = samples.map((x) => x.startupMs);
      const p50 = percentile(xs, 50);
      const max = Math.max(...xs);
      say(
        `   ${kind}: ${xs.map((x) => x.toFixed(1)).join(' ')} ms; ` +
          `p50 ${p50.toFixed(1)}, max ${max.toFixed(1)} ms (target < ${target} ms)`,
      );
      say(
        `         of which SETUP answered at p50 ${percentile(
          samples.map((x) => x.setupMs),
          50,
        ).toFixed(1)} ms, PLAY answered at p50 ${percentile(
          samples.map((x) => x.playMs),
          50,
        ).toFixed(1)} ms;` +
          ` waiting for the first complete frame after PLAY p50 ${percentile(
            samples.map((x) => x.startupMs - x.playMs),
            50,
          ).toFixed(1)}, max ${Math.max(...samples.map((x) => x.startupMs - x.playMs)).toFixed(1)} ms`,
      );
      rows.push([
        `startup through ${HOPS} hops, ${kind} (p50; max)`,
        `${p50.toFixed(1)}; ${max.toFixed(1)} ms`,
        `< ${target} ms`,
        max < target ? 'met' : p50 < target ? 'p50 met, max MISSED' : 'MISSED',
      ]);
    }
    if (startup.pruneMs.length > 0)
      say(
        `   (the path dropped a movie ${percentile(startup.pruneMs, 50).toFixed(0)} ms (p50) ` +
          'after its last viewer left)',
      );

    say(
      `\n2. concurrent viewers of ${MOVIE} (${FPS} fps, 320x240) over RTP/UDP; ` +
        `per step 1 s to settle, then a ${windowMs} ms window`,
    );
    const load = await BenchChild.start('rtsp load', 'rtsp/load', LOAD);
    const popPid = run.emulator.pids().get(path.pop);
    if (popPid === undefined) throw new Error('the POP is not running');
    // The server under test alone on CPU 0; the generator and the relays (a few hundred packets/s) on CPU 1.
    const pinned = pin(popPid, SERVER_CPU) && load.pin(LOAD_CPU);
    for (const [node, pid] of run.emulator.pids()) if (node !== path.pop) pin(pid, LOAD_CPU);
    say(
      pinned
        ? `   server under test pinned to CPU ${SERVER_CPU}, load generator and relays to CPU ${LOAD_CPU}`
        : '   not pinned (no taskset or a single CPU)',
    );
    const options = { steps, settleMs: 1000, windowMs, fps: FPS };
    const popUrl = `rtsp://${POP_CLIENT_ADDRESS}:${PORTS.rtsp}/${MOVIE}`;
    const pop = await measureCapacity(
      load,
      {
        label: 'onode POP',
        url: popUrl,
        pid: popPid,
        inboundSockets: path.nodes.flatMap(
          (n) => run.topology.nodes.get(n)?.addresses.map((a) => `${a}:${PORTS.overlay}`) ?? [],
        ),
      },
      { ...options, onStep: (s) => say(describeStep('onode POP      ', s)) },
    );
    let gst: CapacityResult | null = null;
    if (gstProblem === null) {
      const frames = join(tmp, 'frames');
      writeFrames(join(movies, MOVIE), frames);
      const server = await GstRtspServerProcess.start({
        script: join(root, 'bench/rtsp/gst-rtsp-server.py'),
        framesDir: frames,
        address: GST.address,
        port: GST.port,
        mount: `/${MOVIE}`,
        fps: FPS,
      });
      cleanups.push(() => server.stop());
      if (pinned) pin(server.pid, SERVER_CPU);
      gst = await measureCapacity(
        load,
        { label: 'gst-rtsp-server', url: server.url, pid: server.pid },
        { ...options, onStep: (s) => say(describeStep('gst-rtsp-server', s)) },
      );
      await server.stop();
    }
    await load.stop();
    rows.push([
      `viewers sustained, onode POP (< ${LOSS_TARGET_PCT} % loss, full rate)`,
      capacityValue(pop),
      gst === null ? '' : '>= gst-rtsp-server',
      '',
    ]);
    if (gst !== null) {
      rows.push([`viewers sustained, gst-rtsp-server (shared media)`, capacityValue(gst), '', '']);
      const popRow = rows[rows.length - 2];
      if (popRow !== undefined) popRow[3] = compareVerdict(pop, gst);
    }
  } finally {
    await run.stop();
  }

  say(`\nsummary (${((performance.now() - started) / 1000).toFixed(0)} s):`);
  printSummary(rows.map(([what, value, target, verdict]) => ({ what, value, target, verdict })));
  return 0;
}

const cleanups: (() => Promise<void> | void)[] = [];
let exiting = false;
const bail = (code: number): void => {
  if (exiting) return;
  exiting = true;
  // Children also exit by themselves when this process goes (closed IPC channel or stdin); this makes it immediate.
  stopAllChildren();
  stopGstServers();
  const finish = Promise.allSettled(cleanups.reverse().map(async (c) => c()));
  const deadline = new Promise((r) => setTimeout(r, 3000).unref());
  void Promise.race([finish, deadline]).then(() => process.exit(code));
};
process.once('SIGINT', () => bail(130));
process.once('SIGTERM', () => bail(143));

main().then(
  (code) => bail(code),
  (err: unknown) => {
    process.stderr.write(`bench-rtsp failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    bail(1);
  },
);
