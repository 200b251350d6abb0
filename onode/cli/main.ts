/** The `onode` command: overlay processes, their status, and whole topologies on one machine. */
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { TopologyError } from '../config/topology.ts';
import { MovieError } from '../../common/media/movie-file.ts';
import { NodeStartError } from '../net/node-process.ts';
import { BootstrapUnreachable } from '../../common/net/bootstrap-connection.ts';
import { addEmulateCommand } from './emulate-command.ts';
import { addMininetCommand } from './mininet-command.ts';
import { addCoreCommand } from './core-command.ts';
import { addNodeCommands, UsageError } from './node-commands.ts';
import { addRecordCommand } from './record-command.ts';
import { addStatusCommand } from './status-command.ts';
import { addFaultCommand } from './fault-command.ts';
import { addSecretCommand } from './secret-command.ts';
import { addTopologyCommand } from './topology-command.ts';
import { SecretError } from '../../common/security/overlay-keys.ts';

const program = new Command('onode')
  .description('overlay CDN node: bootstrapper, server, relay node or POP (see README.md)')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();
addNodeCommands(program);
addStatusCommand(program);
addRecordCommand(program);
addFaultCommand(program);
addSecretCommand(program);
addTopologyCommand(program);
addEmulateCommand(program, fileURLToPath(import.meta.url));
addMininetCommand(program, fileURLToPath(import.meta.url));
addCoreCommand(program, fileURLToPath(import.meta.url));

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
