/**
 * How an onode process ends when told to: a node still waiting for its bootstrapper (as every
 * node is for a moment when an emulation starts) stops on SIGTERM with exit 0 and no stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../common/security/overlay-keys.ts';
import { ONODE } from './loopback-harness.ts';

describe('onode and signals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onode-signals-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a POP stopped while it still waits for its bootstrapper exits 0, saying why', async () => {
    const secret = join(dir, 'overlay.secret');
    writeFileSync(secret, `${generateSecret()}\n`, { mode: 0o600 });
    // Nothing listens at 127.0.97.1:17999: the POP keeps retrying until told to stop.
    const child = spawn(process.execPath, [
      ONODE,
      'pop',
      '--bootstrapper',
      '127.0.97.1:17999',
      '--address',
      '127.0.97.2',
      '--secret',
      secret,
    ]);
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    await new Promise<void>((resolve) => {
      child.stderr.on('data', () => {
        if (stderr.includes('retrying')) resolve();
      });
    });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('stopping (SIGTERM)');
    expect(stderr).not.toMatch(/error|StartAbortedError/i);
  }, 30_000);
});
