/** `onode server|node|pop`: one overlay process, running until SIGINT/SIGTERM (or its parent goes). */
import { StartAbortedError } from '../../common/core/lifecycle.ts';
import { existsSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { createLogger, type LogLevel } from '../../common/net/logger.ts';
import { BOOTSTRAP_PORT, OVERLAY_PORT, RTSP_PORT, STATUS_PORT } from '../../common/net/ports.ts';
import type { NodeRole, Topology } from '../config/topology.ts';
import { DEFAULT_OVERLAY, type OverlayOptions } from '../core/overlay-node.ts';
import { IDLE_TIMEOUT_MS } from '../core/rtsp-connections.ts';
import { DEFAULT_FPS, loadMovieLibrary, type MovieLibrary } from '../media/movie-library.ts';
import { NodeProcess } from '../net/node-process.ts';
import { bootstrapperNames, hostPorts, intIn, ipv4, numberIn } from './options.ts';
import { loadSecret } from '../config/overlay-secret.ts';
import { SECRET_HELP } from './secret-option.ts';

interface NodeFlags {
  topology?: string;
  bootstrapper?: { host: string; port: number }[] | string;
  address?: string;
  movies?: string;
  fps: number;
  loopback?: boolean;
  emulateLinks?: boolean;
  bootstrapPort: number;
  overlayPort: number;
  statusPort: number;
  rtspPort: number;
  rtspIdleTimeout: number;
  probeInterval: number;
  helloInterval: number;
  wait: number;
  logLevel: LogLevel;
  exitWithStdin?: boolean;
  secret?: string;
}

export function addNodeCommands(program: Command): void {
  const server = program
    .command('server')
    .description('a server: streams its movies; with --topology it is also the bootstrapper')
    .option(
      '--topology <file>',
      'topology file (JSON5 or the legacy JSON); makes this server the bootstrapper (one of them, if it lists several)',
    )
    .option(
      '--bootstrapper <addr|name>',
      "with --topology: which servers are the bootstrappers, NAME[,NAME...] (default: the file's, else the first " +
        "server); without: the bootstrapper's ADDRESS[:PORT], or several comma-separated (registers with each)",
    )
    .option('--movies <dir>', 'directory of .mjpeg movies (default: ./movies if it exists)')
    .option('--fps <n>', 'frame rate movies play at', numberIn(1, 120, 'frames per second'), DEFAULT_FPS)
    .option(
      '--loopback',
      'with --topology: run on one machine, A.B.C.D becomes 127.B.C.D and nodes apply link delay and loss',
    )
    .option(
      '--emulate-links',
      'with --topology: tell nodes to apply link delay and loss themselves (emulators without netem)',
    );
  addCommon(server).action((flags: NodeFlags) => run('server', flags));
  for (const role of ['node', 'pop'] as const) {
    const cmd = program
      .command(role)
      .description(
        role === 'node'
          ? 'an intermediate overlay node (relay)'
          : 'a point of presence: relays and serves clients over RTSP',
      )
      .requiredOption(
        '--bootstrapper <addr>',
        "the bootstrapper's ADDRESS[:PORT], or several comma-separated: the node registers with each",
        hostPorts(BOOTSTRAP_PORT),
      );
    addCommon(cmd).action((flags: NodeFlags) => run(role, flags));
  }
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('--secret <file>', SECRET_HELP)
    .option('--address <a>', "this host's address to register from (needed on loopback)", ipv4)
    .option('--bootstrap-port <port>', 'bootstrapper TCP port', intIn(1, 65535, 'a port'), BOOTSTRAP_PORT)
    .option('--overlay-port <port>', 'overlay UDP port', intIn(1, 65535, 'a port'), OVERLAY_PORT)
    .option('--status-port <port>', 'HTTP port of GET /status', intIn(1, 65535, 'a port'), STATUS_PORT)
    .option('--rtsp-port <port>', 'RTSP port (POPs)', intIn(1, 65535, 'a port'), RTSP_PORT)
    .option(
      '--rtsp-idle-timeout <s>',
      'POPs: close an RTSP connection that holds no session after this long without a request',
      intIn(1, 3600, 'seconds'),
      IDLE_TIMEOUT_MS / 1000,
    )
    .option(
      '--probe-interval <ms>',
      'how often routes are re-evaluated from measured link RTTs (changes are told at once)',
      intIn(50, 600_000, 'milliseconds'),
      DEFAULT_OVERLAY.routing.intervalMs,
    )
    .option(
      '--hello-interval <ms>',
      'hello (liveness and RTT) interval per link',
      intIn(10, 60_000, 'milliseconds'),
      DEFAULT_OVERLAY.links.helloIntervalMs,
    )
    .option('--wait <s>', 'how long to keep trying to reach the bootstrapper at start', intIn(1, 3600, 'seconds'), 60)
    .addOption(
      new Option('--log-level <level>', 'log detail').choices(['debug', 'info', 'warn', 'error']).default('info'),
    )
    .addOption(
      new Option(
        '--exit-with-stdin',
        'exit when stdin closes (used by onode emulate, so no process outlives it)',
      ).hideHelp(),
    );
}

async function run(role: NodeRole, flags: NodeFlags): Promise<void> {
  let topology: Topology | undefined;
  let bootstrapper: { host: string; port: number }[] | undefined;
  let address = flags.address;
  if (role === 'server' && flags.topology !== undefined) {
    const name = typeof flags.bootstrapper === 'string' ? flags.bootstrapper : undefined;
    if (flags.bootstrapper !== undefined && name === undefined)
      fail('with --topology, --bootstrapper takes a server NAME from the file');
    // Only the bootstrapper reads a topology: the loader (JSON5, schemas) stays out of other nodes' memory.
    const { loadTopologyFile, loopbackTopology } = await import('../config/topology.ts');
    const loaded = loadTopologyFile(
      flags.topology,
      name !== undefined ? { bootstrapper: bootstrapperNames(name) } : {},
    );
    topology = flags.loopback ? loopbackTopology(loaded) : loaded;
    for (const w of topology.warnings) process.stderr.write(`warning: ${w}\n`);
    if (flags.loopback && address === undefined) address = topology.nodes.get(topology.bootstrapper)?.addresses[0];
  } else if (role === 'server') {
    if (typeof flags.bootstrapper !== 'string')
      fail('a server needs --topology FILE (it is the bootstrapper) or --bootstrapper ADDRESS');
    bootstrapper = hostPorts(flags.bootstrapPort)(flags.bootstrapper);
    if (flags.loopback) fail('--loopback goes with --topology (the bootstrapper tells the others)');
  } else {
    bootstrapper = flags.bootstrapper as { host: string; port: number }[];
  }
  // --bootstrap-port applies to the addresses given without a port.
  bootstrapper = bootstrapper?.map((b) =>
    b.port === BOOTSTRAP_PORT && flags.bootstrapPort !== BOOTSTRAP_PORT
      ? { host: b.host, port: flags.bootstrapPort }
      : b,
  );
  const secret = loadSecret(flags.secret);
  const name = `onode-${role}${address ? `@${address}` : ''}`;
  const log = createLogger(name, flags.logLevel);
  let movies: MovieLibrary | undefined;
  if (role === 'server') {
    const dir = flags.movies ?? (existsSync('movies') ? 'movies' : undefined);
    if (dir === undefined) {
      log.warn('no --movies DIR and no ./movies: this server has no movies (make samples with: npm run movies)');
    } else {
      // Loaded by servers only: the H.264 demuxer (mp4box) would cost every relay memory.
      const { withAvMovies } = await import('../media/av-library.ts');
      movies = await withAvMovies(loadMovieLibrary(dir, { fps: flags.fps }), dir);
      // Each reason names its file (quoted where the name could hold control characters).
      for (const s of movies.skipped) log.warn(`skipped movie file ${s.reason}`);
      const names = movies.catalogue.map((m) => m.name);
      const shown =
        names.length > 10 ? `${names.slice(0, 10).join(', ')}, … (${names.length - 10} more)` : names.join(', ');
      log.info(`${names.length} movie(s) from ${dir}: ${shown}`);
    }
  }
  const overlay: OverlayOptions = {
    ...DEFAULT_OVERLAY,
    links: { ...DEFAULT_OVERLAY.links, helloIntervalMs: flags.helloInterval },
    // Seconds since 1970: a restarted server's announcements are newer than its last run's.
    routing: { intervalMs: flags.probeInterval, firstSeq: Math.floor(Date.now() / 1000) },
  };
  const proc = new NodeProcess({
    role,
    ...(bootstrapper ? { bootstrapper } : {}),
    ...(topology ? { topology } : {}),
    emulateLinks: Boolean(flags.loopback || flags.emulateLinks),
    ...(address ? { address } : {}),
    ...(movies ? { movies } : {}),
    ports: {
      bootstrap: flags.bootstrapPort,
      overlay: flags.overlayPort,
      status: flags.statusPort,
      rtsp: flags.rtspPort,
    },
    overlay,
    waitMs: flags.wait * 1000,
    secret,
    rtspIdleTimeoutMs: flags.rtspIdleTimeout * 1000,
    log,
  });
  let stopping = false;
  const shutdown = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log.info(`stopping (${why})`);
    const force = setTimeout(() => process.exit(0), 2000);
    force.unref();
    proc.stop().finally(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  if (flags.exitWithStdin) {
    process.stdin.on('end', () => shutdown('parent gone'));
    process.stdin.on('error', () => shutdown('parent gone'));
    process.stdin.resume();
  }
  try {
    await proc.start();
  } catch (err) {
    // Stopped while starting (a signal, or the parent gone): shutdown() ends the process cleanly.
    if (stopping && err instanceof StartAbortedError) return;
    throw err;
  }
}

function fail(msg: string): never {
  throw new UsageError(msg);
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}
