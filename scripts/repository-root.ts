/**
 * Where the repository's tools (scripts, benchmarks) find it, run from source (tsx) or compiled
 * (dist/): the nearest folder above that holds package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file that holds package.json (dist/ holds none). */
function repositoryRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`no package.json above ${here}`);
}

export const ROOT = repositoryRoot();
/** The compiled tree that demos and benchmarks start nodes, clients and their own children from. */
export const DIST = join(ROOT, 'dist');
