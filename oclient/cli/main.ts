/** The `oclient` command: log in, pick the closest POP, play a movie over RTSP/RTP. */
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_HOLD_MS } from '../core/reorder-buffer.ts';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BootstrapUnreachable } from '../../common/net/bootstrap-connection.ts';
import { BOOTSTRAP_PORT, OVERLAY_PORT, parseHostPorts, RTSP_PORT } from '../../common/net/ports.ts';
import { loginFirst } from '../net/login.ts';
import { probePops, type PopRtt } from '../net/pop-prober.ts';
import { EveryPopRefused, playHeadless, PlayRefused, type PlayResult } from '../net/headless-player.ts';
import { checkOutputFile, checkStatsFile, FrameFile, OutputError, writeStatsFile } from '../net/output-files.ts';
import { describeRefusals } from '../core/refusal-round.ts';
import { STALL_FAILOVER_MS } from '../core/failover-policy.ts';
import { RtspClientError } from '../net/rtsp-client.ts';
import { PlaySession } from '../net/play-session.ts';
import {
  EXIT_NOT_INSTALLED,
  EXTERNAL_PLAYERS,
  PlayerNotInstalled,
  runExternalPlayer,
  type ExternalPlayer,
} from '../net/external-player.ts';
import { pickMovieOnce } from '../tui/movie-picker.ts';
import { runPlayer } from '../tui/player-app.ts';
import type { Welcome } from '../net/login.ts';
import type { ServerKeyring } from '../../common/security/server-keyring.ts';
import { keyringFromLogin } from '../core/frame-verifier.ts';
import { avByName, outputMismatch } from '../core/output-kind.ts';
import { checkAvOutput } from '../net/av-output.ts';
import { recordAv } from '../net/av-record.ts';

/** Exit codes, so scripts can tell failures apart (listed by --help and in the README). */
export const EXIT = {
  ok: 0,
  usage: 2,
  bootstrapper: 3,
  noPop: 4,
  unknownMovie: 5,
  refused: 6,
  noFrames: 7,
  everyPopRefused: 8,
  cannotWrite: 9,
  noPlayer: EXIT_NOT_INSTALLED,
} as const;

const EXIT_LIST: readonly (readonly [number, string])[] = [
  [EXIT.ok, 'played'],
  [EXIT.usage, 'usage error'],
  [EXIT.bootstrapper, 'bootstrapper unreachable'],
  [EXIT.noPop, 'no POP answered'],
  [EXIT.unknownMovie, 'unknown movie (the message lists the catalogue)'],
  [EXIT.refused, 'a POP failed (RTSP error, unreachable) and no other could play'],
  [EXIT.noFrames, 'no frames arrived'],
  [EXIT.everyPopRefused, "every POP refused the movie (one round; the message gives each POP's reason)"],
  [EXIT.cannotWrite, 'cannot write --output or --stats (checked before logging in, or failed while playing)'],
  [EXIT.noPlayer, 'the --player is not installed'],
];
const EXIT_HELP = ['', 'Exit codes:', ...EXIT_LIST.map(([code, what]) => `${String(code).padStart(5)}  ${what}`)].join(
  '\n',
);

interface Flags {
  bootstrapper: string;
  movie?: string;
  headless?: boolean;
  duration: number;
  address?: string;
  pop?: string;
  output?: string;
  stats?: string;
  rtspPort: number;
  overlayPort: number;
  transport: 'udp' | 'tcp';
  jitterBuffer: number;
  reportInterval: number;
  stallTimeout: number;
  player?: ExternalPlayer;
}

class ClientFailure extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** --stall-timeout bounds: under a few frame intervals every hiccup would fail over; over a minute is no watch. */
const MIN_STALL_TIMEOUT_MS = 100;
const MAX_STALL_TIMEOUT_MS = 60_000;

