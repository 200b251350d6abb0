/**
 * Checks both file formats share, once each parser has turned its syntax into a draft: address
 * ownership, servers and the bootstrapper, client attachment, the addresses links use, and the
 * warnings for hosts the overlay cannot reach.
 */
import { MAX_BOOTSTRAPPERS } from '../../common/net/ports.ts';
import type {
  NetworkLink,
  NetworkRouter,
  OverlayLink,
  Topology,
  TopologyClient,
  TopologyNetwork,
  TopologyNode,
} from './topology-model.ts';
import { TopologyError } from './topology-error.ts';
import { at } from './topology-fields.ts';
import { sameSlash24, slash24 } from './topology-ipv4.ts';
import { deriveNetwork, routerWhere } from './topology-network.ts';
import { hostAddresses, UnderlayRouter } from './topology-routes.ts';

/** A node as the file states it: nothing to fill in, so the same shape as the loaded one. */
export type DraftNode = TopologyNode;

export interface DraftLink {
  readonly a: string;
  readonly b: string;
  /** null: choose by the /24 rule (see addressToReach). */
  readonly addressOfA: string | null;
  readonly addressOfB: string | null;
  /** null: the network path's when the file declares a network, else 0. */
  readonly delayMs: number | null;
  readonly lossPct: number | null;
  readonly rateKbps: number | null;
}

export interface DraftClient {
  readonly name: string;
  readonly addresses: readonly string[];
  readonly pop: string | null;
}

/** How the format spells things, so shared checks point at the fields the user actually wrote. */
export interface Syntax {
  readonly format: 'native' | 'legacy';
  /** 'addresses' (native) or 'names' (legacy). */
  readonly addressesField: string;
  /** 'clientAddresses' (native) or 'pop' (legacy). */
  readonly clientAddressesField: string;
  /** Where "there is no server" is reported. */
  readonly nodesWhere: string;
  /** How to declare a server in this format. */
  readonly serverFix: string;
}

export interface Draft {
  readonly source: string;
  readonly syntax: Syntax;
  /** In file order. */
  readonly nodes: readonly DraftNode[];
  readonly links: readonly DraftLink[];
  readonly clients: readonly DraftClient[];
  /** The file's `network`, already read; null when it has none (then it is derived). */
  readonly network: { readonly routers: readonly NetworkRouter[]; readonly links: readonly NetworkLink[] } | null;
  /** Requested bootstrappers (option or file), first the primary, or null for the first server. */
  readonly bootstrapper: string | readonly string[] | null;
  /** Where the requested bootstrapper (of a list, the index-th) came from, e.g. "option --bootstrapper". */
  readonly bootstrapperWhere: (index: number | null) => string;
  /** Warnings the parser already found. */
  readonly warnings: readonly string[];
}

export function nodeWhere(name: string): string {
  return `node '${name}'`;
}

export function clientWhere(name: string): string {
  return `client '${name}'`;
}

/**
 * Every address belongs to one host. Parsers that resolve addresses to nodes (legacy
 * neighbours) call this first; buildTopology calls it again.
 */
export function checkUniqueAddresses(
  source: string,
  syntax: Syntax,
  nodes: readonly DraftNode[],
  clients: readonly DraftClient[],
  routers: readonly NetworkRouter[] = [],
): void {
  const owners = new Map<string, string>();
  const claim = (address: string, owner: string, field: string): void => {
    const existing = owners.get(address);
    if (existing !== undefined) {
      throw new TopologyError(
        source,
        at(owner, field),
        `'${address}' is also an address of ${existing}`,
        'give every host its own addresses',
      );
    }
    owners.set(address, owner);
  };
  for (const node of nodes) {
    for (const [i, address] of node.addresses.entries())
      claim(address, nodeWhere(node.name), `${syntax.addressesField}[${i}]`);
  }
  for (const client of clients) {
    for (const [i, address] of client.addresses.entries()) claim(address, clientWhere(client.name), `addresses[${i}]`);
  }
  for (const router of routers) {
    for (const [i, address] of router.addresses.entries()) claim(address, routerWhere(router.name), `addresses[${i}]`);
  }
}

