/**
 * The loopback e2e files run two at a time, many on the same topology's addresses: each needs ports
 * of its own, or one file's nodes answer another's (a dashboard test once read the metrics test's
 * bootstrapper). Every port a file declares must be unique across files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const E2E = join(import.meta.dirname, 'e2e');

describe('e2e ports', () => {
  it('are not shared between test files', () => {
    const owner = new Map<number, string>();
    const clashes: string[] = [];
    for (const file of readdirSync(E2E).filter((f) => f.endsWith('.test.ts'))) {
      const text = readFileSync(join(E2E, file), 'utf8');
      for (const m of text.matchAll(
        /\{\s*bootstrap:\s*(\d+),\s*overlay:\s*(\d+),\s*status:\s*(\d+),\s*rtsp:\s*(\d+)/g,
      )) {
        for (const port of m.slice(1).map(Number)) {
          const other = owner.get(port);
          if (other !== undefined && other !== file) clashes.push(`${port}: ${other} and ${file}`);
          owner.set(port, file);
        }
      }
    }
    expect(owner.size).toBeGreaterThan(20);
    expect(clashes).toEqual([]);
  });
});
