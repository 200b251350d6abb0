/**
 * The native JSON5 topology format (documented with an example in topologies/README.md):
 *
 *   { bootstrapper?, nodes: { NAME: { role, addresses, clientAddresses? } },
 *     links?: [ { between: [A, B], delayMs?, lossPct?, rateKbps?, addresses?: { A?: IP, B?: IP } } ],
 *     clients?: { NAME: { addresses, pop? } },
 *     network?: { routers?: { NAME: { addresses } }, links: [ { between: [HOST, HOST, ...], ... } ] } }
 *
 * `network` (topology-network.ts) is the underlay emulators build; with it, an overlay link
 * without delayMs/lossPct takes the delay and loss of its path through the network.
 */
import type { Role, Topology, TopologyOptions } from './topology.ts';
import { TopologyError } from './topology-error.ts';
import { at, checkName, closestKey, describeValue, isRecord, readAddress, readAddressList, readNumber, rejectUnknownKeys } from './topology-fields.ts';
import { readNetwork } from './topology-network.ts';
import { buildTopology, clientWhere, nodeWhere, type DraftClient, type DraftLink, type DraftNode, type Syntax } from './topology-validate.ts';

const TOP_KEYS = ['bootstrapper', 'nodes', 'links', 'clients', 'network'] as const;
const NODE_KEYS = ['role', 'addresses', 'clientAddresses'] as const;
const LINK_KEYS = ['between', 'addresses', 'delayMs', 'lossPct', 'rateKbps'] as const;
const CLIENT_KEYS = ['addresses', 'pop'] as const;
const ROLES: readonly Role[] = ['server', 'node', 'pop'];

/** Legacy field names people carry over by habit, and where they went. */
const NODE_HINTS = {
  names: "the native format calls them 'addresses'",
  pop: "POPs set role: 'pop' and list 'clientAddresses'",
  neighbours: "declare neighbours as entries of the top-level 'links' list",
  neighbors: "declare neighbours as entries of the top-level 'links' list",
};

const SYNTAX: Syntax = {
  format: 'native',
  addressesField: 'addresses',
  clientAddressesField: 'clientAddresses',
  nodesWhere: at('top level', 'nodes'),
  serverFix: "give at least one node role: 'server'",
};

export function parseNative(raw: Record<string, unknown>, file: string, options: TopologyOptions): Topology {
  rejectUnknownKeys(raw, TOP_KEYS, file, 'top level');
  const nodes = readNodes(raw.nodes, file);
  const links = readLinks(raw.links, nodes, file);
  const clients = readClients(raw.clients, nodes, file);
  const network = raw.network === undefined ? null : readNetwork(raw.network, [...nodes, ...clients], file);

  let bootstrapper: string | null = null;
  let bootstrapperWhere = at('top level', 'bootstrapper');
  if (options.bootstrapper !== undefined) {
    bootstrapper = options.bootstrapper;
    bootstrapperWhere = 'option --bootstrapper';
  } else if (raw.bootstrapper !== undefined) {
    if (typeof raw.bootstrapper !== 'string') {
      throw new TopologyError(file, bootstrapperWhere, `expected a server name, got ${describeValue(raw.bootstrapper)}`, "write the server's name in quotes, e.g. 's1'");
    }
    bootstrapper = raw.bootstrapper;
  }
  return buildTopology({ source: file, syntax: SYNTAX, nodes, links, clients, network, bootstrapper, bootstrapperWhere, warnings: [] });
}

function readNodes(value: unknown, file: string): DraftNode[] {
  const where = at('top level', 'nodes');
  const example = "nodes: { s1: { role: 'server', addresses: ['10.0.0.10'] }, ... }";
  if (value === undefined) throw new TopologyError(file, where, 'is missing', `add ${example}`);
  if (!isRecord(value)) throw new TopologyError(file, where, `expected an object of nodes by name, got ${describeValue(value)}`, `write it as ${example}`);
  const entries = Object.entries(value);
  if (entries.length === 0) throw new TopologyError(file, where, 'there are no nodes', `add them: ${example}`);
  return entries.map(([name, spec]) => readNode(name, spec, file));
}

