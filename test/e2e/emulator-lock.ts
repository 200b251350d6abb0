/**
 * One emulator run at a time across test files. CORE puts its bridges in the machine's own
 * namespace, and the Mininet test checks that nothing new appears there while it runs. The lock
 * is flock(1)'s, held by a child that ends when its stdin closes: if the test process dies, the
 * lock goes with it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

const LOCK = '/tmp/onode-emulator-tests.lock';

/** Waits for the lock; resolves with the function that releases it. */
export async function holdEmulatorLock(): Promise<() => Promise<void>> {
  const holder = spawn('flock', [LOCK, '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let said = '';
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.once('exit', (code) => reject(new Error(`flock ${LOCK} ended (${code}) before taking the lock`)));
    holder.stdout.on('data', (chunk: Buffer) => {
      said += chunk.toString('utf8');
      if (said.includes('locked')) resolve();
    });
  });
  return async () => {
    const gone = once(holder, 'exit');
    holder.stdin.end();
    await gone;
  };
}
