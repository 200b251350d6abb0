/**
 * `onode fault ADDR --cut NAME…` / `--restore NAME…`: cut a running node's overlay links on
 * purpose (everything to and from those neighbours is dropped) to watch the overlay repair.
 * Cutting at one end is enough: that end neither sends nor accepts anything on the link.
 */
import type { Command } from 'commander';
import { STATUS_PORT } from '../../common/net/ports.ts';
import { hostPort } from './options.ts';

const collect = (v: string, all: string[]): string[] => [...all, ...v.split(',').filter((x) => x !== '')];

export function addFaultCommand(program: Command): void {
  program.command('fault')
    .description('cut (or restore) a running node\'s overlay links to some neighbours, for experiments')
    .argument('<addr>', 'the node\'s ADDRESS[:PORT] (its status port)', hostPort(STATUS_PORT))
    .option('--cut <names>', 'neighbours to cut off (repeat or comma-separate)', collect, [])
    .option('--restore <names>', 'neighbours to reconnect', collect, [])
    .action(async (target: { host: string; port: number }, flags: { cut: string[]; restore: string[] }) => {
      const url = `http://${target.host}:${target.port}/faults`;
      try {
        const res = await fetch(url, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ cut: flags.cut, restore: flags.restore }), signal: AbortSignal.timeout(3000),
        });
        const body = (await res.json()) as { name?: string; cut?: string[]; error?: string };
        if (!res.ok) {
          process.stderr.write(`error: ${body.error ?? `HTTP ${res.status}`}\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`${body.name}: links cut to [${(body.cut ?? []).join(', ')}]\n`);
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        process.stderr.write(`error: cannot reach ${url}: ${cause ?? (err as Error).message}; is an onode process running there?\n`);
        process.exitCode = 1;
      }
    });
}
