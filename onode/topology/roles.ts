/**
 * Which places of a GeoGraph become servers, relays and POPs, reproducibly: servers are the
 * best-connected places (highest degree: the core of the network), POPs the edge places (lowest
 * degree), ties broken by a seeded shuffle; the rest relay. Only the largest connected part of the
 * graph is used (an overlay must connect every POP to a server); what is left out is said.
 */
import { type GeoGraph, seededRandom } from './geo-graph.ts';

export type Role = 'server' | 'node' | 'pop';

export class RoleError extends Error {
  override readonly name = 'RoleError';
}

export interface RoleSpec {
  readonly servers: number;
  readonly pops: number;
  readonly seed: number;
}

export interface Roles {
  /** The graph's largest connected part, with every place's role (servers first, then relays, then POPs). */
  readonly graph: GeoGraph;
  readonly role: ReadonlyMap<string, Role>;
}

export function chooseRoles(g: GeoGraph, spec: RoleSpec): Roles {
  for (const [field, n, min] of [
    ['--servers', spec.servers, 1],
    ['--pops', spec.pops, 1],
  ] as const) {
    if (!Number.isInteger(n) || n < min)
      throw new RoleError(`${field} must be a whole number, ${min} or more (got ${n})`);
  }
  const part = largestPart(g);
  const needed = spec.servers + spec.pops;
  if (part.nodes.length < needed) {
    const where = part.nodes.length < g.nodes.length ? 'its largest connected part has' : 'it has';
    throw new RoleError(
      `${where} ${part.nodes.length} places; --servers ${spec.servers} --pops ${spec.pops} needs at least ${needed}`,
    );
  }
  const degree = new Map<string, number>(part.nodes.map((n) => [n.id, 0]));
  for (const e of part.edges) {
    degree.set(e.a, (degree.get(e.a) ?? 0) + 1);
    degree.set(e.b, (degree.get(e.b) ?? 0) + 1);
  }
  // A seeded shuffle first, then a stable sort: ties fall in the shuffled order.
  const rand = seededRandom(spec.seed);
  const order = part.nodes.map((n) => n.id);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j] as string, order[i] as string];
  }
  const byDegree = [...order].sort((x, y) => (degree.get(y) ?? 0) - (degree.get(x) ?? 0));
  const role = new Map<string, Role>();
  for (const id of byDegree.slice(0, spec.servers)) role.set(id, 'server');
  let pops = 0;
  for (const id of byDegree.reverse()) {
    if (pops >= spec.pops) break;
    if (role.has(id)) continue;
    role.set(id, 'pop');
    pops++;
  }
  for (const id of order) if (!role.has(id)) role.set(id, 'node');
  const rank = { server: 0, node: 1, pop: 2 } as const;
  const nodes = [...part.nodes].sort((x, y) => rank[role.get(x.id) ?? 'node'] - rank[role.get(y.id) ?? 'node']);
  return { graph: { ...part, nodes }, role };
}

/** The largest connected part (ties: the one with the first place in file order). */
function largestPart(g: GeoGraph): GeoGraph {
  const adjacent = new Map<string, string[]>(g.nodes.map((n) => [n.id, []]));
  for (const e of g.edges) {
    adjacent.get(e.a)?.push(e.b);
    adjacent.get(e.b)?.push(e.a);
  }
  const partOf = new Map<string, number>();
  const sizes: number[] = [];
  for (const start of g.nodes) {
    if (partOf.has(start.id)) continue;
    const index = sizes.length;
    let size = 0;
    const stack = [start.id];
    partOf.set(start.id, index);
    while (stack.length > 0) {
      const id = stack.pop() as string;
      size++;
      for (const next of adjacent.get(id) ?? []) {
        if (partOf.has(next)) continue;
        partOf.set(next, index);
        stack.push(next);
      }
    }
    sizes.push(size);
  }
  if (sizes.length <= 1) return g;
  const best = sizes.indexOf(Math.max(...sizes));
  const nodes = g.nodes.filter((n) => partOf.get(n.id) === best);
  const left = g.nodes.length - nodes.length;
  const note =
    `${sizes.length} disconnected parts: the largest (${nodes.length} places) is used, ` + `${left} places left out`;
  return {
    ...g,
    nodes,
    edges: g.edges.filter((e) => partOf.get(e.a) === best),
    notes: [...g.notes, note],
  };
}