/** Validates a draft and builds the immutable Topology. @throws TopologyError */
export function buildTopology(draft: Draft): Topology {
  const { source, syntax } = draft;
  checkUniqueAddresses(source, syntax, draft.nodes, draft.clients, draft.network?.routers ?? []);
  checkClientAddresses(draft);
  const bootstrappers = chooseBootstrappers(draft);
  const bootstrapper = bootstrappers[0] ?? '';
  const byName = new Map(draft.nodes.map((n) => [n.name, n]));
  checkClientAttachments(draft, byName);

  const nodes = new Map<string, TopologyNode>();
  for (const n of draft.nodes) {
    nodes.set(
      n.name,
      Object.freeze({
        name: n.name,
        role: n.role,
        addresses: Object.freeze([...n.addresses]),
        clientAddresses: Object.freeze([...n.clientAddresses]),
      }),
    );
  }
  const clients = new Map<string, TopologyClient>();
  for (const c of draft.clients) {
    clients.set(c.name, Object.freeze({ name: c.name, addresses: Object.freeze([...c.addresses]), pop: c.pop }));
  }
  const network = buildNetwork(draft);
  const underlay = new UnderlayRouter(network, hostAddresses({ nodes, clients, network }));
  const networkWarnings: string[] = [];
  const links: OverlayLink[] = draft.links.map((l) => {
    const a = byName.get(l.a);
    const b = byName.get(l.b);
    // The parsers check this.
    if (a === undefined || b === undefined) throw new Error(`draft link ${l.a}-${l.b} names an unknown node`);
    const addressOfA = l.addressOfA ?? addressToReach(b, a);
    const addressOfB = l.addressOfB ?? addressToReach(a, b);
    let path = null;
    if (network.declared) {
      path = underlay.pathTo(l.a, addressOfB);
      const back = underlay.pathTo(l.b, addressOfA);
      if (path === null || back === null) {
        const [from, to] = path === null ? [l.a, addressOfB] : [l.b, addressOfA];
        networkWarnings.push(
          `overlay link between '${l.a}' and '${l.b}': the network has no route from '${from}' to ${to}`,
        );
      }
    }
    return Object.freeze({
      a: l.a,
      b: l.b,
      addressOfA,
      addressOfB,
      delayMs: l.delayMs ?? path?.delayMs ?? 0,
      lossPct: l.lossPct ?? path?.lossPct ?? 0,
      rateKbps: l.rateKbps,
    });
  });
  const warnings = [
    ...draft.warnings,
    ...reachabilityWarnings(draft),
    ...clientWarnings(draft, byName),
    ...networkWarnings,
    ...unlinkedWarnings(draft, network),
  ];
  return Object.freeze({
    source,
    format: syntax.format,
    bootstrapper,
    bootstrappers: Object.freeze(bootstrappers),
    nodes,
    links: Object.freeze(links),
    clients,
    network,
    warnings: Object.freeze(warnings),
  });
}

function buildNetwork({ network, nodes, clients }: Draft): TopologyNetwork {
  if (network === null) return deriveNetwork([...nodes, ...clients]);
  const routers = new Map(
    network.routers.map((r) => [r.name, Object.freeze({ name: r.name, addresses: Object.freeze([...r.addresses]) })]),
  );
  const links = network.links.map((l) =>
    Object.freeze({ ...l, ends: Object.freeze(l.ends.map((e) => Object.freeze({ ...e }))) }),
  );
  return Object.freeze({ declared: true, routers, links: Object.freeze(links) });
}

/** In a declared network, every address should sit on a link: emulators can only put the others on loopback. */
function unlinkedWarnings({ nodes, clients, network }: Draft, built: TopologyNetwork): string[] {
  if (network === null) return [];
  const linked = new Set(built.links.flatMap((l) => l.ends.map((e) => e.address)));
  const owners: [string, readonly string[]][] = [
    ...nodes.map((n): [string, readonly string[]] => [nodeWhere(n.name), n.addresses]),
    ...clients.map((c): [string, readonly string[]] => [clientWhere(c.name), c.addresses]),
    ...network.routers.map((r): [string, readonly string[]] => [routerWhere(r.name), r.addresses]),
  ];
  return owners.flatMap(([owner, addresses]) =>
    addresses
      .filter((a) => !linked.has(a))
      .map((a) => `${owner}: ${a} is on no network link, so no other host can reach it`),
  );
}

/**
 * The address `from` uses to reach `to` when the file does not say: the address of `to` on a
 * /24 shared with `from` (they are directly linked), else `to`'s primary address.
 */
export function addressToReach(from: DraftNode, to: DraftNode): string {
  const theirs = new Set(from.addresses.map(slash24));
  const direct = to.addresses.find((t) => theirs.has(slash24(t)));
  return direct ?? to.addresses[0] ?? '';
}

