/** `onode secret`: prints a new overlay secret (or writes it to a file only its owner can read). */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from './node-commands.ts';
import { generateSecret } from '../../common/security/overlay-keys.ts';

export function addSecretCommand(program: Command): void {
  program
    .command('secret')
    .description('make a new overlay secret: give the same one to every node (--secret FILE or ONODE_SECRET)')
    .option('--out <file>', 'write it to FILE (mode 0600) instead of printing it')
    .action((flags: { out?: string }) => {
      const secret = `${generateSecret()}\n`;
      if (flags.out === undefined) {
        process.stdout.write(secret);
        return;
      }
      try {
        writeFileSync(flags.out, secret, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new UsageError(
          `--out ${flags.out}: ` +
            `${code === 'EEXIST' ? 'already exists (a secret is never overwritten)' : (err as Error).message}`,
        );
      }
      process.stderr.write(`wrote a new overlay secret to ${flags.out}\n`);
    });
}
