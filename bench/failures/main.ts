/**
 * Failure benchmark (issue 5): for each failure kind, the time from the failure to the next frame
 * at the client and the frames lost, against the targets; and the idle control traffic per link.
 *
 *   real processes, the mesh topology made lossless, a viewer with a 500 ms jitter buffer:
 *     kill -9 of the relay feeding the viewer's POP; a cut of the POP's uplink (both ends);
 *     kill -9 of the POP (the client fails over); SIGSTOP of the POP (a stall: the client's watch
 *     moves it); kill -9 of the stream's server (another has it);
 *     kill -9 of the first of two bootstrappers (logins answered again by the second)
 *   simulator: a link on the viewer's path stops carrying anything (mesh and a 50-node overlay)
 *   idle control traffic per directed overlay link: simulator (60 virtual s) and real (counters)
 *
 * Binds only to 127.0.0.0/8: bootstrap 47000, overlay 44444, status 47080, RTSP 48554 (run k of
 * the benchmark adds k to each). Every process stops on exit, on errors and on Ctrl-C.
 *
 *   npm run build && node dist/bench/failures/main.js [--trials 3] [--idle-seconds 20] [--skip-emulated]
 */
import { printSummary, type SummaryRow, say, verdict } from '../common/report.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTopologyFile } from '../../onode/config/topology.ts';
import { loadMovieLibrary } from '../../onode/media/movie-library.ts';
import {
  type EmulatedSetup,
  type EmulatedTrial,
  FAILURE_KINDS,
  type FailureKind,
  failureTrial,
  faultsSupported,
  type IdleTraffic,
  liveRuns,
  measureIdleTraffic,
  withRun,
} from './emulated.ts';
import { FrameIndex } from './frames.ts';
import { type BootstrapperTrial, bootstrapperTrial, twoBootstrapperTopology } from './bootstrapper.ts';
import {
  randomSim,
  type SimIdleTraffic,
  simIdleTraffic,
  type SimLinkTrial,
  simLinkFailure,
  simOfTopology,
} from './sim.ts';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { DIST, ROOT } from '../../scripts/repository-root.ts';

const root = ROOT;
const dist = DIST;

const MOVIE = 'bars.mjpeg';
/** 6 s of movie at 25 fps: frame numbers stay unambiguous across any interruption shorter than that. */
const MOVIE_FRAMES = 150;
const FPS = 25;
const TARGETS = {
  repairMs: 300,
  popMs: 1000,
  stallMs: 1500,
  serverMs: 500,
  idleKbps: 2,
  bootstrapperMs: 1000,
} as const;
const BEFORE_MS = 2000;
const AFTER_MS = 3000;

const ms = (x: number | null): string => (x === null || !Number.isFinite(x) ? 'none' : `${Math.round(x)} ms`);
const kbps = (x: number): string => `${x.toFixed(2)} kbit/s`;

const max = (xs: readonly number[]): number => Math.max(...xs);
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function describeTrial(o: { outcome: EmulatedTrial['outcome'] }): string {
  const x = o.outcome;
  const lost =
    (x.newChannel ? `new channel, ${x.framesSkipped} frame periods without a frame` : `${x.framesLost} frames lost`) +
    `, ${x.framesRepeated} repeated`;
  return (
    `next frame ${ms(x.nextFrameMs)}, interruption ${ms(x.interruptionMs)}, on schedule ${ms(x.backOnScheduleMs)}` +
    `${x.maxLateMs === null ? '' : `, max late ${ms(x.maxLateMs)}`}, ${lost}` +
    `${x.unknownFrames > 0 ? `, ${x.unknownFrames} unrecognised frames` : ''}`
  );
}

/** A few numbers as a list; many as "all 0" or "max, total". */
function listOrSummary(xs: readonly number[]): string {
  if (xs.length <= 6) return xs.join(', ');
  if (xs.every((x) => x === xs[0])) return `${xs[0]} in all`;
  return `max ${max(xs)}, total ${xs.reduce((a, b) => a + b, 0)}`;
}

