/**
 * Memory per node process: the report's topology (topologies/report.json5) as real processes on
 * loopback, one headless client streaming a movie through a POP, and each process's resident set
 * (VmRSS) read from /proc while the stream flows, with its peak (VmHWM) at the end.
 */
import { join } from 'node:path';
import { type BenchPorts, benchRun } from '../common/emulation.ts';
import { processMemory } from '../common/proc.ts';

export interface NodeMemory {
  readonly node: string;
  readonly role: string;
  readonly rssMb: number;
  readonly peakMb: number;
}

export interface RssResult {
  readonly nodes: readonly NodeMemory[];
  readonly client: { readonly rssMb: number; readonly framesReceived: number } | null;
}

export interface RssOptions {
  readonly root: string;
  readonly dist: string;
  readonly moviesDir: string;
  readonly ports: BenchPorts;
  /** How long the client watches; memory is read halfway through. */
  readonly watchSeconds: number;
}

const MB = 1024;

export async function measureRss(opts: RssOptions): Promise<RssResult> {
  const run = benchRun(join(opts.root, 'topologies/report.json5'), opts.dist, opts.ports, opts.moviesDir, [
    '--probe-interval',
    '500',
  ]);
  try {
    run.start();
    await run.converged(30_000, { catalogue: false });
    const pop = run.topology.nodes.get('o5');
    const viewer = run.topology.clients.get('c1');
    if (pop === undefined || viewer === undefined)
      throw new Error('topologies/report.json5 no longer has POP o5 and client c1');
    const { child, done } = run.startClient([
      '--address',
      viewer.addresses[0] ?? '',
      '--pop',
      pop.clientAddresses[0] ?? '',
      '--movie',
      'bars.mjpeg',
      '--headless',
      '--duration',
      String(opts.watchSeconds),
    ]);
    await new Promise((r) => setTimeout(r, (opts.watchSeconds * 1000) / 2 + 500));
    const now = new Map([...run.emulator.pids()].map(([node, pid]) => [node, processMemory(pid)]));
    const clientMemory = child.pid === undefined ? null : processMemory(child.pid);
    const result = await done;
    const nodes: NodeMemory[] = [];
    for (const [node, pid] of run.emulator.pids()) {
      const mid = now.get(node);
      const end = processMemory(pid);
      if (mid === null || mid === undefined) continue;
      nodes.push({
        node,
        role: run.topology.nodes.get(node)?.role ?? '?',
        rssMb: mid.rssKb / MB,
        peakMb: Math.max(mid.hwmKb, end?.hwmKb ?? 0) / MB,
      });
    }
    let framesReceived = 0;
    try {
      framesReceived = Number((JSON.parse(result.stdout) as { framesReceived?: number }).framesReceived ?? 0);
    } catch {
      // No statistics: the client failed; framesReceived stays 0 and the table shows it.
    }
    return {
      nodes: nodes.sort((a, b) => (a.node < b.node ? -1 : 1)),
      client: clientMemory === null ? null : { rssMb: clientMemory.rssKb / MB, framesReceived },
    };
  } finally {
    await run.stop();
  }
}
