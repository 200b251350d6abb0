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