/** Summary of one failure kind over its trials (real or simulated). */
function kindRows(label: string, outcomes: readonly EmulatedTrial['outcome'][], kind: FailureKind): SummaryRow[] {
  if (outcomes.length === 0) return [{ what: label, value: 'not measured', target: '', verdict: '' }];
  const next = outcomes.map((o) => o.nextFrameMs ?? Infinity);
  const gaps = outcomes.map((o) => o.interruptionMs);
  const lost = outcomes.map((o) => o.framesLost);
  const n = `${outcomes.length}×`;
  if (kind === 'relay' || kind === 'link') {
    return [
      {
        what: `${label}: frames lost (${n}, 500 ms buffer)`,
        value: listOrSummary(lost),
        target: '0',
        verdict: verdict(max(lost) === 0),
      },
      {
        what: `${label}: failure → next frame, max (median)`,
        value: `${ms(max(next))} (${ms(median(next))})`,
        target: `< ${TARGETS.repairMs} ms`,
        verdict: verdict(max(next) < TARGETS.repairMs),
      },
      { what: `${label}: longest gap between frames, max`, value: ms(max(gaps)), target: '', verdict: '' },
    ];
  }
  const target = kind === 'pop' ? TARGETS.popMs : kind === 'stall' ? TARGETS.stallMs : TARGETS.serverMs;
  const skipped = outcomes.map((o) => (o.newChannel ? o.framesSkipped : o.framesLost));
  const repeated = outcomes.map((o) => o.framesRepeated);
  const lostText = listOrSummary(skipped) + (outcomes.some((o) => o.newChannel) ? '*' : '');
  return [
    {
      what: `${label}: failure → next frame, max (median)`,
      value: `${ms(max(next))} (${ms(median(next))})`,
      target: `< ${target} ms`,
      verdict: verdict(max(next) < target),
    },
    { what: `${label}: longest gap between frames, max`, value: ms(max(gaps)), target: '', verdict: '' },
    kind === 'server'
      ? { what: `${label}: frames skipped (${n})`, value: lostText, target: '0', verdict: verdict(max(skipped) === 0) }
      : { what: `${label}: frames skipped (${n})`, value: lostText, target: '', verdict: '' },
    {
      what: `${label}: frames repeated (${n})`,
      value: listOrSummary(repeated),
      target: '0',
      verdict: verdict(max(repeated) === 0),
    },
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '3' },
      'idle-seconds': { type: 'string', default: '20' },
      'skip-emulated': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    say('usage: node dist/bench/failures/main.js [--trials N] [--idle-seconds S] [--skip-emulated]');
    say('  --trials N        failures of each kind with real processes (default 3)');
    say('  --idle-seconds S  how long to count idle control traffic with real processes (default 20)');
    say('  --skip-emulated   only the simulator');
    return 0;
  }
  const trials = Number(values.trials);
  const idleSeconds = Number(values['idle-seconds']);
  if (!Number.isInteger(trials) || trials < 1 || trials > 20) throw new RangeError('--trials must be 1..20');
  if (!Number.isFinite(idleSeconds) || idleSeconds < 1 || idleSeconds > 600)
    throw new RangeError('--idle-seconds must be 1..600');
  const started = performance.now();
  say(`failure benchmark: ${cpus().length} CPUs, Node ${process.version}; load average ${loadavg()[0]?.toFixed(2)}`);

  const work = mkdtempSync(join(tmpdir(), 'onode-bench-failures-'));
  try {
    makeSampleMovies(work, { frames: MOVIE_FRAMES });
    const topologyFile = join(work, 'mesh-lossless.json5');
    // The mesh without its lossy link, so a frame lost here is the failure's, not the link's.
    writeFileSync(
      topologyFile,
      readFileSync(join(root, 'topologies/mesh.json5'), 'utf8').replace(/lossPct: \d+/g, 'lossPct: 0'),
    );
    const index = FrameIndex.ofMovieFile(join(work, MOVIE));
    const library = loadMovieLibrary(work, { fps: FPS });
    const movie = library.movies.find((m) => m.name === MOVIE);
    if (movie === undefined)
      throw new Error(`${MOVIE} did not load: ${library.skipped.map((s) => s.reason).join('; ')}`);
    const rows: SummaryRow[] = [];

    // --- simulator ---
    say(
      "\nsimulator: a link on the viewer's path stops carrying anything " +
        '(500 ms client buffer, NACKs answered by the POP)',
    );
    const mesh = loadTopologyFile(topologyFile);
    const meshServers = [...mesh.nodes.values()].filter((n) => n.role === 'server').map((n) => n.name);
    const simTrials: SimLinkTrial[] = [];
    // Every link on each mesh POP's path, at three phases of the hello timers.
    for (const pop of ['p1', 'p2', 'p3']) {
      for (const hop of [0, 1, 2, 3]) {
        for (const phaseMs of [0, 37, 71]) {
          const t = simLinkFailure(simOfTopology(mesh, library.movies), 'mesh', pop, movie, index, {
            servers: meshServers,
            hop,
            phaseMs,
            beforeMs: BEFORE_MS,
            afterMs: AFTER_MS,
          });
          if (t !== null) simTrials.push(t);
        }
      }
    }
    // The 50-node overlay: the first two links above each of its POPs (links that cut a POP off are skipped).
    for (const pop of randomSim(library.movies).pops) {
      for (const hop of [0, 1]) {
        const sim = randomSim(library.movies);
        const t = simLinkFailure(sim.net, '50-node', pop, movie, index, {
          servers: sim.servers,
          hop,
          phaseMs: 0,
          beforeMs: BEFORE_MS,
          afterMs: AFTER_MS,
        });
        if (t !== null) simTrials.push(t);
      }
    }
    for (const t of simTrials)
      say(
        `  ${t.network} ${t.pop}, link ${t.link} (hop ${t.hop}): first rejoin ${ms(t.rejoinMs)}, ${describeTrial(t)}`,
      );
    const rejoins = simTrials.flatMap((t) => (t.rejoinMs === null ? [] : [t.rejoinMs]));
    if (rejoins.length > 0) {
      const repairs = simTrials.flatMap((t) =>
        t.rejoinMs === null || t.outcome.nextFrameMs === null ? [] : [t.outcome.nextFrameMs - t.rejoinMs],
      );
      say(
        `  failure → first rejoin (detection): median ${ms(median(rejoins))}, max ${ms(max(rejoins))}; ` +
          `rejoin → next frame: median ${ms(median(repairs))}, max ${ms(max(repairs))}`,
      );
    }
    rows.push(
      ...kindRows(
        'link failure, simulated',
        simTrials.map((t) => t.outcome),
        'link',
      ),
    );

    say('\nsimulator: idle control traffic per directed overlay link, no viewer, 60 virtual s');
    const idleSims: SimIdleTraffic[] = [
      simIdleTraffic(simOfTopology(mesh, library.movies), 'mesh (11 nodes)', 60),
      simIdleTraffic(randomSim(library.movies).net, '50-node overlay', 60),
    ];
    for (const s of idleSims) {
      const types = Object.entries(s.byType)
        .sort((a, b) => b[1].share - a[1].share)
        .map(
          ([t, x]) =>
            `${t} ${Math.round(x.share * 100)} % ` +
            `(${Math.round(x.meanBytes)} B payload, ${x.perLinkPerS.toFixed(2)}/s per link)`,
        )
        .join(', ');
      say(
        `  ${s.network}, ${s.directedLinks} directed links: ` +
          `payload mean ${kbps(s.payloadMeanKbps)}, max ${kbps(s.payloadMaxKbps)}; ` +
          `with IP/UDP headers mean ${kbps(s.wireMeanKbps)}, max ${kbps(s.wireMaxKbps)} (${s.maxLink}); ` +
          `controlBytes estimate mean ${kbps(s.estimateMeanKbps)}`,
      );
      say(`    wire bytes: ${types}`);
      rows.push({
        what: `idle control traffic per link, simulated ${s.network}, max (mean)`,
        value: `${kbps(s.wireMaxKbps)} (${s.wireMeanKbps.toFixed(2)})`,
        target: `< ${TARGETS.idleKbps} kbit/s`,
        verdict: verdict(s.wireMaxKbps < TARGETS.idleKbps),
      });
    }

    // --- real processes ---
    if (!values['skip-emulated']) {
      const setup: EmulatedSetup = {
        topologyFile,
        dist,
        moviesDir: work,
        movie: MOVIE,
        index,
        fps: FPS,
        basePorts: { bootstrap: 47000, overlay: 44444, status: 47080, rtsp: 48554 },
        beforeMs: BEFORE_MS,
        afterMs: AFTER_MS,
      };
      const results: EmulatedTrial[] = [];
      let idle: IdleTraffic | null = null;
      let linkCuts = true;
      let k = 0;
      say(
        `\nreal processes: the mesh made lossless, ${trials} failure(s) of each kind, ` +
          'a viewer with a 500 ms jitter buffer',
      );
      for (let t = 0; t < trials; t++) {
        for (const kind of FAILURE_KINDS) {
          if (kind === 'link' && !linkCuts) continue;
          const trial = await withRun(setup, k++, async (run) => {
            if (idle === null) {
              await new Promise((r) => setTimeout(r, 1000));
              say(`  idle: counting every node's transport counters for ${idleSeconds} s, no viewer`);
              idle = await measureIdleTraffic(run, idleSeconds);
            }
            if (kind === 'link' && !(await faultsSupported(run))) {
              linkCuts = false;
              say('  link: these nodes do not accept POST /faults; link cuts measured in the simulator only');
              return null;
            }
            return failureTrial(setup, run, kind);
          });
          if (trial === null) continue;
          results.push(trial);
          say(
            `  ${kind.padEnd(6)} ${trial.target.padEnd(6)} ${describeTrial(trial)}; ` +
              `assembler lost ${trial.assemblerLost}, NACKs ${trial.nacksSent}, ` +
              `failovers ${trial.failovers}${trial.failovers > 0 ? ` (${trial.popsUsed.join(' → ')})` : ''}, ` +
              `played ${ms(trial.playedAfterMs)} after`,
          );
        }
      }
      say('\nreal processes: kill -9 of the first of two bootstrappers (s2, then s1); a client given both logs in');
      const bootSetup = { ...setup, topologyFile: twoBootstrapperTopology(topologyFile) };
      const boots: BootstrapperTrial[] = [];
      for (let t = 0; t < trials; t++) {
        const b = await withRun(bootSetup, k++, (run) => bootstrapperTrial(run));
        boots.push(b);
        say(`  logins answered again ${ms(b.loginMs)} after the kill; r3 saw s2 dead ${ms(b.neighbourMs)} after`);
      }
      const logins = boots.map((b) => b.loginMs ?? Number.POSITIVE_INFINITY);
      rows.push({
        what: 'bootstrapper kill -9, real: logins answered again, max',
        value: ms(max(logins)),
        target: `< ${TARGETS.bootstrapperMs} ms`,
        verdict: verdict(max(logins) < TARGETS.bootstrapperMs),
      });
      const labels: Record<FailureKind, string> = {
        relay: 'relay kill -9',
        link: 'link cut',
        pop: 'POP kill -9',
        stall: 'POP SIGSTOP',
        server: 'server kill -9',
      };
      for (const kind of FAILURE_KINDS)
        rows.push(
          ...kindRows(
            `${labels[kind]}, real`,
            results.filter((r) => r.kind === kind).map((r) => r.outcome),
            kind,
          ),
        );
      const idleNow = idle as IdleTraffic | null;
      if (idleNow !== null) {
        const per = idleNow.perNode;
        say(
          `  idle, per node over ${idleNow.seconds.toFixed(1)} s, sent per neighbour (with IP/UDP headers): ` +
            per.map((p) => `${p.name} ${p.wireKbps.toFixed(2)}`).join(', ') +
            ' kbit/s',
        );
        const worst = per.reduce((a, b) => (b.wireKbps > a.wireKbps ? b : a));
        const mean = per.reduce((s, p) => s + p.wireKbps, 0) / per.length;
        say(
          `  payload only: max ${kbps(max(per.map((p) => p.payloadKbps)))}; ` +
            `datagrams per link per second: max ${max(per.map((p) => p.datagramsPerS)).toFixed(1)}`,
        );
        rows.push({
          what: 'idle control traffic per link, real mesh, max node (mean)',
          value: `${kbps(worst.wireKbps)} (${mean.toFixed(2)}), ${worst.name}`,
          target: `< ${TARGETS.idleKbps} kbit/s`,
          verdict: verdict(worst.wireKbps < TARGETS.idleKbps),
        });
      }
    }

    say(
      `\nsummary (${((performance.now() - started) / 1000).toFixed(0)} s; ` +
        "* = frame periods without a frame: the stream came from another server's channel):",
    );
    printSummary(rows);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function stopAll(): Promise<void> {
  await Promise.all([...liveRuns].map((r) => r.stop().catch(() => undefined)));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().finally(() => process.exit(130));
  });
}

main().then(
  async (code) => {
    await stopAll();
    process.exitCode = code;
  },
  async (err: unknown) => {
    await stopAll();
    process.stderr.write(`bench-failures: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
