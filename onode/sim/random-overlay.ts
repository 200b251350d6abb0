/**
 * Seeded random overlays for simulations and benchmarks: a connected graph (a random spanning
 * tree plus extra edges, so there are cycles) with servers, relays and POPs and random link delays.
 */
import type { ChannelMovie } from '../core/movie-channel.ts';
import type { OverlayOptions } from '../core/overlay-node.ts';
import { fakeMovie, SimNetwork } from './sim-network.ts';

export interface RandomOverlaySpec {
  readonly nodes: number;
  readonly servers: number;
  readonly pops: number;
  /** Extra edges beyond the spanning tree, as a multiple of node count; default 0.6. */
  readonly extraEdges?: number;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly seed?: number;
  /** Movies every server carries; default two fake movies. */
  readonly movies?: readonly ChannelMovie[];
  /** Per-node clock offsets in ms (unsynchronised hosts); default none. */
  readonly clockSkewMs?: number;
  readonly options?: OverlayOptions;
}

export interface RandomOverlay {
  readonly net: SimNetwork;
  readonly servers: string[];
  readonly relays: string[];
  readonly pops: string[];
  readonly edges: ReadonlyArray<readonly [string, string, number]>;
}

export function randomOverlay(spec: RandomOverlaySpec): RandomOverlay {
  let state = (spec.seed ?? 7) >>> 0 || 1;
  const rand = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
  const minDelay = spec.minDelayMs ?? 1;
  const maxDelay = spec.maxDelayMs ?? 20;
  const delay = (): number => Math.round(minDelay + rand() * (maxDelay - minDelay));
  const movies = spec.movies ?? [fakeMovie('alpha.mjpeg'), fakeMovie('beta.mjpeg')];
  const servers = Array.from({ length: spec.servers }, (_, i) => `s${i + 1}`);
  const pops = Array.from({ length: spec.pops }, (_, i) => `p${i + 1}`);
  const relayCount = spec.nodes - spec.servers - spec.pops;
  if (relayCount < 1) throw new RangeError('need at least one relay');
  const relays = Array.from({ length: relayCount }, (_, i) => `n${i + 1}`);
  const net = new SimNetwork(spec.options, spec.seed ?? 7);
  const skew = spec.clockSkewMs ?? 0;
  for (const s of servers) net.addNode(s, movies, Math.round((rand() - 0.5) * 2 * skew));
  for (const n of [...relays, ...pops]) net.addNode(n, [], Math.round((rand() - 0.5) * 2 * skew));

  const edges: Array<[string, string, number]> = [];
  const seen = new Set<string>();
  const addEdge = (a: string, b: string): void => {
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    if (a === b || seen.has(key)) return;
    seen.add(key);
    const d = delay();
    edges.push([a, b, d]);
    net.addLink(a, b, d);
  };
  // Spanning tree over relays, then servers and POPs attach to relays (POPs are leaves or near-leaves).
  for (let i = 1; i < relays.length; i++) addEdge(relays[i]!, relays[Math.floor(rand() * i)]!);
  const pick = (): string => relays[Math.floor(rand() * relays.length)]!;
  for (const s of servers) {
    addEdge(s, pick());
    addEdge(s, pick());
  }
  for (const p of pops) {
    addEdge(p, pick());
    if (rand() < 0.5) addEdge(p, pick());
  }
  const extra = Math.round((spec.extraEdges ?? 0.6) * relays.length);
  for (let i = 0; i < extra; i++) addEdge(pick(), pick());
  return { net, servers, relays, pops, edges };
}

/**
 * Shortest one-way latency from every node to `source` (Dijkstra over link delays, with a binary
 * heap: O(E log V), so 10,000-node overlays take milliseconds per server). Among equally fast
 * nodes, the one reached first is settled first, and a path is replaced only by a strictly faster
 * one: the hop counts are those of the first fastest path found.
 */
export function shortestLatencies(
  edges: ReadonlyArray<readonly [string, string, number]>,
  source: string,
): Map<string, { latencyMs: number; hops: number }> {
  const adj = new Map<string, Array<[string, number]>>();
  for (const [a, b, d] of edges) {
    (adj.get(a) ?? adj.set(a, []).get(a)!).push([b, d]);
    (adj.get(b) ?? adj.set(b, []).get(b)!).push([a, d]);
  }
  const dist = new Map<string, { latencyMs: number; hops: number; order: number }>([
    [source, { latencyMs: 0, hops: 0, order: 0 }],
  ]);
  const done = new Set<string>();
  const heap = new MinHeap<{ latencyMs: number; order: number; node: string }>(
    (x, y) => x.latencyMs < y.latencyMs || (x.latencyMs === y.latencyMs && x.order < y.order),
  );
  heap.push({ latencyMs: 0, order: 0, node: source });
  for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
    const u = top.node;
    const du = dist.get(u)!;
    if (done.has(u) || top.latencyMs !== du.latencyMs) continue; // an older, slower entry
    done.add(u);
    for (const [v, d] of adj.get(u) ?? []) {
      const old = dist.get(v);
      const latencyMs = du.latencyMs + d;
      if (old !== undefined && !(latencyMs < old.latencyMs)) continue;
      const order = old?.order ?? dist.size;
      dist.set(v, { latencyMs, hops: du.hops + 1, order });
      heap.push({ latencyMs, order, node: v });
    }
  }
  const out = new Map<string, { latencyMs: number; hops: number }>();
  for (const [n, { latencyMs, hops }] of dist) out.set(n, { latencyMs, hops });
  return out;
}

/** A binary min-heap under `before`. */
class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  push(item: T): void {
    const q = this.items;
    q.push(item);
    for (let i = q.length - 1; i > 0; ) {
      const parent = (i - 1) >>> 1;
      if (!this.before(q[i]!, q[parent]!)) break;
      [q[i], q[parent]] = [q[parent]!, q[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const q = this.items;
    const top = q[0];
    const last = q.pop();
    if (q.length === 0 || last === undefined) return top;
    q[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < q.length && this.before(q[l]!, q[m]!)) m = l;
      if (r < q.length && this.before(q[r]!, q[m]!)) m = r;
      if (m === i) break;
      [q[i], q[m]] = [q[m]!, q[i]!];
      i = m;
    }
    return top;
  }
}
