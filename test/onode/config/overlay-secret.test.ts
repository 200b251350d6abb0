import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MIN_SECRET_BYTES, SecretError } from '../../../common/security/overlay-keys.ts';
import { loadSecret, runSecretText, SECRET_ENV } from '../../../onode/config/overlay-secret.ts';

const GOOD = 'k'.repeat(MIN_SECRET_BYTES);

describe('the overlay secret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onode-secret-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is read from the file given, else from ONODE_SECRET, else refused with the command that makes one', () => {
    const file = join(dir, 'overlay.secret');
    writeFileSync(file, `${GOOD}\n`);
    expect(loadSecret(file, {}).toString()).toBe(GOOD);
    expect(loadSecret(undefined, { [SECRET_ENV]: ` ${GOOD} ` }).toString()).toBe(GOOD);
    expect(() => loadSecret(undefined, {})).toThrow(/onode secret > overlay\.secret/);
    expect(() => loadSecret(join(dir, 'none'), {})).toThrow(/no such file; make one with/);
  });

  it('an emulated run takes ONODE_SECRET when set (checked once), else makes a new one', () => {
    expect(runSecretText({ [SECRET_ENV]: `${GOOD}\n` })).toBe(GOOD);
    expect(() => runSecretText({ [SECRET_ENV]: 'short' })).toThrow(SecretError);
    expect(() => runSecretText({ [SECRET_ENV]: 'short' })).toThrow(new RegExp(`^${SECRET_ENV}:`));
    const fresh = runSecretText({});
    expect(fresh.length).toBeGreaterThanOrEqual(MIN_SECRET_BYTES);
    expect(runSecretText({ [SECRET_ENV]: '  ' })).not.toBe(fresh);
  });
});
