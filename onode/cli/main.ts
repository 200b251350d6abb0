/** The `onode` command: overlay processes, their status, and whole topologies on one machine. */
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { TopologyError } from '../config/topology-error.ts';
import { MovieError } from '../../common/media/movie-file.ts';
import { NodeStartError } from '../net/node-process.ts';
import { BootstrapUnreachable } from '../../common/net/bootstrap-connection.ts';
import { addNodeCommands, UsageError } from './node-commands.ts';
import { SecretError } from '../../common/security/overlay-keys.ts';

/**
 * The daemons (`onode server|node|pop`) load only their own command: the tools (emulators, the
 * topology importer, plots) would cost each of hundreds of node processes memory and start-up CPU.
 */
const DAEMONS: ReadonlySet<string | undefined> = new Set(['server', 'node', 'pop']);

const program = new Command('onode')
  .description('overlay CDN node: bootstrapper, server, relay node or POP (see README.md)')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();
addNodeCommands(program);
if (!DAEMONS.has(process.argv[2])) await addToolCommands(program);

async function addToolCommands(program: Command): Promise<void> {
  const [status, record, fault, secret, topology, emulate, mininet, core] = await Promise.all([
    import('./status-command.ts'),
    import('./record-command.ts'),
    import('./fault-command.ts'),
    import('./secret-command.ts'),
    import('./topology-command.ts'),
    import('./emulate-command.ts'),
    import('./mininet-command.ts'),
    import('./core-command.ts'),
  ]);
  const self = fileURLToPath(import.meta.url);
  status.addStatusCommand(program);
  record.addRecordCommand(program);
  fault.addFaultCommand(program);
  secret.addSecretCommand(program);
  topology.addTopologyCommand(program);
  emulate.addEmulateCommand(program, self);
  mininet.addMininetCommand(program, self);
  core.addCoreCommand(program, self);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const known =
    err instanceof TopologyError ||
    err instanceof MovieError ||
    err instanceof NodeStartError ||
    err instanceof UsageError ||
    err instanceof BootstrapUnreachable ||
    err instanceof SecretError;
  process.stderr.write(`error: ${known ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(known ? 2 : 1);
}
