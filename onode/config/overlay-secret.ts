/** Where a node's overlay secret comes from: --secret FILE, else ONODE_SECRET, else a clear error. */
import { readFileSync, statSync } from 'node:fs';
import { generateSecret, parseSecret, SecretError } from '../../common/security/overlay-keys.ts';

/** The environment variable that hands the secret to nodes (emulators set it for their children). */
export const SECRET_ENV = 'ONODE_SECRET';

/**
 * The secret from `file` when given, else from SECRET_ENV.
 * @throws SecretError naming the file or variable, with the command that makes a secret
 */
export function loadSecret(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Buffer {
  if (file !== undefined) {
    let text: string;
    try {
      if (statSync(file).isDirectory())
        throw new SecretError(`--secret ${file}: is a directory, expected the secret file`);
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (err instanceof SecretError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
      throw new SecretError(`--secret ${file}: ${why}; make one with: onode secret > ${file}`);
    }
    return parseSecret(text, `--secret ${file}`);
  }
  const value = env[SECRET_ENV];
  if (value !== undefined && value.trim() !== '') return parseSecret(value, SECRET_ENV);
  throw new SecretError(
    `no overlay secret: give every node the same one with --secret FILE or ${SECRET_ENV}; ` +
      'make one with: onode secret > overlay.secret (onode emulate, mininet and core make their own)',
  );
}

/**
 * The secret an emulated run hands its nodes: ONODE_SECRET when set (checked here, so a bad one is
 * one clear error rather than every node failing), else a new one.
 * @throws SecretError when ONODE_SECRET is set but too short
 */
export function runSecretText(env: NodeJS.ProcessEnv = process.env): string {
  const value = env[SECRET_ENV];
  if (value === undefined || value.trim() === '') return generateSecret();
  return parseSecret(value, SECRET_ENV).toString('utf8');
}
