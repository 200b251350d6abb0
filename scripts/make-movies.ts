/**
 * Writes the sample movies (common/samples/sample-movies.ts) into a directory:
 *
 *   tsx scripts/make-movies.ts [DIR] [--force]      (npm run movies)
 *   node dist/scripts/make-movies.js [DIR] [--force]
 *
 * DIR defaults to movies/ at the repository root. Existing files are kept unless --force.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSampleMovies } from '../common/samples/sample-movies.ts';
import { ROOT } from './repository-root.ts';

function main(): void {
  const usage = 'usage: make-movies [DIR] [--force]   (DIR defaults to movies/ at the repository root)';
  const config = {
    allowPositionals: true,
    options: { force: { type: 'boolean', short: 'f' }, help: { type: 'boolean', short: 'h' } },
  } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exitCode = 2;
    return;
  }
  if (parsed.values.help === true) {
    console.log(usage);
    return;
  }
  if (parsed.positionals.length > 1) {
    console.error(`expected at most one directory, got ${parsed.positionals.length} arguments\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const dir = resolve(parsed.positionals[0] ?? join(ROOT, 'movies'));
  const { written, kept } = makeSampleMovies(dir, { force: parsed.values.force === true });
  for (const path of written) console.log(`wrote ${path}`);
  for (const path of kept) console.log(`kept ${path} (exists; --force rewrites it)`);
}

main();
