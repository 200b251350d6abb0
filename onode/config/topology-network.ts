/**
 * The underlay network emulators build (Mininet, CORE), in the native format's `network`:
 *
 *   network: {
 *     routers?: { NAME: { addresses: [IP, ...] } },
 *     links: [ { between: [HOST, HOST, ...], addresses?: { HOST: IP }, delayMs?, lossPct?, rateKbps? } ],
 *   }
 *
 * A host is a node, a client or a router. Each link is one /24: by default each end uses its
 * address on the /24 all ends share. Two ends make a point-to-point link, more make a LAN (a
 * switch). Without `network`, the network is derived: one link per /24 two or more hosts share.
 */
import type { NetworkEnd, NetworkLink, NetworkRouter, TopologyNetwork } from './topology.ts';
import { TopologyError } from './topology-error.ts';
import { at, checkName, describeValue, isRecord, readAddress, readAddressList, readNumber, rejectUnknownKeys } from './topology-fields.ts';
import { slash24 } from './topology-ipv4.ts';

const NETWORK_KEYS = ['routers', 'links'] as const;
const ROUTER_KEYS = ['addresses'] as const;
const LINK_KEYS = ['between', 'addresses', 'delayMs', 'lossPct', 'rateKbps'] as const;

/** A host the network can link: its name and addresses, with where it was declared for messages. */
export interface NetworkHost {
  readonly name: string;
  readonly addresses: readonly string[];
}

export function routerWhere(name: string): string {
  return `router '${name}'`;
}

/** Reads `network.routers` (names must not clash with `taken`, the node and client names). */
export function readRouters(value: unknown, taken: ReadonlySet<string>, file: string): NetworkRouter[] {
  const where = at('network', 'routers');
  if (value === undefined) return [];
  if (!isRecord(value)) throw new TopologyError(file, where, `expected an object of routers by name, got ${describeValue(value)}`, "write it as routers: { r1: { addresses: ['10.0.18.1', '10.0.14.2'] } }");
  return Object.entries(value).map(([name, spec]) => {
    const owner = routerWhere(name);
    checkName(name, file, owner);
    if (taken.has(name)) throw new TopologyError(file, owner, `'${name}' is also the name of a node or client`, 'give the router a name of its own');
    if (!isRecord(spec)) throw new TopologyError(file, owner, `expected an object, got ${describeValue(spec)}`, "write it as { addresses: ['10.0.18.1', '10.0.14.2'] }");
    rejectUnknownKeys(spec, ROUTER_KEYS, file, owner);
    return { name, addresses: readAddressList(spec.addresses, file, owner, 'addresses') };
  });
}

/** Reads the `network` section, once nodes and clients are known. */
export function readNetwork(value: unknown, nodesAndClients: readonly NetworkHost[], file: string): { routers: NetworkRouter[]; links: NetworkLink[] } {
  if (!isRecord(value)) {
    throw new TopologyError(file, 'network', `expected an object, got ${describeValue(value)}`, "write it as network: { routers: { ... }, links: [ { between: ['s1', 'o2'], delayMs: 2 } ] }");
  }
  rejectUnknownKeys(value, NETWORK_KEYS, file, 'network');
  const routers = readRouters(value.routers, new Set(nodesAndClients.map((h) => h.name)), file);
  const hosts = new Map<string, NetworkHost>([...nodesAndClients, ...routers].map((h) => [h.name, h]));
  const where = at('network', 'links');
  if (value.links === undefined) throw new TopologyError(file, where, 'is missing', "list the network's links: links: [ { between: ['s1', 'o2'] }, ... ]");
  if (!Array.isArray(value.links)) throw new TopologyError(file, where, `expected a list of links, got ${describeValue(value.links)}`, "write it as [ { between: ['s1', 'o2'] }, ... ]");
  const usedBy = new Map<string, string>();
  const subnets = new Map<string, string>();
  const links = value.links.map((spec: unknown, index) => {
    const owner = `network.links[${index}]`;
    if (!isRecord(spec)) throw new TopologyError(file, owner, `expected an object, got ${describeValue(spec)}`, "write it as { between: ['s1', 'o2'], delayMs: 2 }");
    rejectUnknownKeys(spec, LINK_KEYS, file, owner);
    const link = readLink(spec, hosts, file, owner);
    const named = `${owner} between ${link.ends.map((e) => `'${e.host}'`).join(', ')}`;
    const earlier = subnets.get(link.subnet);
    if (earlier !== undefined) throw new TopologyError(file, named, `${link.subnet} is also the subnet of ${earlier}`, 'give every link a /24 of its own (join three or more hosts in one link for a LAN)');
    subnets.set(link.subnet, owner);
    for (const end of link.ends) {
      const other = usedBy.get(end.address);
      if (other !== undefined) throw new TopologyError(file, at(named, `addresses.${end.host}`), `'${end.address}' is already used on ${other}`, 'an address sits on one link only; give the host another address for this link');
      usedBy.set(end.address, owner);
    }
    return link;
  });
  return { routers, links };
}

