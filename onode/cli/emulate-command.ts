/** `onode emulate FILE --loopback`: the whole topology as local processes until Ctrl-C. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSecret, runSecretText } from '../config/overlay-secret.ts';
import { type Command, Option } from 'commander';
import { BOOTSTRAP_PORT, dashboardUrl } from '../../common/net/ports.ts';
import { loadTopologyFile, loopbackTopology } from '../config/topology.ts';
import { Emulator } from '../net/emulator.ts';
import { bootstrapperNames, intIn } from './options.ts';
import { UsageError } from './node-commands.ts';
import { PROMETHEUS_HELP, writePrometheusConfig } from './prometheus-option.ts';

interface EmulateFlags {
  loopback?: boolean;
  movies?: string;
  bootstrapper?: string;
  fps?: string;
  duration?: number;
  quiet?: boolean;
  logLevel: string;
  probeInterval?: number;
  secret?: string;
  prometheus?: string;
}

export function addEmulateCommand(program: Command, cli: string): void {
  program
    .command('emulate')
    .description('run every node of a topology as its own process on this machine')
    .argument('<file>', 'topology file')
    .option('--loopback', 'use loopback addresses: A.B.C.D becomes 127.B.C.D (the only mode for now; required)')
    .option('--movies <dir>', 'movies for the servers (default: ./movies if it exists)')
    .option('--bootstrapper <name>', 'which server is the bootstrapper, or NAME,NAME... for standbys')
    .option('--fps <n>', 'frame rate movies play at')
    .option(
      '--probe-interval <ms>',
      'route re-evaluation interval (onode --probe-interval)',
      intIn(50, 600_000, 'milliseconds'),
    )
    .option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)', intIn(1, 86_400, 'seconds'))
    .option('--quiet', "do not echo the nodes' logs")
    .option(
      '--secret <file>',
      'the overlay secret for the nodes (default: $ONODE_SECRET, else a new one, written to a ' +
        'file only you can read, removed at the end, for onode fault --secret)',
    )
    .option('--prometheus <file>', PROMETHEUS_HELP)
    .addOption(
      new Option('--log-level <level>', "the nodes' log detail")
        .choices(['debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .action(async (file: string, flags: EmulateFlags) => {
      if (!flags.loopback)
        throw new UsageError('onode emulate needs --loopback (use onode mininet or onode core for emulators)');
      const topo = loopbackTopology(
        loadTopologyFile(file, flags.bootstrapper ? { bootstrapper: bootstrapperNames(flags.bootstrapper) } : {}),
      );
      const moviesDir = flags.movies ?? (existsSync('movies') ? 'movies' : undefined);
      const childArgs = [
        '--log-level',
        flags.logLevel,
        ...(flags.fps ? ['--fps', flags.fps] : []),
        ...(flags.probeInterval ? ['--probe-interval', String(flags.probeInterval)] : []),
      ];
      const secret = runSecret(flags.secret);
      const emulator = new Emulator({
        file,
        topology: topo,
        cli,
        bootstrapPort: BOOTSTRAP_PORT,
        childArgs,
        secret: secret.text,
        ...(moviesDir ? { moviesDir } : {}),
        ...(flags.bootstrapper ? { bootstrapperName: flags.bootstrapper } : {}),
        onLine: (node, line) => {
          if (!flags.quiet) process.stderr.write(`[${node.padEnd(4)}] ${line}\n`);
        },
        onExit: (node, code, signal) => process.stderr.write(`[${node}] exited (${signal ?? `code ${code}`})\n`),
      });
      emulator.start();
      if (flags.prometheus) process.stdout.write(`${writePrometheusConfig(flags.prometheus, topo, 'loopback')}\n`);
      const pops = [...topo.nodes.values()].filter((n) => n.role === 'pop');
      process.stdout.write(
        `emulating ${topo.nodes.size} nodes from ${file} on loopback; bootstrapper ${emulator.bootstrapAddresses}\n` +
          pops.map((p) => `  POP ${p.name}: rtsp://${p.clientAddresses[0] ?? p.addresses[0]}:8554/MOVIE\n`).join('') +
          `  dashboard: ${dashboardUrl(topo.nodes.get(topo.bootstrapper)?.addresses[0] ?? '')}\n` +
          `  status: npx onode status ${topo.nodes.get(topo.bootstrapper)?.addresses[0]}\n` +
          `  faults: npx onode fault ADDRESS --cut NEIGHBOUR --secret ${secret.file}\n  Ctrl-C stops everything\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (flags.duration) setTimeout(resolve, flags.duration * 1000);
      });
      await emulator.stop();
      secret.remove();
      process.stdout.write('all nodes stopped\n');
    });
}

/**
 * The run's overlay secret and a file holding it (what `onode fault --secret` reads): the file
 * given, else ONODE_SECRET or a new secret written to a private temporary file, removed at the end.
 */
function runSecret(file: string | undefined): { text: string; file: string; remove: () => void } {
  if (file !== undefined) return { text: loadSecret(file).toString('utf8'), file, remove: () => {} };
  const text = runSecretText();
  const dir = mkdtempSync(join(tmpdir(), 'onode-emulate-'));
  const path = join(dir, 'overlay.secret');
  writeFileSync(path, `${text}\n`, { mode: 0o600 });
  return { text, file: path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
