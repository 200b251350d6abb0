/**
 * generateGraph: the invariants every generated graph keeps (connected, simple, ids 0..n-1, inside
 * the box, reproducible from its seed) checked over random seeds and sizes, the shape each model
 * should have, and refusals of bad specs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GeoGraph, GeoNode } from '../../../onode/topology/geo-graph.ts';
import {
  BOX,
  type GenerateSpec,
  GenerateError,
  MAX_GENERATED_DEGREE,
  type GraphModel,
  generateGraph,
} from '../../../onode/topology/generate.ts';

const MODELS: readonly GraphModel[] = ['waxman', 'barabasi-albert'];
const seeds = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const specs = fc.record({
  nodes: fc.integer({ min: 2, max: 300 }),
  model: fc.constantFrom(...MODELS),
  seed: seeds,
});

function degrees(g: GeoGraph): number[] {
  const deg = new Array<number>(g.nodes.length).fill(0);
  for (const e of g.edges) {
    deg[Number(e.a)]!++;
    deg[Number(e.b)]!++;
  }
  return deg;
}

function isConnected(g: GeoGraph): boolean {
  const adj = g.nodes.map(() => [] as number[]);
  for (const e of g.edges) {
    adj[Number(e.a)]!.push(Number(e.b));
    adj[Number(e.b)]!.push(Number(e.a));
  }
  const seen = new Uint8Array(g.nodes.length);
  const stack = [0];
  seen[0] = 1;
  let reached = 1;
  while (stack.length > 0) {
    for (const v of adj[stack.pop()!]!) {
      if (seen[v]) continue;
      seen[v] = 1;
      reached++;
      stack.push(v);
    }
  }
  return reached === g.nodes.length;
}

/** The invariants GeoGraph promises, plus the generator's own (ids, labels, box). */
function expectWellFormed(g: GeoGraph, n: number): void {
  expect(g.nodes.map((v) => v.id)).toEqual(Array.from({ length: n }, (_, i) => String(i)));
  expect(g.nodes.map((v) => v.label)).toEqual(Array.from({ length: n }, (_, i) => `g${i + 1}`));
  // One expect per list, not per item: a property runs this on thousands of edges.
  const inBox = (v: GeoNode): boolean =>
    v.lat !== null &&
    v.lon !== null &&
    Number.isFinite(v.lat) &&
    Number.isFinite(v.lon) &&
    v.lat >= BOX.latMin &&
    v.lat <= BOX.latMax &&
    v.lon >= BOX.lonMin &&
    v.lon <= BOX.lonMax;
  expect(g.nodes.filter((v) => !inBox(v))).toEqual([]);
  expect(g.edges.filter((e) => !(Number(e.a) < Number(e.b) && Number(e.b) < n))).toEqual([]);
  const keys = new Set(g.edges.map((e) => `${e.a}-${e.b}`));
  expect(keys.size).toBe(g.edges.length);
  expect(isConnected(g)).toBe(true);
}

describe('generateGraph invariants', () => {
  it('gives a connected simple graph with ids 0..n-1 inside the box, for any seed and size', () => {
    fc.assert(
      fc.property(specs, (spec) => {
        expectWellFormed(generateGraph(spec), spec.nodes);
      }),
    );
  });

  it('gives the same graph for the same seed', () => {
    fc.assert(
      fc.property(specs, (spec) => {
        expect(generateGraph({ ...spec })).toEqual(generateGraph(spec));
      }),
    );
  });

  it('gives different graphs for different seeds', () => {
    fc.assert(
      fc.property(specs, seeds, (spec, other) => {
        fc.pre(other !== spec.seed);
        expect(generateGraph({ ...spec, seed: other })).not.toEqual(generateGraph(spec));
      }),
    );
  });

  it('keeps the invariants when Waxman leaves many islands to join', () => {
    fc.assert(
      fc.property(seeds, fc.integer({ min: 20, max: 200 }), (seed, nodes) => {
        const g = generateGraph({ nodes, model: 'waxman', seed, alpha: 0.001, beta: 0.01 });
        expectWellFormed(g, nodes);
        expect(g.notes.join('\n')).toMatch(/joined \d+ component/);
      }),
      { numRuns: 20 },
    );
  });

  it('names the model and its parameters', () => {
    expect(generateGraph({ nodes: 100, model: 'waxman', seed: 7, alpha: 0.4 }).name).toBe(
      'waxman n=100 alpha=0.4 beta=0.15 seed=7',
    );
    expect(generateGraph({ nodes: 100, model: 'barabasi-albert', seed: 7, m: 3 }).name).toBe(
      'barabasi-albert n=100 m=3 seed=7',
    );
    // The default m of 2 needs three nodes; two get m = 1.
    expect(generateGraph({ nodes: 2, model: 'barabasi-albert', seed: 7 }).name).toBe('barabasi-albert n=2 m=1 seed=7');
  });
});

