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
import type { Topology } from './topology-model.ts';
import type { TopologyOptions } from './topology.ts';
import { TopologyError } from './topology-error.ts';
import { at } from './topology-fields.ts';
import { validateTopology } from './topology-issues.ts';
import { readEndAddresses, readNetwork } from './topology-network.ts';
import { nativeSchema, type NativeFile } from './topology-schema.ts';
import {
  buildTopology,
  clientWhere,
  nodeWhere,
  type DraftClient,
  type DraftLink,
  type DraftNode,
  type Syntax,
} from './topology-validate.ts';

const SYNTAX: Syntax = {
  format: 'native',
  addressesField: 'addresses',
  clientAddressesField: 'clientAddresses',
  nodesWhere: at('top level', 'nodes'),
  serverFix: "give at least one node role: 'server'",
};

/** Structure, types and ranges are checked by the schema; this checks what ties fields together. */
export function parseNative(raw: Record<string, unknown>, file: string, options: TopologyOptions): Topology {
  const parsed = validateTopology(nativeSchema(raw), raw, file, 'native');
  const nodes = readNodes(parsed.nodes, file);
  const links = readLinks(parsed.links ?? [], nodes, file);
  const clients = readClients(parsed.clients ?? {}, nodes, file);
  const network = parsed.network === undefined ? null : readNetwork(parsed.network, [...nodes, ...clients], file);
  const fromOption = options.bootstrapper !== undefined;
  return buildTopology({
    source: file,
    syntax: SYNTAX,
    nodes,
    links,
    clients,
    network,
    bootstrapper: options.bootstrapper ?? parsed.bootstrapper ?? null,
    bootstrapperWhere: (i) => {
      const field = i === null ? 'bootstrapper' : `bootstrapper[${i}]`;
      return fromOption ? `option --${field}` : at('top level', field);
    },
    warnings: [],
  });
}

function readNodes(spec: NativeFile['nodes'], file: string): DraftNode[] {
  return Object.entries(spec).map(([name, { role, addresses, clientAddresses }]) => {
    const refuse = (problem: string, fix: string): never => {
      throw new TopologyError(file, at(nodeWhere(name), 'clientAddresses'), problem, fix);
    };
    if (role === 'pop') {
      if (clientAddresses === undefined) {
        refuse(
          'a POP needs the addresses clients connect to',
          'add clientAddresses: [...] with one or more of its addresses',
        );
      } else if (clientAddresses.length === 0) {
        refuse('the list is empty', 'list at least one IPv4 address');
      }
    } else if (clientAddresses !== undefined && clientAddresses.length > 0) {
      refuse(
        `only POPs accept clients, and this node's role is '${role}'`,
        "remove clientAddresses, or set role: 'pop'",
      );
    }
    return { name, role, addresses, clientAddresses: role === 'pop' ? (clientAddresses ?? []) : [] };
  });
}

function readLinks(specs: NonNullable<NativeFile['links']>, nodes: readonly DraftNode[], file: string): DraftLink[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const seen = new Map<string, number>();
  return specs.map((spec, index) => {
    const [a, b] = readBetween(spec.between, byName, file, `links[${index}]`);
    const owner = `links[${index}] between '${a}' and '${b}'`;
    const key = a < b ? `${a}\n${b}` : `${b}\n${a}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new TopologyError(
        file,
        at(owner, 'between'),
        `duplicates links[${earlier}]`,
        'remove one of them (a link carries traffic both ways)',
      );
    }
    seen.set(key, index);
    const addresses = readEndAddresses(
      spec.addresses ?? {},
      (n) => byName.get(n),
      file,
      owner,
      (n) => `node '${n}'`,
    );
    return {
      a,
      b,
      addressOfA: addresses.get(a) ?? null,
      addressOfB: addresses.get(b) ?? null,
      // null: from the network path when the file has one (buildTopology), else 0.
      delayMs: spec.delayMs ?? null,
      lossPct: spec.lossPct ?? null,
      rateKbps: spec.rateKbps ?? null,
    };
  });
}

/** The schema checked there are two strings; here they must be two different nodes. */
function readBetween(
  ends: readonly string[],
  byName: ReadonlyMap<string, DraftNode>,
  file: string,
  owner: string,
): [string, string] {
  ends.forEach((end, i) => {
    if (byName.has(end)) return;
    const fix = `use one of the nodes: ${[...byName.keys()].join(', ')}`;
    throw new TopologyError(file, at(owner, `between[${i}]`), `'${end}' is not a node`, fix);
  });
  const [a = '', b = ''] = ends;
  if (a === b) {
    throw new TopologyError(file, at(owner, 'between'), `links '${a}' to itself`, 'name two different nodes');
  }
  return [a, b];
}

type ClientSpecs = NonNullable<NativeFile['clients']>;

function readClients(specs: ClientSpecs, nodes: readonly DraftNode[], file: string): DraftClient[] {
  return Object.entries(specs).map(([name, spec]) => {
    if (nodes.some((n) => n.name === name)) {
      const problem = `'${name}' is also the name of a node`;
      throw new TopologyError(file, clientWhere(name), problem, 'give the client a name of its own');
    }
    return { name, addresses: spec.addresses, pop: spec.pop ?? null };
  });
}
