import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
/** Modules that do I/O (or parse files for it): the core reaches none of them, even indirectly. */
const IO_MODULES = [
  'node:fs',
  'node:fs/promises',
  'node:net',
  'node:dgram',
  'node:http',
  'node:child_process',
  'json5',
];

/** Every module a file imports (values and types), relative ones resolved to paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1] ?? '');
  return specs.map((s) => (s.startsWith('.') ? resolve(dirname(file), s) : s));
}

/** The chain of imports from `start` to the first I/O module it reaches, or null. */
function ioChain(start: string): string[] | null {
  const parent = new Map<string, string>();
  const queue = [start];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const file = queue.shift() ?? '';
    for (const dep of importsOf(file)) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      parent.set(dep, file);
      if (IO_MODULES.includes(dep)) {
        const chain = [dep];
        for (let at = file; at !== start; at = parent.get(at) ?? start) chain.unshift(relative(ROOT, at));
        return [relative(ROOT, start), ...chain];
      }
      if (dep.startsWith('/')) queue.push(dep);
    }
  }
  return null;
}

describe('onode/core does no I/O', () => {
  const dir = join(ROOT, 'onode/core');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

  it.each(files)('%s reaches no file, socket or process module through its imports', (file) => {
    expect(ioChain(join(dir, file))).toBeNull();
  });
});