function readLink(spec: Record<string, unknown>, hosts: ReadonlyMap<string, NetworkHost>, file: string, owner: string): NetworkLink {
  const where = at(owner, 'between');
  const example = "between: ['s1', 'o2'] (three or more names make a LAN)";
  if (spec.between === undefined) throw new TopologyError(file, where, 'is missing', `name the hosts it joins, e.g. ${example}`);
  if (!Array.isArray(spec.between) || spec.between.length < 2) {
    throw new TopologyError(file, where, `expected a list of two or more host names, got ${Array.isArray(spec.between) ? `${spec.between.length} item(s)` : describeValue(spec.between)}`, `write it as ${example}`);
  }
  const members = spec.between.map((name: unknown, i) => {
    const host = typeof name === 'string' ? hosts.get(name) : undefined;
    if (host !== undefined) return host;
    const problem = typeof name === 'string' ? `'${name}' is not a node, client or router` : `expected a host name, got ${describeValue(name)}`;
    throw new TopologyError(file, at(owner, `between[${i}]`), problem, `use one of: ${[...hosts.keys()].join(', ')}, or declare it in network.routers`);
  });
  members.forEach((m, i) => {
    if (members.indexOf(m) !== i) throw new TopologyError(file, where, `names '${m.name}' twice`, 'name each host once');
  });
  const named = `${owner} between ${members.map((m) => `'${m.name}'`).join(', ')}`;
  const explicit = readEndAddresses(spec.addresses, members, file, named);
  const subnet = chooseSubnet(members, explicit, file, named);
  const ends: NetworkEnd[] = members.map((m) => {
    const given = explicit.get(m.name);
    if (given !== undefined) {
      if (slash24(given) !== subnet) throw new TopologyError(file, at(named, `addresses.${m.name}`), `'${given}' is not on ${subnet}, the link's subnet`, 'give every end an address on the same /24');
      return { host: m.name, address: given };
    }
    const candidates = m.addresses.filter((a) => slash24(a) === subnet);
    const [address] = candidates;
    if (address === undefined) throw new TopologyError(file, named, `'${m.name}' has no address on ${subnet}`, `add one to its addresses, or set addresses: { ${m.name}: '...' }`);
    if (candidates.length > 1) throw new TopologyError(file, named, `'${m.name}' has ${candidates.length} addresses on ${subnet} (${candidates.join(', ')})`, `say which: addresses: { ${m.name}: '${address}' }`);
    return { host: m.name, address };
  });
  return {
    ends,
    subnet,
    delayMs: readNumber(spec.delayMs, 0, file, at(named, 'delayMs'), (n) => n >= 0, 'a one-way delay in ms, 0 or more', 'delayMs: 2'),
    lossPct: readNumber(spec.lossPct, 0, file, at(named, 'lossPct'), (n) => n >= 0 && n <= 100, 'a loss percentage from 0 to 100', 'lossPct: 1.5'),
    rateKbps: spec.rateKbps === null ? null : readNumber(spec.rateKbps, null, file, at(named, 'rateKbps'), (n) => n > 0, 'a rate in kbit/s above 0', 'rateKbps: 10000, or null (or nothing) for unlimited'),
  };
}

function readEndAddresses(value: unknown, members: readonly NetworkHost[], file: string, owner: string): Map<string, string> {
  const chosen = new Map<string, string>();
  if (value === undefined) return chosen;
  if (!isRecord(value)) throw new TopologyError(file, at(owner, 'addresses'), `expected an object of addresses by host name, got ${describeValue(value)}`, `write it as addresses: { ${members[0]?.name ?? 'h'}: '...' }`);
  for (const [name, raw] of Object.entries(value)) {
    const field = `addresses.${name}`;
    const host = members.find((m) => m.name === name);
    if (host === undefined) throw new TopologyError(file, at(owner, field), `'${name}' is not an end of this link`, `key the addresses by ${members.map((m) => `'${m.name}'`).join(', ')}`);
    const address = readAddress(raw, file, owner, field);
    if (!host.addresses.includes(address)) throw new TopologyError(file, at(owner, field), `'${address}' is not one of '${name}''s addresses`, `use one of ${host.addresses.join(', ')}, or add it to its addresses`);
    chosen.set(name, address);
  }
  return chosen;
}

/** The /24 of the explicit addresses, else the one /24 every member has an address on. */
function chooseSubnet(members: readonly NetworkHost[], explicit: ReadonlyMap<string, string>, file: string, owner: string): string {
  const [first] = explicit.values();
  if (first !== undefined) return slash24(first);
  const shared = [...new Set(members[0]?.addresses.map(slash24) ?? [])].filter((s) => members.every((m) => m.addresses.some((a) => slash24(a) === s)));
  const [subnet] = shared;
  if (subnet === undefined) {
    throw new TopologyError(file, owner, 'the hosts share no /24', `give each an address on one /24 (e.g. ${members.map((m, i) => `${m.name} 10.9.9.${i + 1}`).join(', ')}), or set addresses: { ... }`);
  }
  if (shared.length > 1) throw new TopologyError(file, owner, `the hosts share several /24s (${shared.join(', ')})`, `say which with addresses: { ${members[0]?.name ?? 'h'}: '...' }`);
  return subnet;
}

/**
 * The network of a file without `network`: one link per /24 that two or more hosts have an
 * address on (a host's first address there), in order of first appearance; no impairments.
 */
export function deriveNetwork(hosts: readonly NetworkHost[]): TopologyNetwork {
  const bySubnet = new Map<string, NetworkEnd[]>();
  for (const h of hosts) {
    for (const address of h.addresses) {
      const ends = bySubnet.get(slash24(address)) ?? [];
      if (!ends.some((e) => e.host === h.name)) ends.push({ host: h.name, address });
      bySubnet.set(slash24(address), ends);
    }
  }
  const links = [...bySubnet].filter(([, ends]) => ends.length >= 2).map(([subnet, ends]) => Object.freeze({ ends: Object.freeze(ends), subnet, delayMs: 0, lossPct: 0, rateKbps: null }));
  return Object.freeze({ declared: false, routers: new Map(), links: Object.freeze(links) });
}
