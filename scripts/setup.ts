/**
 * `npm run setup`: installs, once and only what is missing, the system parts the tests and runners
 * drive (Debian packages, and CORE built from its vendored source). The decisions are in
 * setup-plan.ts; this file asks the machine, runs apt-get and install-core.sh, and reports.
 *
 *   node dist/scripts/setup.js [--dry-run] [--core-src DIR]
 *
 * Needs root only when something is missing; otherwise it just reports what is there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CORE_COMMAND,
  type CoreSource,
  DEBIAN_PARTS,
  describePlan,
  type MachineReport,
  manualCommands,
  nothingToDo,
  parseDpkgQuery,
  pickCoreTarball,
  planSetup,
  type SetupPlan,
  corePackagesFromScript,
} from './setup-plan.ts';
import { ROOT as root } from './repository-root.ts';

/** Where CORE's source is looked for, in order: the shared folder beside the project, then a copy in it. */
const CORE_SOURCE_DIRS = [join(root, '..', 'shared', 'vendor', 'core'), join(root, 'vendor', 'core')];
const CORE_SCRIPT = 'install-core.sh';

const USAGE = `usage: npm run setup [-- --dry-run] [-- --core-src DIR]
Installs what the tests and runners use and is missing: Debian packages (apt-get, as root) and
CORE (built from its source with install-core.sh when core-daemon is missing).
  --dry-run        print what is there and what would be installed; change nothing
  --core-src DIR   folder with install-core.sh and core-X.Y.Z.tar.gz
                   (default: ../shared/vendor/core, then vendor/core in the repository)
  -h, --help       this text
`;

/** A failure the user can act on: the message, and the commands that would do it by hand. */
class SetupError extends Error {
  constructor(
    message: string,
    readonly commands: readonly string[] = [],
  ) {
    super(message);
  }
}

function findCoreSource(dirs: readonly string[]): CoreSource | null {
  for (const dir of dirs) {
    if (!existsSync(join(dir, CORE_SCRIPT))) continue;
    const tarball = pickCoreTarball(readdirSync(dir));
    if (tarball !== null) return { script: join(dir, CORE_SCRIPT), tarball: join(dir, tarball) };
  }
  return null;
}

/** Packages dpkg has installed among these, or null when this is not a dpkg system. */
function dpkgInstalled(packages: readonly string[]): Set<string> | null {
  // Exit status 1 just means some package is unknown to dpkg; the others are still listed.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${field} syntax
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Package}\t${Status}\n', ...packages], { encoding: 'utf8' });
  return r.error ? null : parseDpkgQuery(r.stdout);
}

function commandsOnPath(commands: readonly string[]): Set<string> {
  const r = spawnSync('sh', ['-c', 'for c; do command -v "$c" >/dev/null 2>&1 && echo "$c"; done', 'sh', ...commands], {
    encoding: 'utf8',
  });
  return new Set(r.stdout.split('\n').filter((c) => c !== ''));
}

function run(cmd: string, args: readonly string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status === 0;
}

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const OPTIONS = {
  'dry-run': { type: 'boolean', default: false },
  'core-src': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function main(): number {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    values = parseArgs({ options: OPTIONS }).values;
  } catch (err) {
    process.stderr.write(`setup: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const started = Date.now();
  const searched = values['core-src'] === undefined ? CORE_SOURCE_DIRS : [resolve(values['core-src'])];
  const coreSource = findCoreSource(searched);
  const coreDependencies = coreSource === null ? [] : corePackagesFromScript(readFileSync(coreSource.script, 'utf8'));
  const packages = [...DEBIAN_PARTS.map((p) => p.package), ...coreDependencies];
  const installed = dpkgInstalled(packages);
  const commands = [...DEBIAN_PARTS.flatMap((p) => (p.command === undefined ? [] : [p.command])), CORE_COMMAND];
  const report: MachineReport = { installed: installed ?? new Set(), onPath: commandsOnPath(commands) };
  const plan = planSetup({ report, coreSource, coreSearched: searched, coreDependencies });

  say(`setup: ${DEBIAN_PARTS.length} Debian packages and CORE`);
  for (const line of describePlan(plan)) say(line);
  if (nothingToDo(plan)) {
    say(`setup: nothing to install (${Date.now() - started} ms)`);
    return 0;
  }
  if (plan.core.action === 'no-source') {
    throw new SetupError(
      `core-daemon is not installed and there is no CORE source in ${searched.join(' or ')}.\n` +
        `Copy install-core.sh and core-9.2.1.tar.gz (the shared folder's vendor/core) into ${CORE_SOURCE_DIRS[1]}, ` +
        'or pass --core-src DIR. Nothing was installed; the rest would be, as root:',
      manualCommands(plan),
    );
  }
  if (values['dry-run']) {
    say('setup: --dry-run, would run:');
    for (const c of manualCommands(plan)) say(`  ${c}`);
    return 0;
  }
  if (installed === null && plan.aptInstall.length > 0) {
    throw new SetupError(
      "this machine has no dpkg-query: setup installs with Debian's apt-get (Debian 12). " +
        `Install these yourself: ${plan.aptInstall.join(' ')}`,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new SetupError(
      'installing needs root: run `sudo npm run setup`, or these commands as root:',
      manualCommands(plan),
    );
  }
  install(plan);
  say(`setup: installed ${[...plan.aptInstall, ...(plan.core.action === 'install' ? ['CORE'] : [])].join(', ')}`);
  say(`setup: already there: ${plan.present.map((p) => p.name).join(', ') || 'nothing'}`);
  say(`setup: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

/** apt-get update once and one apt-get install, then CORE; checks that each step left what it should. */
function install(plan: SetupPlan): void {
  let t = Date.now();
  const took = (): string => {
    const s = ((Date.now() - t) / 1000).toFixed(1);
    t = Date.now();
    return `${s} s`;
  };
  if (plan.aptInstall.length > 0) {
    // A failed update may still leave usable lists (offline mirror, one dead source): try them.
    if (!run('apt-get', ['update', '-q'])) say('setup: apt-get update failed; trying the package lists already here');
    if (!run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...plan.aptInstall])) {
      throw new SetupError('apt-get install failed (see its output above). The commands were:', manualCommands(plan));
    }
    const now = dpkgInstalled(plan.aptInstall) ?? new Set<string>();
    const still = plan.aptInstall.filter((p) => !now.has(p));
    if (still.length > 0) {
      throw new SetupError(`still not installed after apt-get: ${still.join(' ')}`, manualCommands(plan));
    }
    say(`setup: apt-get installed ${plan.aptInstall.length} packages (${took()})`);
  }
  if (plan.core.action === 'install') {
    say(`setup: building CORE from ${plan.core.source.tarball}`);
    if (!run('bash', [plan.core.source.script, plan.core.source.tarball])) {
      throw new SetupError('install-core.sh failed (see its output above). The command was:', manualCommands(plan));
    }
    if (!commandsOnPath([CORE_COMMAND]).has(CORE_COMMAND)) {
      throw new SetupError(
        `install-core.sh succeeded, but ${CORE_COMMAND} is not on PATH (it goes to /usr/local/bin)`,
        manualCommands(plan),
      );
    }
    say(`setup: CORE built and installed (${took()})`);
  }
}

try {
  process.exit(main());
} catch (err) {
  if (!(err instanceof SetupError)) throw err;
  process.stderr.write(`setup: ${err.message}\n${err.commands.map((c) => `  ${c}\n`).join('')}`);
  process.exit(1);
}
