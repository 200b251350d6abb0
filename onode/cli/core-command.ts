/**
 * `onode core FILE > scenario.xml`: a scenario stock CORE 9.2 loads and starts (core-cli or the
 * GUI); with --run, that scenario in a real CORE session, end to end (see core-runner.ts).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { generateSecret } from '../../common/security/overlay-keys.ts';
import { loadSecret } from '../config/overlay-secret.ts';
import { loadTopologyFile, type Topology } from '../config/topology.ts';
import { CoreUnavailable } from '../emulators/core-daemon.ts';
import { runInCore } from '../emulators/core-runner.ts';
import { DEFAULT_LOG_DIR } from '../emulators/core-startup.ts';
import { CoreExportError, coreScenarioXml } from '../emulators/core-xml.ts';
import { listMovies } from '../emulators/mininet-runner.ts';
import { linkEmulation, type NetemMode, probeNetem } from '../emulators/netem-probe.ts';
import { repositoryRoot } from './mininet-command.ts';
import { UsageError } from './node-commands.ts';
import { PROMETHEUS_HELP, writePrometheusConfig } from './prometheus-option.ts';
import { bootstrapperNames, intIn } from './options.ts';

interface CoreFlags {
  imn?: boolean;
  root?: string;
  movies?: string;
  movie?: string[];
  logDir?: string;
  emulateLinks?: boolean;
  netem: NetemMode;
  clientDelay: number;
  clientDuration?: number;
  bootstrapper?: string;
  secret?: string;
  run?: boolean;
  duration?: number;
  out?: string;
  readyTimeout: number;
  prometheus?: string;
}

/** The secret file a scenario uses when --secret is not given: next to the nodes' logs. */
export const DEFAULT_SECRET_NAME = 'overlay.secret';

const IMN_GONE =
  '--imn is gone: CORE 9 reads XML only (it dropped the .imn format of the old Tcl GUI). ' +
  'Write XML, which CORE 9 opens with core-cli xml -f FILE -s or the GUI: onode core FILE > scenario.xml';

