/**
 * The benchmarks' emulated topologies: the shared loopback run (onode/emulators/loopback-run.ts)
 * on the benchmark's own ports, with nodes that print warnings only.
 */
import { LoopbackRun, type RunPorts } from '../../onode/emulators/loopback-run.ts';

export type BenchPorts = RunPorts;

/** A run of `file` with the compiled tree `dist`; `nodeArgs` go to every node after the log level. */
export function benchRun(
  file: string,
  dist: string,
  ports: BenchPorts,
  moviesDir: string | undefined,
  nodeArgs: readonly string[] = [],
): LoopbackRun {
  return new LoopbackRun(file, ports, {
    dist,
    ...(moviesDir === undefined ? {} : { moviesDir }),
    nodeArgs: ['--log-level', 'warn', ...nodeArgs],
  });
}

/** Routes come first; the POP answers 404 until the servers' catalogue has reached it too. */
export async function untilCatalogued(
  run: LoopbackRun,
  pop: string,
  movies: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const names = ((await run.statusOrNull(pop))?.catalogue ?? []).map((m) => m.name);
    if (movies.every((m) => names.includes(m))) return;
    if (performance.now() > deadline)
      throw new Error(
        `${pop} has no catalogue entry for ${movies.join(', ')} after ${timeoutMs} ms ` +
          `(it has ${names.join(', ') || 'none'})`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
