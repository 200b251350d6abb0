import { describe, expect, it } from 'vitest';
import { randomOverlay, shortestLatencies } from '../../../onode/sim/random-overlay.ts';

describe('shortestLatencies', () => {
  it('finds the lowest-latency path, not the fewest hops', () => {
    const edges = [
      ['s', 'a', 10],
      ['a', 'b', 10],
      ['s', 'c', 2],
      ['c', 'd', 2],
      ['d', 'b', 2],
      ['x', 'y', 1],
    ] as const;
    const d = shortestLatencies(edges, 's');
    expect(d.get('s')).toEqual({ latencyMs: 0, hops: 0 });
    expect(d.get('b')).toEqual({ latencyMs: 6, hops: 3 });
    expect(d.get('a')).toEqual({ latencyMs: 10, hops: 1 });
    expect(d.has('x')).toBe(false);
  });
});

describe('randomOverlay', () => {
  it('builds the requested roles on a connected graph, deterministically per seed', () => {
    const spec = { nodes: 60, servers: 4, pops: 12, seed: 5 };
    const a = randomOverlay(spec);
    const b = randomOverlay(spec);
    expect(a.edges).toEqual(b.edges);
    expect(a.servers).toHaveLength(4);
    expect(a.pops).toHaveLength(12);
    expect(a.relays).toHaveLength(44);
    expect(a.net.names()).toHaveLength(60);
    expect(shortestLatencies(a.edges, 's1').size).toBe(60);
    for (const [, , d] of a.edges) {
      expect(d).toBeGreaterThanOrEqual(1);
      expect(d).toBeLessThanOrEqual(20);
    }
    expect(randomOverlay({ ...spec, seed: 6 }).edges).not.toEqual(a.edges);
  });

  it('rejects a spec with no room for relays', () => {
    expect(() => randomOverlay({ nodes: 5, servers: 3, pops: 2 })).toThrow(RangeError);
  });
});