export function addCoreCommand(program: Command, cli: string): void {
  program
    .command('core')
    .description(
      'write a CORE 9 scenario of the topology to stdout (load it with core-cli xml -f FILE -s, or open it ' +
        'in the GUI and press start); with --run, run it in CORE and report what each client got',
    )
    .argument('<file>', 'topology file (its `network`, else one link per shared /24)')
    .option('--root <dir>', 'the repository as the CORE nodes see it (default: this one)')
    .option('--movies <dir>', "the servers' movies (default: ./movies, else the repository's movies/)")
    .option('--movie <name...>', 'movies the clients play in turn (default: every movie in --movies)')
    .option('--log-dir <dir>', `where each node writes its log, and clients their stats (default: ${DEFAULT_LOG_DIR})`)
    .addOption(
      new Option(
        '--netem <mode>',
        'auto: CORE applies link delay, loss and rate with netem where this kernel has it; ' +
          'on: always (a CORE machine other than this one); off: the nodes apply them',
      )
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .option('--emulate-links', 'the same as --netem off: no link options for CORE; the nodes emulate the links')
    .option('--client-delay <s>', 'seconds clients wait for the overlay before playing', intIn(0, 3600, 'seconds'), 15)
    .option(
      '--client-duration <s>',
      'seconds each client plays (default 60; with --run and --duration, what is left of it)',
      intIn(1, 86_400, 'seconds'),
    )
    .option('--bootstrapper <name>', 'which server is the bootstrapper, or NAME,NAME... for standbys')
    .option(
      '--secret <file>',
      `the overlay secret file the nodes read (default: LOG_DIR/${DEFAULT_SECRET_NAME}, made if missing)`,
    )
    .option('--run', 'run the scenario in CORE (root): start it, play every client, print a summary, clean up')
    .option(
      '--duration <s>',
      'with --run: how long the whole run lasts (default: until the clients end)',
      intIn(5, 86_400, 'seconds'),
    )
    .option('--out <dir>', "with --run: the scenario, the nodes' logs, clients' stats and frames (default: ./core-out)")
    .option(
      '--ready-timeout <s>',
      'with --run: give up if the nodes have not registered and converged by then',
      intIn(5, 3600, 'seconds'),
      90,
    )
    .option('--prometheus <file>', PROMETHEUS_HELP)
    .addOption(new Option('--imn').hideHelp())
    .action(async (file: string, flags: CoreFlags) => {
      if (flags.imn) throw new UsageError(IMN_GONE);
      if (!flags.run && (flags.duration !== undefined || flags.out !== undefined))
        throw new UsageError('--duration and --out go with --run (a written scenario runs until CORE stops it)');
      if (flags.run && flags.logDir !== undefined)
        throw new UsageError('with --run the logs go to --out; drop --log-dir');
      const root = resolve(flags.root ?? repositoryRoot(cli));
      const topo = loadTopologyFile(
        file,
        flags.bootstrapper ? { bootstrapper: bootstrapperNames(flags.bootstrapper) } : {},
      );
      for (const w of topo.warnings) process.stderr.write(`warning: ${w}\n`);
      const moviesDir = resolve(flags.movies ?? (existsSync('movies') ? 'movies' : join(root, 'movies')));
      const movies = scenarioMovies(topo, moviesDir, flags.movie);
      const links = linkEmulation(flags.emulateLinks ? 'off' : flags.netem, probeNetem);
      const logDir = flags.run ? resolve(flags.out ?? 'core-out') : (flags.logDir ?? DEFAULT_LOG_DIR);
      const secretFile = scenarioSecret(flags.secret, logDir, (line) => process.stderr.write(`${line}\n`));
      const opts = {
        root,
        file: resolve(file),
        moviesDir,
        movies,
        secretFile,
        emulateLinks: links.emulateLinks,
        nodeBinary: process.execPath,
        clientDelay: flags.clientDelay,
      };
      if (flags.prometheus) process.stderr.write(`${writePrometheusConfig(flags.prometheus, topo, 'CORE')}\n`);
      if (!flags.run) {
        process.stderr.write(`${links.says}\n`);
        try {
          process.stdout.write(coreScenarioXml(topo, { ...opts, logDir, clientDuration: flags.clientDuration ?? 60 }));
        } catch (err) {
          if (err instanceof CoreExportError) throw new UsageError(err.message);
          throw err;
        }
        return;
      }
      const say = (line: string): void => {
        process.stdout.write(`${line}\n`);
      };
      say(
        `core: ${topo.nodes.size} nodes, ${topo.network.routers.size} routers, ${topo.clients.size} clients, ` +
          `${topo.network.links.length} links; logs in ${logDir}`,
      );
      say(links.says);
      const run = await runInCore(topo, {
        ...opts,
        out: logDir,
        duration: flags.duration ?? null,
        clientSeconds: flags.clientDuration ?? null,
        readySeconds: flags.readyTimeout,
        onLine: say,
      }).catch((err: unknown) => {
        if (err instanceof CoreUnavailable || err instanceof CoreExportError) throw new UsageError(err.message);
        throw err;
      });
      say(`\n${run.summary.text}`);
      if (run.result.stopped !== undefined) process.exitCode = 130;
      else if (!run.summary.ok) process.exitCode = 1;
    });
}

/**
 * The movies clients play. The servers exit without a movies folder, so one that is missing or
 * empty is an error, as is a --movie the folder does not hold.
 */
export function scenarioMovies(topo: Topology, moviesDir: string, asked: readonly string[] | undefined): string[] {
  const make = 'make samples with: npm run movies, or pass --movies DIR';
  if (!existsSync(moviesDir)) throw new UsageError(`no movies folder ${moviesDir}: the servers need one (${make})`);
  const present = listMovies(moviesDir);
  if (present.length === 0)
    throw new UsageError(`no movies (*.mjpeg) in ${moviesDir}: the servers need some (${make})`);
  const unknown = (asked ?? []).filter((m) => !present.includes(m));
  if (unknown.length > 0)
    throw new UsageError(`--movie ${unknown.join(', ')}: not in ${moviesDir} (it has ${present.join(', ')})`);
  return topo.clients.size === 0 ? [] : [...(asked ?? present)];
}

/**
 * The absolute path of the scenario's secret file. A given file must hold a valid secret;
 * without --secret, LOG_DIR/overlay.secret is used if it exists (re-exporting keeps a running
 * scenario's secret) or made (mode 0600). Either way stderr says which file the nodes will read.
 */
export function scenarioSecret(given: string | undefined, logDir: string, say: (line: string) => void): string {
  if (given !== undefined) {
    loadSecret(given);
    say(`the nodes read the overlay secret in ${resolve(given)}`);
    return resolve(given);
  }
  const file = resolve(logDir, DEFAULT_SECRET_NAME);
  if (existsSync(file)) {
    loadSecret(file);
    say(`the nodes read the existing overlay secret in ${file}`);
    return file;
  }
  try {
    mkdirSync(resolve(logDir), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${generateSecret()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const why = (err as Error).message;
    throw new UsageError(`cannot write the overlay secret to ${file}: ${why}; give one with --secret FILE`);
  }
  say(`wrote a new overlay secret to ${file} (mode 0600): the nodes read it there; keep it with the scenario`);
  return file;
}