const positive =
  (what: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected ${what}, a number above 0`);
    return n;
  };
const port = (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port from 1 to 65535');
  return n;
};

const program = new Command('oclient')
  .description('overlay CDN client: logs in at the bootstrapper, picks the closest POP, plays a movie')
  .requiredOption(
    '--bootstrapper <addr>',
    "the bootstrapper's ADDRESS[:PORT], or several comma-separated: the first that answers (each gets 300 ms)",
  )
  .option('--movie <name>', 'movie to play (as in the catalogue, e.g. bars.mjpeg)')
  .option('--headless', 'no terminal UI: play for --duration, write --output and --stats')
  .option('--duration <s>', 'headless: seconds to play', positive('seconds'), 10)
  .option('--address <a>', "this host's address to connect from (needed on loopback)")
  .option(
    '--pop <addr>',
    'use this POP (client-facing address) instead of the closest; played even if it does not answer the RTT probe',
  )
  .option(
    '--output <file>',
    'headless: write what arrives here: an MJPEG movie as concatenated JPEG (FILE.mjpeg), ' +
      'an H.264 + AAC movie as FILE.mkv or FILE.mp4 (remuxed by ffmpeg, not re-encoded)',
  )
  .option('--stats <file>', "headless: write the session's statistics here as JSON")
  .addOption(
    new Option('--transport <kind>', 'RTP over UDP, or interleaved on the RTSP TCP connection')
      .choices(['udp', 'tcp'])
      .default('udp'),
  )
  .option(
    '--jitter-buffer <ms>',
    'how long a gap in the packet sequence may wait for the missing packet (asked for again every 100 ms)',
    positive('milliseconds'),
    DEFAULT_HOLD_MS,
  )
  .option(
    '--report-interval <ms>',
    'send the POP playback statistics (for its GET /viewers) every MS ms while playing; 0: never',
    (v: string): number => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected milliseconds, 0 or more');
      return n;
    },
    2000,
  )
  .option(
    '--stall-timeout <ms>',
    'leave a POP that sent no frame for MS ms while playing, for the next POP by RTT',
    (v: string): number => {
      const n = Number(v);
      if (!/^\d+$/.test(v.trim()) || n < MIN_STALL_TIMEOUT_MS || n > MAX_STALL_TIMEOUT_MS) {
        throw new InvalidArgumentError(
          `expected milliseconds from ${MIN_STALL_TIMEOUT_MS} to ${MAX_STALL_TIMEOUT_MS} (a whole number)`,
        );
      }
      return n;
    },
    STALL_FAILOVER_MS,
  )
  .option('--rtsp-port <port>', "the POPs' RTSP port", port, RTSP_PORT)
  .option('--overlay-port <port>', "the POPs' UDP port answering RTT probes", port, OVERLAY_PORT)
  .addOption(
    new Option(
      '--player <name>',
      'hand the RTSP URL to this desktop player instead of drawing in the terminal ' +
        '(plays H.264 + AAC movies with their sound)',
    )
      .choices(EXTERNAL_PLAYERS)
      .conflicts('headless'),
  )
  .addHelpText('after', EXIT_HELP)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

async function main(flags: Flags): Promise<number> {
  const b = parseHostPorts(flags.bootstrapper, BOOTSTRAP_PORT);
  if (b === null)
    throw new ClientFailure(
      `--bootstrapper ${flags.bootstrapper}: expected ADDRESS or ADDRESS:PORT, or several comma-separated`,
      EXIT.usage,
    );
  const tty = process.stdout.isTTY && process.stdin.isTTY;
  if (!flags.headless && flags.player === undefined && !tty) {
    throw new ClientFailure(
      'the terminal player needs a terminal; use --headless (with --movie and --duration) or --player ffplay|mpv|vlc',
      EXIT.usage,
    );
  }
  if (flags.player !== undefined && flags.movie === undefined && !tty) {
    throw new ClientFailure(
      '--movie NAME is required with --player when there is no terminal to pick one in',
      EXIT.usage,
    );
  }
  checkOutputs(flags);
  let welcome: Welcome;
  try {
    welcome = await loginFirst(b, flags.address);
  } catch (err) {
    throw new ClientFailure((err as Error).message, EXIT.bootstrapper);
  }
  const catalogue = welcome.catalogue.map((m) => m.name);
  if (flags.headless && flags.movie === undefined)
    throw new ClientFailure(
      `--movie NAME is required with --headless; movies: ${catalogue.join(', ') || 'none yet'}`,
      EXIT.usage,
    );
  if (flags.movie !== undefined && !catalogue.includes(flags.movie)) {
    throw new ClientFailure(
      `no movie '${flags.movie}'; ` +
        `the catalogue has: ${catalogue.join(', ') || 'nothing yet (servers still announcing?)'}`,
      EXIT.unknownMovie,
    );
  }
  const entry = welcome.catalogue.find((m) => m.name === flags.movie);
  const isAv = entry?.av !== undefined;
  const mismatch = flags.output !== undefined && entry ? outputMismatch(flags.output, entry.name, isAv) : null;
  if (mismatch !== null) throw new ClientFailure(mismatch, EXIT.usage);
  if (isAv && flags.output !== undefined && flags.headless) {
    const problem = checkAvOutput(flags.output);
    if (problem !== null) throw new ClientFailure(problem.message, EXIT.cannotWrite);
  }
  const candidates =
    flags.pop !== undefined
      ? [
          {
            name: welcome.pops.find((p) => p.addresses.includes(flags.pop ?? ''))?.name ?? flags.pop,
            address: flags.pop,
          },
        ]
      : welcome.pops.flatMap((p) => p.addresses.slice(0, 1).map((address) => ({ name: p.name, address })));
  const keys = flags.player === undefined ? serverKeyring(welcome) : null;
  const onUnknownKey = keys === null ? undefined : keyRefresher(keys, () => loginFirst(b, flags.address));
  const rtts = await probePops(candidates, flags.overlayPort, flags.address);
  const answered = rtts
    .filter((r): r is PopRtt & { rttMs: number } => r.rttMs !== null)
    .sort((x, y) => x.rttMs - y.rttMs);
  for (const r of rtts)
    process.stderr.write(
      `POP ${r.name} ${r.address}: ${r.rttMs === null ? 'no answer' : `${r.rttMs.toFixed(2)} ms`}\n`,
    );
  // A POP named with --pop is the user's choice: its RTT probe (UDP, easily late on a busy host)
  // only measures it, so RTSP decides whether it plays. Without --pop the probe picks, and must answer.
  const named = flags.pop === undefined ? undefined : rtts[0];
  if (answered.length === 0 && named !== undefined)
    process.stderr.write(`POP ${named.name}: no answer to the RTT probe; trying it anyway (--pop)\n`);
  const chosen = answered[0] ?? (named === undefined ? undefined : { ...named, rttMs: null });
  if (chosen === undefined)
    throw new ClientFailure(`no POP answered (${candidates.map((c) => c.address).join(', ')})`, EXIT.noPop);
  // Where both players fail over to, in order: the other answering POPs by RTT, then every POP listed.
  const fallbacks = [
    ...answered.slice(1),
    ...welcome.pops.flatMap((p) => p.addresses.slice(0, 1).map((address) => ({ name: p.name, address }))),
  ].filter((p) => p.address !== chosen.address);
  if (!flags.headless || flags.movie === undefined) {
    const verify = { keys, ...(onUnknownKey ? { onUnknownKey } : {}) };
    return interactive(flags, welcome, rtts, { chosen, fallbacks }, verify);
  }
  process.stderr.write(`playing ${flags.movie} from ${chosen.name} (${chosen.address})\n`);

  const nameOf = (address: string): string => welcome.pops.find((p) => p.addresses.includes(address))?.name ?? address;
  // A write that fails while playing (disk full) ends playback: TEARDOWN, then exit with cannotWrite.
  const abort = new AbortController();
  const written: { failure: OutputError | null } = { failure: null };
  const failWrite = (err: OutputError): void => {
    written.failure ??= err;
    abort.abort();
  };
  const saveStats = (stats: object): void => {
    if (flags.stats === undefined || written.failure !== null) return;
    try {
      writeStatsFile(flags.stats, stats);
    } catch (err) {
      if (!(err instanceof OutputError)) throw err;
      failWrite(err);
    }
  };
  const base = {
    movie: flags.movie,
    pop: chosen.name,
    popAddress: chosen.address,
    popRttMs: chosen.rttMs === null ? null : Math.round(chosen.rttMs * 100) / 100,
    /** Playback reports to the POP (GET /viewers there): every this many ms, 0 for none. */
    reportIntervalMs: flags.reportInterval,
  };
  const common = {
    popAddress: chosen.address,
    rtspPort: flags.rtspPort,
    movie: flags.movie,
    durationMs: flags.duration * 1000,
    stallTimeoutMs: flags.stallTimeout,
    overlayPort: flags.overlayPort,
    ...fpsOf(welcome, flags.movie),
    ...(flags.address ? { localAddress: flags.address } : {}),
    transport: flags.transport,
    jitterBufferMs: flags.jitterBuffer,
    keys,
    ...(onUnknownKey ? { onUnknownKey } : {}),
    // If the POP dies, go on with the next closest (then any other POP the bootstrapper listed).
    fallbacks: fallbacks.map((p) => p.address),
    answered: answered.map((p) => p.address),
    onFailover: (from: string, to: string, why: string) =>
      process.stderr.write(`POP ${nameOf(from)}: ${why}; switching to ${nameOf(to)}\n`),
  };
  const popList = rtts.map((r) => ({
    name: r.name,
    address: r.address,
    rttMs: r.rttMs === null ? null : Math.round(r.rttMs * 100) / 100,
  }));
  if (isAv) {
    let firstUnitAt: number | null = null;
    const recorded = await recordAv({
      ...common,
      ...(flags.output !== undefined ? { output: flags.output } : {}),
      reportIntervalMs: flags.reportInterval,
      abort,
      onWritten: () => {
        firstUnitAt ??= Date.now();
      },
      onProgress: (live) => saveStats({ ...base, live: true, ...live, pop: nameOf(live.pop), popAddress: live.pop }),
    }).catch((err: unknown) => {
      throw playFailure(err, nameOf);
    });
    const r = recorded.result;
    const stats = {
      ...base,
      pops: popList,
      durationS: flags.duration,
      ...r,
      unitsWritten: recorded.unitsWritten,
      firstFrameAt: firstUnitAt,
      popsUsed: r.popsUsed.map(nameOf),
      failoverLog: r.failoverLog.map((f) => ({ ...f, from: nameOf(f.from), to: nameOf(f.to) })),
    };
    saveStats(stats);
    process.stdout.write(`${JSON.stringify(stats)}\n`);
    if (r.framesReceived === 0) return EXIT.noFrames;
    const failure = written.failure ?? recorded.failure;
    if (failure !== null) throw new ClientFailure(failure.message, EXIT.cannotWrite);
    return EXIT.ok;
  }
  const out = flags.output ? new FrameFile(flags.output) : null;
  out?.events.on('error', failWrite);
  // Wall-clock time of the first frame, so that runs can be timed from outside (bench:emulators).
  let firstFrameAt: number | null = null;
  let result: PlayResult;
  try {
    result = await playHeadless({
      ...common,
      reportIntervalMs: flags.reportInterval,
      signal: abort.signal,
      onFrame: (jpeg: Buffer) => {
        firstFrameAt ??= Date.now();
        out?.write(jpeg);
      },
      onProgress: (live) => saveStats({ ...base, live: true, ...live, pop: nameOf(live.pop), popAddress: live.pop }),
    });
  } catch (err) {
    throw playFailure(err, nameOf);
  } finally {
    const closed = await out?.close();
    if (closed) written.failure ??= closed;
  }
  const stats = {
    ...base,
    pops: popList,
    durationS: flags.duration,
    ...result,
    firstFrameAt,
    popsUsed: result.popsUsed.map(nameOf),
    failoverLog: result.failoverLog.map((f) => ({ ...f, from: nameOf(f.from), to: nameOf(f.to) })),
  };
  saveStats(stats);
  process.stdout.write(`${JSON.stringify(stats)}\n`);
  if (written.failure !== null) throw new ClientFailure(written.failure.message, EXIT.cannotWrite);
  return result.framesReceived > 0 ? EXIT.ok : EXIT.noFrames;
}

/** The terminal player, or the desktop player given by --player. */
async function interactive(
  flags: Flags,
  welcome: Welcome,
  rtts: readonly PopRtt[],
  pops: {
    readonly chosen: PopRtt;
    readonly fallbacks: readonly { name: string; address: string }[];
  },
  verify: { readonly keys: ServerKeyring | null; readonly onUnknownKey?: () => void },
): Promise<number> {
  if (welcome.catalogue.length === 0)
    throw new ClientFailure('the catalogue is empty (servers still announcing?)', EXIT.unknownMovie);
  if (flags.player !== undefined) {
    const movie = flags.movie ?? (await pickMovieOnce(welcome.catalogue));
    if (movie === null) return EXIT.ok;
    const url = new PlaySession({ popAddress: pops.chosen.address, rtspPort: flags.rtspPort, movie }).rtspUrl;
    process.stderr.write(`playing ${url} with ${flags.player} (it does not check frame signatures; the POP does)\n`);
    try {
      return await runExternalPlayer(flags.player, url, flags.transport);
    } catch (err) {
      if (err instanceof PlayerNotInstalled) throw new ClientFailure(err.message, EXIT.noPlayer);
      throw err;
    }
  }
  const outcome = await runPlayer({
    catalogue: welcome.catalogue,
    rtts,
    pop: pops.chosen,
    fallbacks: pops.fallbacks,
    popChosenBy: flags.pop !== undefined ? 'flag' : 'rtt',
    movie: flags.movie ?? null,
    rtspPort: flags.rtspPort,
    ...(flags.address ? { localAddress: flags.address } : {}),
    transport: flags.transport,
    jitterBufferMs: flags.jitterBuffer,
    reportIntervalMs: flags.reportInterval,
    stallTimeoutMs: flags.stallTimeout,
    overlayPort: flags.overlayPort,
    ...verify,
  });
  switch (outcome.kind) {
    case 'quit':
      return EXIT.ok;
    case 'signal':
      // Dying by the signal tells the parent what happened (and skips Node's exit-time terminal
      // reset, which aborts when the terminal is already gone).
      process.kill(process.pid, outcome.signal);
      return 128 + (constants.signals[outcome.signal] ?? 0);
    case 'unknown-movie':
      throw new ClientFailure(outcome.message, EXIT.unknownMovie);
    case 'refused':
      throw new ClientFailure(outcome.message, EXIT.refused);
    case 'every-pop-refused':
      throw new ClientFailure(outcome.message, EXIT.everyPopRefused);
    case 'error':
      throw new Error(outcome.message);
  }
}

/** What a playback's failure means for the user, as a ClientFailure with its exit code. */
function playFailure(err: unknown, nameOf: (address: string) => string): unknown {
  if (err instanceof EveryPopRefused) {
    return new ClientFailure(describeRefusals(err.movie, err.refusals, nameOf), EXIT.everyPopRefused);
  }
  if (err instanceof PlayRefused) {
    return new ClientFailure(err.message, err.nakReason === 'unknown-movie' ? EXIT.unknownMovie : EXIT.refused);
  }
  if (err instanceof RtspClientError) return new ClientFailure(err.message, EXIT.refused);
  return err;
}

/** The movie's frame rate from the catalogue, when it names one. */
function fpsOf(welcome: Welcome, movie: string): { fps?: number } {
  const fps = welcome.catalogue.find((m) => m.name === movie)?.fps;
  return fps !== undefined && fps > 0 ? { fps } : {};
}

/** --output and --stats must be writable before the client logs in: a typo fails at once, not mid-playback. */
function checkOutputs(flags: Flags): void {
  if (flags.output !== undefined && flags.stats !== undefined && resolve(flags.output) === resolve(flags.stats)) {
    throw new ClientFailure(`--output and --stats name the same file (${flags.output}); give each its own`, EXIT.usage);
  }
  const av = flags.movie === undefined ? undefined : avByName(flags.movie);
  if (flags.output !== undefined && flags.movie !== undefined && av !== undefined) {
    const mismatch = outputMismatch(flags.output, flags.movie, av);
    if (mismatch !== null) throw new ClientFailure(mismatch, EXIT.usage);
  }
  const avOutput = flags.output !== undefined && av === true ? checkAvOutput(flags.output) : null;
  const problem =
    avOutput ??
    (flags.output !== undefined ? checkOutputFile(flags.output) : null) ??
    (flags.stats !== undefined ? checkStatsFile(flags.stats) : null);
  if (problem !== null) throw new ClientFailure(problem.message, EXIT.cannotWrite);
}

/**
 * The servers' keys from the login, to check every frame against; null, said on stderr, when the
 * bootstrapper sent none (an older one): frames are then shown and written unchecked.
 */
function serverKeyring(welcome: Welcome): ServerKeyring | null {
  const { keyring, invalid } = keyringFromLogin(welcome.serverKeys);
  for (const server of invalid) {
    process.stderr.write(`oclient: warning: the key for ${server} is not an Ed25519 key: its frames are refused\n`);
  }
  if (keyring.list().length > 0) return keyring;
  process.stderr.write('oclient: warning: the bootstrapper sent no server keys: frames are shown UNCHECKED\n');
  return null;
}

/** Asking the bootstrapper for the servers' keys again at most this often, at first. */
const KEY_REFRESH_MS = 2000;
/** The longest wait between refreshes: each one that brings no new key doubles the wait up to it. */
const MAX_KEY_REFRESH_MS = 60_000;

/**
 * Fetches the servers' keys again (a new login) when a frame names a key the client lacks, as
 * after a server restarts with a new key. Refreshes that bring nothing new back off (doubling
 * the wait up to MAX_KEY_REFRESH_MS), so frames that name keys nobody has cannot keep the
 * bootstrapper busy. Failures are silent: the frames stay rejected and a later one tries again.
 */
function keyRefresher(keys: ServerKeyring, again: () => Promise<Welcome>): () => void {
  let last = -Infinity;
  let wait = KEY_REFRESH_MS;
  return () => {
    const now = performance.now();
    if (now - last < wait) return;
    last = now;
    again()
      .then((w) => {
        const changed = w.serverKeys.some((k) => keys.get(k.server)?.raw.toString('base64') !== k.key);
        for (const k of w.serverKeys) keys.set(k.server, Buffer.from(k.key, 'base64'));
        wait = changed ? KEY_REFRESH_MS : Math.min(wait * 2, MAX_KEY_REFRESH_MS);
      })
      .catch(() => {
        wait = Math.min(wait * 2, MAX_KEY_REFRESH_MS);
      });
  };
}

try {
  program.parse(process.argv);
  process.exitCode = await main(program.opts<Flags>());
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 1 ? EXIT.usage : err.exitCode);
  if (err instanceof ClientFailure) {
    process.stderr.write(`oclient: ${err.message}\n`);
    process.exitCode = err.code;
  } else if (err instanceof BootstrapUnreachable) {
    process.stderr.write(`oclient: ${err.message}\n`);
    process.exitCode = EXIT.bootstrapper;
  } else {
    process.stderr.write(`oclient: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
