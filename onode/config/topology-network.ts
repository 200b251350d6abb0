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
import type { NetworkEnd, NetworkLink, NetworkRouter, TopologyNetwork } from './topology-model.ts';
import { TopologyError } from './topology-error.ts';
import { at } from './topology-fields.ts';
import { slash24 } from './topology-ipv4.ts';
import type { NativeFile } from './topology-schema.ts';

type NetworkSpec = NonNullable<NativeFile['network']>;
type LinkSpec = NetworkSpec['links'][number];

/** A host the network can link: its name and addresses, with where it was declared for messages. */
export interface NetworkHost {
  readonly name: string;
  readonly addresses: readonly string[];
}

export function routerWhere(name: string): string {
  return `router '${name}'`;
}

/** `network.routers` (names must not clash with `taken`, the node and client names). */
function readRouters(spec: NetworkSpec['routers'], taken: ReadonlySet<string>, file: string): NetworkRouter[] {
  return Object.entries(spec ?? {}).map(([name, { addresses }]) => {
    if (taken.has(name)) {
      const problem = `'${name}' is also the name of a node or client`;
      throw new TopologyError(file, routerWhere(name), problem, 'give the router a name of its own');
    }
    return { name, addresses };
  });
}

/**
 * Reads the `network` section, once nodes and clients are known. The schema checked its
 * structure; here hosts, subnets and addresses are matched up.
 */
export function readNetwork(
  spec: NetworkSpec,
  nodesAndClients: readonly NetworkHost[],
  file: string,
): { routers: NetworkRouter[]; links: NetworkLink[] } {
  const routers = readRouters(spec.routers, new Set(nodesAndClients.map((h) => h.name)), file);
  const hosts = new Map<string, NetworkHost>([...nodesAndClients, ...routers].map((h) => [h.name, h]));
  const usedBy = new Map<string, string>();
  const subnets = new Map<string, string>();
  const links = spec.links.map((linkSpec, index) => {
    const owner = `network.links[${index}]`;
    const link = readLink(linkSpec, hosts, file, owner);
    const named = `${owner} between ${link.ends.map((e) => `'${e.host}'`).join(', ')}`;
    const earlier = subnets.get(link.subnet);
    if (earlier !== undefined)
      throw new TopologyError(
        file,
        named,
        `${link.subnet} is also the subnet of ${earlier}`,
        'give every link a /24 of its own (join three or more hosts in one link for a LAN)',
      );
    subnets.set(link.subnet, owner);
    for (const end of link.ends) {
      const other = usedBy.get(end.address);
      if (other !== undefined)
        throw new TopologyError(
          file,
          at(named, `addresses.${end.host}`),
          `'${end.address}' is already used on ${other}`,
          'an address sits on one link only; give the host another address for this link',
        );
      usedBy.set(end.address, owner);
    }
    return link;
  });
  return { routers, links };
}

function readLink(spec: LinkSpec, hosts: ReadonlyMap<string, NetworkHost>, file: string, owner: string): NetworkLink {
  const members = spec.between.map((name, i) => {
    const host = hosts.get(name);
    if (host !== undefined) return host;
    const fix = `use one of: ${[...hosts.keys()].join(', ')}, or declare it in network.routers`;
    throw new TopologyError(file, at(owner, `between[${i}]`), `'${name}' is not a node, client or router`, fix);
  });
  members.forEach((m, i) => {
    if (members.indexOf(m) === i) return;
    throw new TopologyError(file, at(owner, 'between'), `names '${m.name}' twice`, 'name each host once');
  });
  const named = `${owner} between ${members.map((m) => `'${m.name}'`).join(', ')}`;
  const explicit = readEndAddresses(spec.addresses ?? {}, (name) => members.find((m) => m.name === name), file, named);
  const subnet = chooseSubnet(members, explicit, file, named);
  const ends: NetworkEnd[] = members.map((m) => {
    const given = explicit.get(m.name);
    if (given !== undefined) {
      if (slash24(given) !== subnet)
        throw new TopologyError(
          file,
          at(named, `addresses.${m.name}`),
          `'${given}' is not on ${subnet}, the link's subnet`,
          'give every end an address on the same /24',
        );
      return { host: m.name, address: given };
    }
    const candidates = m.addresses.filter((a) => slash24(a) === subnet);
    const [address] = candidates;
    if (address === undefined)
      throw new TopologyError(
        file,
        named,
        `'${m.name}' has no address on ${subnet}`,
        `add one to its addresses, or set addresses: { ${m.name}: '...' }`,
      );
    if (candidates.length > 1)
      throw new TopologyError(
        file,
        named,
        `'${m.name}' has ${candidates.length} addresses on ${subnet} (${candidates.join(', ')})`,
        `say which: addresses: { ${m.name}: '${address}' }`,
      );
    return { host: m.name, address };
  });
  return { ends, subnet, delayMs: spec.delayMs ?? 0, lossPct: spec.lossPct ?? 0, rateKbps: spec.rateKbps ?? null };
}

/**
 * The addresses a link's `addresses` field gives some of its ends (overlay and network links
 * alike), each checked to be one of that host's. `what` names a host in messages.
 */
export function readEndAddresses(
  spec: Readonly<Record<string, string>>,
  hostOf: (name: string) => NetworkHost | undefined,
  file: string,
  owner: string,
  what: (name: string) => string = (name) => `'${name}'`,
): Map<string, string> {
  const chosen = new Map<string, string>();
  // The schema checked each key is an end of the link.
  for (const [name, address] of Object.entries(spec)) {
    const host = hostOf(name);
    if (host === undefined) continue;
    if (!host.addresses.includes(address))
      throw new TopologyError(
        file,
        at(owner, `addresses.${name}`),
        `'${address}' is not one of ${what(name)}'s addresses`,
        `use one of ${host.addresses.join(', ')}, or add it to its addresses`,
      );
    chosen.set(name, address);
  }
  return chosen;
}

/** The /24 of the explicit addresses, else the one /24 every member has an address on. */
function chooseSubnet(
  members: readonly NetworkHost[],
  explicit: ReadonlyMap<string, string>,
  file: string,
  owner: string,
): string {
  const [first] = explicit.values();
  if (first !== undefined) return slash24(first);
  // Each member's subnets once (a hub may have dozens of addresses, and as many links).
  const subnetsOf = members.map((m) => new Set(m.addresses.map(slash24)));
  const shared = [...(subnetsOf[0] ?? [])].filter((s) => subnetsOf.every((set) => set.has(s)));
  const [subnet] = shared;
  if (subnet === undefined) {
    throw new TopologyError(
      file,
      owner,
      'the hosts share no /24',
      `give each an address on one /24 (e.g. ${members.map((m, i) => `${m.name} 10.9.9.${i + 1}`).join(', ')}), ` +
        'or set addresses: { ... }',
    );
  }
  if (shared.length > 1)
    throw new TopologyError(
      file,
      owner,
      `the hosts share several /24s (${shared.join(', ')})`,
      `say which with addresses: { ${members[0]?.name ?? 'h'}: '...' }`,
    );
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
  const links = [...bySubnet]
    .filter(([, ends]) => ends.length >= 2)
    .map(([subnet, ends]) =>
      Object.freeze({ ends: Object.freeze(ends), subnet, delayMs: 0, lossPct: 0, rateKbps: null }),
    );
  return Object.freeze({ declared: false, routers: new Map(), links: Object.freeze(links) });
}
