/**
 * Writes the sample movies (common/samples/sample-movies.ts, and the H.264 + AAC one of
 * common/samples/av-sample.ts when ffmpeg is installed) into a directory:
 *
 *   tsx scripts/make-movies.ts [DIR] [--force]      (npm run movies)
 *   node dist/scripts/make-movies.js [DIR] [--force]
 *
 * DIR defaults to movies/ at the repository root. Existing files are kept unless --force.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { makeAvSample } from '../common/samples/av-sample.ts';
import { makeSampleMovies } from '../common/samples/sample-movies.ts';
import { ROOT } from './repository-root.ts';

async function main(): Promise<void> {
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
  const av = await makeAvSample(dir, parsed.values.force === true);
  if (av.kind === 'written') console.log(`wrote ${av.path}`);
  else if (av.kind === 'kept') console.log(`kept ${av.path} (exists; --force rewrites it)`);
  else console.log(`no H.264 + AAC sample: ${av.reason}; the MJPEG samples do not need it`);
}

await main();
