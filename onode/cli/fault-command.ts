/**
 * `onode fault ADDR --cut NAME…` / `--restore NAME…`: cut a running node's overlay links on
 * purpose (everything to and from those neighbours is dropped) to watch the overlay repair.
 * Cutting at one end is enough: that end neither sends nor accepts anything on the link.
 * The node only obeys the overlay's operators: the request carries the token derived from the
 * overlay secret (--secret FILE or ONODE_SECRET), or one given with --token.
 */
import type { Command } from 'commander';
import { STATUS_PORT } from '../../common/net/ports.ts';
import { postFaults } from '../../common/net/ops-client.ts';
import { opsToken } from '../../common/security/overlay-keys.ts';
import { hostPort } from './options.ts';
import { loadSecret } from '../config/overlay-secret.ts';
import { SECRET_HELP } from './secret-option.ts';

const collect = (v: string, all: string[]): string[] => [...all, ...v.split(',').filter((x) => x !== '')];

interface FaultFlags {
  cut: string[];
  restore: string[];
  secret?: string;
  token?: string;
}

export function addFaultCommand(program: Command): void {
  program
    .command('fault')
    .description("cut (or restore) a running node's overlay links to some neighbours, for experiments")
    .argument('<addr>', "the node's ADDRESS[:PORT] (its status port)", hostPort(STATUS_PORT))
    .option('--cut <names>', 'neighbours to cut off (repeat or comma-separate)', collect, [])
    .option('--restore <names>', 'neighbours to reconnect', collect, [])
    .option('--secret <file>', SECRET_HELP)
    .option('--token <hex>', 'the operations token itself (default: derived from the overlay secret)')
    .action(async (target: { host: string; port: number }, flags: FaultFlags) => {
      const token = flags.token ?? opsToken(loadSecret(flags.secret));
      const url = `http://${target.host}:${target.port}/faults`;
      try {
        const out = await postFaults(target, token, { cut: flags.cut, restore: flags.restore });
        if (!out.ok) {
          const hint = out.status === 401 ? ' (is the overlay secret the one this node runs with?)' : '';
          process.stderr.write(`error: ${out.error}${hint}\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`${out.reply.name}: links cut to [${out.reply.cut.join(', ')}]\n`);
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        process.stderr.write(
          `error: cannot reach ${url}: ${cause ?? (err as Error).message}; is an onode process running there?\n`,
        );
        process.exitCode = 1;
      }
    });
}
