/**
 * A native topology file (JSON5, see topologies/README.md) from a graph of places with roles
 * (roles.ts): every place is a host and an overlay node, every edge an overlay link and a link of
 * the network under it (one /24 each), with a one-way delay from the great-circle distance between
 * its ends; each POP gets a client LAN with one client. Comments say where it came from and what
 * was repaired, so the file explains itself.
 */
import { MAX_ADDRESSES } from '../../common/wire/bootstrap-schema.ts';
import { TOPOLOGY_NAME } from '../../common/wire/names.ts';
import { type GeoGraph, type GeoNode, greatCircleKm, US_PER_KM } from './geo-graph.ts';
import { type Roles, RoleError } from './roles.ts';

/** Link L's /24 is 10.(1 + L / 256).(L % 256).0; POP P's client LAN is 10.(200 + P / 256).(P % 256).0. */
const MAX_LINKS = 198 * 256;
const MAX_POPS = 54 * 256;
const MAX_NAME_CHARS = 32;
/** When neither end of a link has coordinates and the file has no other delay to go by. */
const DEFAULT_DELAY_MS = 1;

export interface WriteOptions {
  /** Says where the graph came from (first comment lines), e.g. the command that made the file. */
  readonly header: readonly string[];
}

export function topologyText(r: Roles, o: WriteOptions): string {
  const g = r.graph;
  if (g.edges.length > MAX_LINKS)
    throw new RoleError(`${g.edges.length} links; at most ${MAX_LINKS} fit the address plan`);
  const popCount = g.nodes.filter((n) => r.role.get(n.id) === 'pop').length;
  const names = hostNames(
    g.nodes,
    Array.from({ length: popCount }, (_, i) => `c${i + 1}`),
  );
  const name = (id: string): string => names.get(id) as string;
  const { delays, guessed } = linkDelays(g);
  const addresses = new Map<string, string[]>(g.nodes.map((n) => [n.id, []]));
  g.edges.forEach((e, i) => {
    const net = subnet(1, i + 1);
    addresses.get(e.a)?.push(`${net}.1`);
    addresses.get(e.b)?.push(`${net}.2`);
  });
  const pops = g.nodes.filter((n) => r.role.get(n.id) === 'pop');
  if (pops.length > MAX_POPS) throw new RoleError(`${pops.length} POPs; at most ${MAX_POPS} fit the address plan`);
  const clientLan = new Map(pops.map((p, i) => [p.id, subnet(200, i + 1)]));
  for (const n of g.nodes) {
    const count = (addresses.get(n.id)?.length ?? 0) + (clientLan.has(n.id) ? 1 : 0);
    if (count > MAX_ADDRESSES) {
      throw new RoleError(`place '${n.label}' has ${count} links; a host may have at most ${MAX_ADDRESSES} addresses`);
    }
  }

  const out: string[] = [...o.header.map((l) => `// ${l}`)];
  out.push(`// One-way delays: great-circle distance at ${US_PER_KM} µs per km (light in fibre, about 2/3 of c).`);
  if (guessed > 0) out.push(`// ${guessed} links touch a place without coordinates: they take the median delay.`);
  for (const note of g.notes) out.push(`// Read: ${note}.`);
  out.push('// Addresses: link L (in the order below) is 10.(1 + L/256).(L%256).0/24, its first end .1 and its');
  out.push("// second .2; POP P's clients are on 10.(200 + P/256).(P%256).0/24 (the POP .1, its client .20).");
  out.push('{');
  const first = g.nodes.find((n) => r.role.get(n.id) === 'server') as GeoNode;
  out.push(`  bootstrapper: ${q(name(first.id))},`);
  out.push('  nodes: {');
  for (const n of g.nodes) {
    const role = r.role.get(n.id) ?? 'node';
    const own = addresses.get(n.id) ?? [];
    const lan = clientLan.get(n.id);
    const all = lan === undefined ? own : [...own, `${lan}.1`];
    const client = lan === undefined ? '' : `, clientAddresses: [${q(`${lan}.1`)}]`;
    const where = n.lat === null || n.lon === null ? 'no coordinates' : `${n.lat}, ${n.lon}`;
    const label = n.label.replace(/[\u0000-\u001f\u2028\u2029]+/g, ' ');
    out.push(
      `    ${q(name(n.id))}: { role: ${q(role)}, addresses: [${all.map(q).join(', ')}]${client} }, ` +
        `// ${label} (${where})`,
    );
  }
  out.push('  },');
  out.push('  links: [');
  for (const e of g.edges) out.push(`    { between: [${q(name(e.a))}, ${q(name(e.b))}] },`);
  out.push('  ],');
  out.push('  clients: {');
  pops.forEach((p, i) => {
    out.push(`    c${i + 1}: { addresses: [${q(`${clientLan.get(p.id)}.20`)}], pop: ${q(name(p.id))} },`);
  });
  out.push('  },');
  out.push('  network: {');
  out.push('    links: [');
  g.edges.forEach((e, i) => {
    out.push(`      { between: [${q(name(e.a))}, ${q(name(e.b))}], delayMs: ${delays[i]} },`);
  });
  pops.forEach((p, i) => {
    out.push(`      { between: [${q(name(p.id))}, 'c${i + 1}'] },`);
  });
  out.push('    ],');
  out.push('  },');
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** Each link's one-way delay in ms; a link with an end without coordinates takes the median of the others. */
function linkDelays(g: GeoGraph): { delays: number[]; guessed: number } {
  const at = new Map(g.nodes.map((n) => [n.id, n]));
  const known = g.edges.map((e) => {
    const a = at.get(e.a);
    const b = at.get(e.b);
    if (a?.lat == null || a.lon == null || b?.lat == null || b.lon == null) return null;
    return round((greatCircleKm(a.lat, a.lon, b.lat, b.lon) * US_PER_KM) / 1000);
  });
  const sorted = known.filter((d): d is number => d !== null).sort((x, y) => x - y);
  const median = sorted.length === 0 ? DEFAULT_DELAY_MS : (sorted[sorted.length >> 1] as number);
  return { delays: known.map((d) => d ?? median), guessed: known.filter((d) => d === null).length };
}

/** Names from the places' labels (a letter first; letters, digits, '-' and '_'), unique. */
function hostNames(nodes: readonly GeoNode[], reserved: readonly string[]): Map<string, string> {
  const taken = new Set<string>(reserved);
  const out = new Map<string, string>();
  for (const n of nodes) {
    let base = n.label
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^A-Za-z0-9_-]+/g, '_')
      .replace(/^[_-]+|[_-]+$/g, '')
      .slice(0, MAX_NAME_CHARS - 4);
    if (!TOPOLOGY_NAME.test(base)) base = `x${base}`.slice(0, MAX_NAME_CHARS - 4);
    let name = base;
    for (let k = 2; taken.has(name.toLowerCase()); k++) name = `${base}-${k}`;
    taken.add(name.toLowerCase());
    out.set(n.id, name);
  }
  return out;
}

function subnet(firstOctet: number, index: number): string {
  return `10.${firstOctet + (index >> 8)}.${index & 255}`;
}

function q(s: string): string {
  return `'${s}'`;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
