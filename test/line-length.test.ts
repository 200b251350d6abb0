import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The house limit (biome.jsonc lineWidth): the formatter cannot wrap long strings and comments, so check them. */
const MAX_LINE_CHARS = 120;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
function trackedSources(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.mjs', '*.py'], { cwd: ROOT, encoding: 'utf8' });
  // A tracked file deleted in the work tree but not yet staged is not source any more.
  return out.split('\0').filter((path) => path !== '' && existsSync(join(ROOT, path)));
}

describe('source line length', () => {
  it(`keeps every line of tracked .ts, .mjs and .py files within ${MAX_LINE_CHARS} characters`, () => {
    const files = trackedSources();
    expect(files.length).toBeGreaterThan(100);
    const offenders: string[] = [];
    for (const path of files) {
      const lines = readFileSync(join(ROOT, path), 'utf8').split(/\r?\n/);
      lines.forEach((line, i) => {
        // Code points, not UTF-16 units or bytes: '─' or 'µ' is one character on screen.
        const length = [...line].length;
        if (length > MAX_LINE_CHARS) offenders.push(`${path}:${i + 1} (${length})`);
      });
    }
    expect(offenders, `lines over ${MAX_LINE_CHARS} characters:\n${offenders.join('\n')}`).toEqual([]);
  });
});