describe('model shapes', () => {
  it('Barabási–Albert grows hubs: the largest degree is far above the median', () => {
    fc.assert(
      fc.property(seeds, (seed) => {
        const deg = degrees(generateGraph({ nodes: 1000, model: 'barabasi-albert', seed })).sort((a, b) => a - b);
        expect(deg[deg.length - 1]!).toBeGreaterThanOrEqual(5 * deg[500]!);
      }),
      { numRuns: 10 },
    );
  });

  it('Barabási–Albert makes m links per new node on a clique of m + 1', () => {
    fc.assert(
      fc.property(seeds, fc.integer({ min: 2, max: 200 }), fc.integer({ min: 1, max: 30 }), (seed, nodes, m) => {
        fc.pre(m < nodes);
        const g = generateGraph({ nodes, model: 'barabasi-albert', seed, m });
        expect(g.edges.length).toBe((m * (m + 1)) / 2 + m * (nodes - m - 1));
        expect(g.notes).toEqual([]);
      }),
    );
  });

  it('Waxman by default gives about four links per place, whatever the size', () => {
    for (const nodes of [50, 500, 3000]) {
      const g = generateGraph({ nodes, model: 'waxman', seed: 3 });
      const mean = (2 * g.edges.length) / nodes;
      expect(mean, `${nodes} places`).toBeGreaterThan(3);
      expect(mean, `${nodes} places`).toBeLessThan(5.5);
    }
  });

  it('no Barabási–Albert hub gets more than MAX_GENERATED_DEGREE links (a host holds 64 addresses)', () => {
    const g = generateGraph({ nodes: 5000, model: 'barabasi-albert', seed: 1, m: 3 });
    const degree = new Map<string, number>();
    for (const e of g.edges) for (const x of [e.a, e.b]) degree.set(x, (degree.get(x) ?? 0) + 1);
    expect(Math.max(...degree.values())).toBe(MAX_GENERATED_DEGREE);
  });

  it('Waxman with a larger alpha gives more edges on average', () => {
    const mean = (alpha: number): number => {
      let total = 0;
      for (let seed = 0; seed < 20; seed++)
        total += generateGraph({ nodes: 100, model: 'waxman', seed, alpha }).edges.length;
      return total / 20;
    };
    expect(mean(0.8)).toBeGreaterThan(1.5 * mean(0.2));
  });

  it.each(MODELS)('generates 10,000 nodes of %s', (model) => {
    const g = generateGraph({ nodes: 10_000, model, seed: 42 });
    expect(g.nodes).toHaveLength(10_000);
    expect(isConnected(g)).toBe(true);
  });
});

describe('bad specs', () => {
  const base: GenerateSpec = { nodes: 10, model: 'waxman', seed: 1 };
  it.each<[string, Partial<Record<keyof GenerateSpec, unknown>>]>([
    ['--nodes', { nodes: 1 }],
    ['--nodes', { nodes: 2.5 }],
    ['--nodes', { nodes: 100_001 }],
    ['--nodes', { nodes: Number.NaN }],
    ['--model', { model: 'erdos-renyi' }],
    ['--seed', { seed: 0.5 }],
    ['--seed', { seed: Number.POSITIVE_INFINITY }],
    ['--alpha', { alpha: 0 }],
    ['--alpha', { alpha: 1.5 }],
    ['--alpha', { alpha: Number.NaN }],
    ['--beta', { beta: -0.1 }],
    ['--beta', { beta: '0.2' }],
    ['--m', { m: 0 }],
    ['--m', { m: 1.5 }],
    ['--m', { m: 10, model: 'barabasi-albert' }],
  ])('refuses a bad %s: %o', (field, change) => {
    const spec = { ...base, ...change } as GenerateSpec;
    expect(() => generateGraph(spec)).toThrow(GenerateError);
    expect(() => generateGraph(spec)).toThrow(new RegExp(`^${field} must be`));
  });

  it('says what was wrong and how to fix it', () => {
    expect(() => generateGraph({ ...base, nodes: 1 })).toThrow('--nodes must be an integer from 2 to 100000 (got 1)');
  });
});
