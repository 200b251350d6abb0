// Shared launcher for the bins: load the compiled entry point, or explain how to build it.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

export async function runEntry(relative) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const file = join(root, 'dist', relative);
  if (!existsSync(file)) {
    process.stderr.write(`error: ${file} is missing; run "npm run build" (npm ci does it) in ${root}\n`);
    process.exit(1);
  }
  await import(pathToFileURL(file).href);
}