function checkClientAddresses({ source, syntax, nodes }: Draft): void {
  for (const node of nodes) {
    node.clientAddresses.forEach((address, i) => {
      if (!node.addresses.includes(address)) {
        throw new TopologyError(
          source,
          at(nodeWhere(node.name), `${syntax.clientAddressesField}[${i}]`),
          `'${address}' is not one of the node's ${syntax.addressesField}`,
          `add it to ${syntax.addressesField} too (clients connect to one of the POP's own addresses)`,
        );
      }
    });
  }
}

/** The bootstrappers in order: each a server, none twice; the first server when none is requested. */
function chooseBootstrappers({ source, syntax, nodes, bootstrapper, bootstrapperWhere }: Draft): string[] {
  const servers = nodes.filter((n) => n.role === 'server');
  const first = servers[0];
  if (first === undefined) throw new TopologyError(source, syntax.nodesWhere, 'no node is a server', syntax.serverFix);
  if (bootstrapper === null) return [first.name];
  const names = typeof bootstrapper === 'string' ? [bootstrapper] : bootstrapper;
  const fix = `name one of the servers: ${servers.map((s) => s.name).join(', ')}`;
  const where = (i: number): string => bootstrapperWhere(typeof bootstrapper === 'string' ? null : i);
  if (names.length === 0) throw new TopologyError(source, bootstrapperWhere(null), 'the list is empty', fix);
  if (names.length > MAX_BOOTSTRAPPERS) {
    const problem = `it names ${names.length} bootstrappers`;
    throw new TopologyError(source, bootstrapperWhere(null), problem, `name at most ${MAX_BOOTSTRAPPERS}`);
  }
  return names.map((name, i) => {
    const node = nodes.find((n) => n.name === name);
    if (node === undefined) throw new TopologyError(source, where(i), `'${name}' is not a node`, fix);
    if (node.role !== 'server')
      throw new TopologyError(source, where(i), `'${name}' is a ${node.role}, not a server`, fix);
    if (names.indexOf(name) !== i)
      throw new TopologyError(source, where(i), `'${name}' is named twice`, 'name each bootstrapper once');
    return node.name;
  });
}

function checkClientAttachments({ source, clients, nodes }: Draft, byName: ReadonlyMap<string, DraftNode>): void {
  const pops = nodes.filter((n) => n.role === 'pop').map((n) => n.name);
  const fix =
    pops.length > 0 ? `attach it to one of the POPs: ${pops.join(', ')}` : 'declare a POP first, or remove pop';
  for (const client of clients) {
    if (client.pop === null) continue;
    const node = byName.get(client.pop);
    if (node === undefined)
      throw new TopologyError(source, at(clientWhere(client.name), 'pop'), `'${client.pop}' is not a node`, fix);
    if (node.role !== 'pop')
      throw new TopologyError(
        source,
        at(clientWhere(client.name), 'pop'),
        `'${client.pop}' is a ${node.role}, not a POP`,
        fix,
      );
  }
}

function reachabilityWarnings({ nodes, links }: Draft): string[] {
  const adjacent = new Map<string, string[]>(nodes.map((n) => [n.name, []]));
  for (const l of links) {
    adjacent.get(l.a)?.push(l.b);
    adjacent.get(l.b)?.push(l.a);
  }
  const reached = new Set(nodes.filter((n) => n.role === 'server').map((n) => n.name));
  const queue = [...reached];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    for (const next of adjacent.get(name) ?? []) {
      if (!reached.has(next)) {
        reached.add(next);
        queue.push(next);
      }
    }
  }
  const warnings: string[] = [];
  for (const n of nodes) {
    if ((adjacent.get(n.name) ?? []).length === 0) {
      warnings.push(`${nodeWhere(n.name)} (${n.role}): has no overlay links`);
    } else if (!reached.has(n.name)) {
      warnings.push(`${nodeWhere(n.name)} (${n.role}): cannot reach any server through overlay links`);
    }
  }
  return warnings;
}

/** A client that shares no /24 with its POP's client addresses is probably attached elsewhere. */
function clientWarnings({ clients }: Draft, byName: ReadonlyMap<string, DraftNode>): string[] {
  const warnings: string[] = [];
  for (const client of clients) {
    const pop = client.pop === null ? undefined : byName.get(client.pop);
    if (pop === undefined) continue;
    const onLink = client.addresses.some((c) => pop.clientAddresses.some((p) => sameSlash24(c, p)));
    if (!onLink) {
      warnings.push(
        `${clientWhere(client.name)}: shares no /24 with the client addresses of POP '${pop.name}' ` +
          `(${pop.clientAddresses.join(', ')})`,
      );
    }
  }
  return warnings;
}