function readNode(name: string, spec: unknown, file: string): DraftNode {
  const owner = nodeWhere(name);
  checkName(name, file, owner);
  if (!isRecord(spec)) {
    throw new TopologyError(file, owner, `expected an object, got ${describeValue(spec)}`, "write it as { role: 'node', addresses: ['10.0.0.1'] }");
  }
  rejectUnknownKeys(spec, NODE_KEYS, file, owner, NODE_HINTS);
  const role = readRole(spec.role, file, owner);
  const addresses = readAddressList(spec.addresses, file, owner, 'addresses');
  let clientAddresses: string[] = [];
  if (role === 'pop') {
    if (spec.clientAddresses === undefined) {
      throw new TopologyError(file, at(owner, 'clientAddresses'), 'a POP needs the addresses clients connect to', 'add clientAddresses: [...] with one or more of its addresses');
    }
    clientAddresses = readAddressList(spec.clientAddresses, file, owner, 'clientAddresses');
  } else if (spec.clientAddresses !== undefined) {
    const listed = readAddressList(spec.clientAddresses, file, owner, 'clientAddresses', true);
    if (listed.length > 0) {
      throw new TopologyError(file, at(owner, 'clientAddresses'), `only POPs accept clients, and this node's role is '${role}'`, "remove clientAddresses, or set role: 'pop'");
    }
  }
  return { name, role, addresses, clientAddresses };
}

function readRole(value: unknown, file: string, owner: string): Role {
  const where = at(owner, 'role');
  const choices = "set role to 'server', 'node' or 'pop'";
  if (value === undefined) throw new TopologyError(file, where, 'is missing', choices);
  const role = ROLES.find((r) => r === value);
  if (role !== undefined) return role;
  const close = typeof value === 'string' ? closestKey(value, ROLES) : null;
  throw new TopologyError(file, where, `${describeValue(value)} is not a role`, close !== null ? `did you mean '${close}'? ${choices}` : choices);
}

