/** `onode mininet FILE`: the topology in Mininet, every role started, then the CLI or a timed run. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { loadTopologyFile } from '../config/topology.ts';
import { PlanError } from '../emulators/mininet-plan.ts';
import { MininetUnavailable, runInMininet } from '../emulators/mininet-runner.ts';
import { bootstrapperNames, intIn } from './options.ts';
import { UsageError } from './node-commands.ts';
import { PROMETHEUS_HELP, writePrometheusConfig } from './prometheus-option.ts';

interface MininetFlags {
  duration?: number;
  clientDuration?: number;
  out?: string;
  movies?: string;
  bootstrapper?: string;
  netem: 'auto' | 'off';
  probeInterval?: number;
  logLevel: string;
  python?: string;
  readyTimeout: number;
  prometheus?: string;
}

/** The repository root: the nearest folder above `cli` that holds scripts/run.sh. */
export function repositoryRoot(cli: string): string {
  for (let dir = dirname(resolve(cli)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'scripts', 'run.sh'))) return dir;
    if (dirname(dir) === dir)
      throw new UsageError(`cannot find scripts/run.sh above ${cli}; run onode from its repository`);
  }
}

export function addMininetCommand(program: Command, cli: string): void {
  program
    .command('mininet')
    .description(
      "build the topology's network in Mininet and start every role in it (needs root and the Debian package mininet)",
    )
    .argument('<file>', 'topology file (its `network`, else one link per shared /24)')
    .option(
      '--duration <s>',
      'run this long, print a per-client summary and exit (non-zero if a client got no stream); ' +
        'default: open the Mininet CLI',
      intIn(5, 86_400, 'seconds'),
    )
    .option(
      '--client-duration <s>',
      'how long each client plays (default: what is left of --duration once the overlay is ready; 60 with the CLI)',
      intIn(1, 86_400, 'seconds'),
    )
    .option(
      '--out <dir>',
      "where each host's log, each client's stats JSON and received frames go (default: ./mininet-out)",
    )
    .option('--movies <dir>', "movies for the servers (default: ./movies, else the repository's movies/)")
    .option('--bootstrapper <name>', 'which server is the bootstrapper, or NAME,NAME... for standbys')
    .addOption(
      new Option('--netem <mode>', 'auto: netem delay and loss where the kernel has it; off: the nodes apply them')
        .choices(['auto', 'off'])
        .default('auto'),
    )
    .option(
      '--probe-interval <ms>',
      'route re-evaluation interval (onode --probe-interval)',
      intIn(50, 600_000, 'milliseconds'),
    )
    .option(
      '--ready-timeout <s>',
      'give up if the nodes have not registered and converged by then',
      intIn(5, 3600, 'seconds'),
      60,
    )
    .addOption(
      new Option('--log-level <level>', "the nodes' log detail")
        .choices(['debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .option('--prometheus <file>', PROMETHEUS_HELP)
    .option('--python <path>', 'the python3 that has the mininet package (default: /usr/bin/python3)')
    .action(async (file: string, flags: MininetFlags) => {
      const root = repositoryRoot(cli);
      const topo = loadTopologyFile(
        file,
        flags.bootstrapper ? { bootstrapper: bootstrapperNames(flags.bootstrapper) } : {},
      );
      for (const w of topo.warnings) process.stderr.write(`warning: ${w}\n`);
      const moviesDir = flags.movies ?? (existsSync('movies') ? 'movies' : join(root, 'movies'));
      if (!existsSync(moviesDir))
        throw new UsageError(
          `no movies directory ${moviesDir}: pass --movies DIR, or make samples with: npm run movies`,
        );
      const out = flags.out ?? 'mininet-out';
      const overlayArgs = [
        '--log-level',
        flags.logLevel,
        ...(flags.probeInterval ? ['--probe-interval', String(flags.probeInterval)] : []),
      ];
      process.stdout.write(
        `mininet: ${topo.nodes.size} nodes, ${topo.network.routers.size} routers, ${topo.clients.size} clients, ` +
          `${topo.network.links.length} links ` +
          `(${topo.network.declared ? "the file's network" : 'derived from shared /24s'}); logs in ${out}\n`,
      );
      if (flags.prometheus) process.stdout.write(`${writePrometheusConfig(flags.prometheus, topo, 'Mininet')}\n`);
      const run = await runInMininet(topo, {
        file,
        moviesDir,
        out,
        root,
        duration: flags.duration ?? null,
        clientDuration: flags.clientDuration ?? null,
        netem: flags.netem,
        overlayArgs,
        readySeconds: flags.readyTimeout,
        ...(flags.python ? { python: flags.python } : {}),
      }).catch((err: unknown) => {
        // Problems the user fixes (no root, no package, bad names) print as a message, not a stack.
        if (err instanceof MininetUnavailable || err instanceof PlanError) throw new UsageError(err.message);
        throw err;
      });
      process.stdout.write(`\n${run.summary.text}\n`);
      if (!run.summary.ok) process.exitCode = 1;
    });
}
