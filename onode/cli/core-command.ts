/** `onode core FILE > scenario.xml`: a CORE scenario (XML, or .imn with --imn) of the topology. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateSecret } from '../../common/security/overlay-keys.ts';
import { loadTopologyFile } from '../config/topology.ts';
import { coreImn, CoreExportError } from '../emulators/core-imn.ts';
import { DEFAULT_LOG_DIR } from '../emulators/core-startup.ts';
import { coreScenarioXml } from '../emulators/core-xml.ts';
import { listMovies } from '../emulators/mininet-runner.ts';
import { repositoryRoot } from './mininet-command.ts';
import { intIn } from './options.ts';
import { UsageError } from './node-commands.ts';
import { loadSecret } from '../config/overlay-secret.ts';

interface CoreFlags {
  imn?: boolean;
  root?: string;
  movies?: string;
  movie?: string[];
  logDir: string;
  emulateLinks?: boolean;
  clientDelay: number;
  clientDuration: number;
  bootstrapper?: string;
  secret?: string;
}

/** The secret file a scenario uses when --secret is not given: next to the nodes' logs. */
export const DEFAULT_SECRET_NAME = 'overlay.secret';

export function addCoreCommand(program: Command, cli: string): void {
  program
    .command('core')
    .description('write a CORE scenario of the topology to stdout: open it in CORE and press start')
    .argument('<file>', 'topology file (its `network`, else one link per shared /24)')
    .option('--imn', "the older Tcl GUI's .imn format instead of CORE 7+ XML")
    .option('--root <dir>', 'the repository as the CORE nodes see it (default: this one)')
    .option('--movies <dir>', "the servers' movies (default: ./movies, else the repository's movies/)")
    .option('--movie <name...>', 'movies the clients play in turn (default: every movie in --movies)')
    .option('--log-dir <dir>', 'where each node writes its log, and clients their stats', DEFAULT_LOG_DIR)
    .option('--emulate-links', 'have the nodes apply delay and loss themselves (a CORE machine without netem)')
    .option('--client-delay <s>', 'seconds clients wait for the overlay before playing', intIn(0, 3600, 'seconds'), 15)
    .option('--client-duration <s>', 'seconds each client plays', intIn(1, 86_400, 'seconds'), 60)
    .option('--bootstrapper <name>', 'which server is the bootstrapper')
    .option(
      '--secret <file>',
      `the overlay secret file the nodes read (default: LOG_DIR/${DEFAULT_SECRET_NAME}, made if missing)`,
    )
    .action((file: string, flags: CoreFlags) => {
      const root = resolve(flags.root ?? repositoryRoot(cli));
      const topo = loadTopologyFile(file, flags.bootstrapper ? { bootstrapper: flags.bootstrapper } : {});
      for (const w of topo.warnings) process.stderr.write(`warning: ${w}\n`);
      const moviesDir = resolve(flags.movies ?? (existsSync('movies') ? 'movies' : join(root, 'movies')));
      const movies = flags.movie ?? (existsSync(moviesDir) ? listMovies(moviesDir) : []);
      if (movies.length === 0 && topo.clients.size > 0) {
        process.stderr.write(
          `warning: no movies in ${moviesDir}, so the clients are not started ` +
            '(make samples with: npm run movies, or pass --movie NAME)\n',
        );
      }
      const secretFile = scenarioSecret(flags.secret, flags.logDir, (line) => process.stderr.write(`${line}\n`));
      const opts = {
        root,
        file: resolve(file),
        moviesDir,
        movies,
        secretFile,
        logDir: flags.logDir,
        emulateLinks: Boolean(flags.emulateLinks),
        clientDelay: flags.clientDelay,
        clientDuration: flags.clientDuration,
      };
      try {
        process.stdout.write(flags.imn ? coreImn(topo, opts) : coreScenarioXml(topo, opts));
      } catch (err) {
        if (err instanceof CoreExportError) throw new UsageError(err.message);
        throw err;
      }
    });
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