function readLinks(value: unknown, nodes: readonly DraftNode[], file: string): DraftLink[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new TopologyError(file, at('top level', 'links'), `expected a list of links, got ${describeValue(value)}`, "write it as [ { between: ['s1', 'o2'] }, ... ]");
  }
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const seen = new Map<string, number>();
  return value.map((spec: unknown, index) => {
    let owner = `links[${index}]`;
    if (!isRecord(spec)) throw new TopologyError(file, owner, `expected an object, got ${describeValue(spec)}`, "write it as { between: ['s1', 'o2'], delayMs: 2 }");
    rejectUnknownKeys(spec, LINK_KEYS, file, owner);
    const [a, b] = readBetween(spec.between, byName, file, owner);
    owner = `links[${index}] between '${a}' and '${b}'`;
    const key = a < b ? `${a}\n${b}` : `${b}\n${a}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new TopologyError(file, at(owner, 'between'), `duplicates links[${earlier}]`, 'remove one of them (a link carries traffic both ways)');
    }
    seen.set(key, index);
    const addresses = readLinkAddresses(spec.addresses, a, b, byName, file, owner);
    return {
      a,
      b,
      addressOfA: addresses.get(a) ?? null,
      addressOfB: addresses.get(b) ?? null,
      // null: from the network path when the file has one (buildTopology), else 0.
      delayMs: readNumber(spec.delayMs, null, file, at(owner, 'delayMs'), (n) => n >= 0, 'a one-way delay in ms, 0 or more', 'delayMs: 2'),
      lossPct: readNumber(spec.lossPct, null, file, at(owner, 'lossPct'), (n) => n >= 0 && n <= 100, 'a loss percentage from 0 to 100', 'lossPct: 1.5'),
      rateKbps:
        spec.rateKbps === null
          ? null
          : readNumber(spec.rateKbps, null, file, at(owner, 'rateKbps'), (n) => n > 0, 'a rate in kbit/s above 0', 'rateKbps: 10000, or null (or nothing) for unlimited'),
    };
  });
}

function readBetween(value: unknown, byName: ReadonlyMap<string, DraftNode>, file: string, owner: string): [string, string] {
  const where = at(owner, 'between');
  if (value === undefined) throw new TopologyError(file, where, 'is missing', "name the two nodes the link joins, e.g. between: ['s1', 'o2']");
  if (!Array.isArray(value) || value.length !== 2) {
    throw new TopologyError(file, where, `expected a list of two node names, got ${Array.isArray(value) ? `${value.length} items` : describeValue(value)}`, "write it as between: ['s1', 'o2']");
  }
  const ends = value.map((end: unknown, i) => {
    if (typeof end === 'string' && byName.has(end)) return end;
    const problem = typeof end === 'string' ? `'${end}' is not a node` : `expected a node name, got ${describeValue(end)}`;
    throw new TopologyError(file, at(owner, `between[${i}]`), problem, `use one of the nodes: ${[...byName.keys()].join(', ')}`);
  });
  const [a, b] = ends as [string, string];
  if (a === b) throw new TopologyError(file, where, `links '${a}' to itself`, 'name two different nodes');
  return [a, b];
}

function readLinkAddresses(value: unknown, a: string, b: string, byName: ReadonlyMap<string, DraftNode>, file: string, owner: string): Map<string, string> {
  const chosen = new Map<string, string>();
  if (value === undefined) return chosen;
  if (!isRecord(value)) {
    throw new TopologyError(file, at(owner, 'addresses'), `expected an object of addresses by node name, got ${describeValue(value)}`, `write it as addresses: { ${a}: '...', ${b}: '...' }`);
  }
  for (const [name, raw] of Object.entries(value)) {
    const field = `addresses.${name}`;
    const node = name === a || name === b ? byName.get(name) : undefined;
    if (node === undefined) {
      throw new TopologyError(file, at(owner, field), `'${name}' is not an end of this link`, `key the addresses by '${a}' or '${b}'`);
    }
    const address = readAddress(raw, file, owner, field);
    if (!node.addresses.includes(address)) {
      throw new TopologyError(file, at(owner, field), `'${address}' is not one of node '${name}''s addresses`, `use one of ${node.addresses.join(', ')}, or add it to the node's addresses`);
    }
    chosen.set(name, address);
  }
  return chosen;
}

function readClients(value: unknown, nodes: readonly DraftNode[], file: string): DraftClient[] {
  if (value === undefined) return [];
  if (!isRecord(value)) {
    throw new TopologyError(file, at('top level', 'clients'), `expected an object of clients by name, got ${describeValue(value)}`, "write it as clients: { c1: { addresses: ['10.0.6.20'], pop: 'o5' } }");
  }
  return Object.entries(value).map(([name, spec]) => {
    const owner = clientWhere(name);
    checkName(name, file, owner);
    if (nodes.some((n) => n.name === name)) throw new TopologyError(file, owner, `'${name}' is also the name of a node`, 'give the client a name of its own');
    if (!isRecord(spec)) throw new TopologyError(file, owner, `expected an object, got ${describeValue(spec)}`, "write it as { addresses: ['10.0.6.20'], pop: 'o5' }");
    rejectUnknownKeys(spec, CLIENT_KEYS, file, owner);
    const addresses = readAddressList(spec.addresses, file, owner, 'addresses');
    if (spec.pop !== undefined && spec.pop !== null && typeof spec.pop !== 'string') {
      throw new TopologyError(file, at(owner, 'pop'), `expected a POP name, got ${describeValue(spec.pop)}`, "write the POP's name in quotes, e.g. 'o5'");
    }
    return { name, addresses, pop: spec.pop ?? null };
  });
}
