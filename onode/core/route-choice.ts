/**
 * The report's route metric: lowest latency first; among routes within 10% of the lowest
 * latency, fewer hops wins. Further ties go to lower latency, then neighbour name, so the
 * choice is deterministic.
 */
export const LATENCY_TOLERANCE = 0.1;

export interface Metric {
  readonly latencyMs: number;
  readonly hops: number;
  readonly via: string;
}

export function chooseBest<T extends Metric>(candidates: readonly T[]): T | undefined {
  if (candidates.length === 0) return undefined;
  let lowest = Infinity;
  for (const c of candidates) lowest = Math.min(lowest, c.latencyMs);
  const limit = lowest * (1 + LATENCY_TOLERANCE);
  let best: T | undefined;
  for (const c of candidates) {
    if (c.latencyMs > limit) continue;
    if (best === undefined || compareNear(c, best) < 0) best = c;
  }
  return best;
}

function compareNear(a: Metric, b: Metric): number {
  if (a.hops !== b.hops) return a.hops - b.hops;
  if (a.latencyMs !== b.latencyMs) return a.latencyMs - b.latencyMs;
  return a.via < b.via ? -1 : a.via > b.via ? 1 : 0;
}
