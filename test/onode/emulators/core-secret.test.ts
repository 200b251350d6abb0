/** `onode core` gives its nodes an overlay secret file: the one given, or one it makes next to the logs. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scenarioSecret } from '../../../onode/cli/core-command.ts';
import { SecretError } from '../../../common/security/overlay-keys.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('onode core --secret', () => {
  it('makes LOG_DIR/overlay.secret (mode 0600) when none is given, then keeps using it', () => {
    dir = mkdtempSync(join(tmpdir(), 'core-secret-'));
    const logDir = join(dir, 'logs');
    const lines: string[] = [];
    const file = scenarioSecret(undefined, logDir, (l) => lines.push(l));
    expect(file).toBe(join(logDir, 'overlay.secret'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secret = readFileSync(file, 'utf8');
    expect(secret).toMatch(/^[0-9a-f]{64}\n$/);
    expect(lines).toEqual([
      `wrote a new overlay secret to ${file} (mode 0600): the nodes read it there; keep it with the scenario`,
    ]);
    // Exporting again keeps the secret a running scenario uses.
    expect(scenarioSecret(undefined, logDir, (l) => lines.push(l))).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(secret);
    expect(lines[1]).toBe(`the nodes read the existing overlay secret in ${file}`);
  });

  it('uses a given file, and refuses a missing or too short one', () => {
    dir = mkdtempSync(join(tmpdir(), 'core-secret-'));
    const given = join(dir, 'mine.secret');
    writeFileSync(given, 'a secret long enough for the overlay\n', { mode: 0o600 });
    expect(scenarioSecret(given, join(dir, 'logs'), () => {})).toBe(given);
    expect(() => scenarioSecret(join(dir, 'nope'), dir, () => {})).toThrow(SecretError);
    writeFileSync(join(dir, 'short'), 'short');
    expect(() => scenarioSecret(join(dir, 'short'), dir, () => {})).toThrow(/at least 16 characters/);
  });
});
