/**
 * The overlay topology as data: which hosts are servers, relay nodes and POPs, the addresses each
 * is known by, the overlay links between them (with the delay, loss and rate to emulate) and the
 * network under them; and the pure questions asked of it. No I/O: the bootstrapper's core
 * (onode/core/directory.ts) imports this, while topology.ts reads and parses files into it.
 */
import type { NodeRole } from '../../common/wire/bootstrap.ts';
import { TopologyError } from './topology-error.ts';

export type { NodeRole } from '../../common/wire/bootstrap.ts';

/** What a host of the emulated network is: an overlay node's role, a client, or an underlay router. */
export type HostRole = NodeRole | 'client' | 'router';

export interface TopologyNode {
  readonly name: string;
  readonly role: NodeRole;
  /** Every IPv4 address the node is known by; the first is its primary address. */
  readonly addresses: readonly string[];
  /** POP only: the addresses clients connect to (a subset of `addresses`); [] otherwise. */
  readonly clientAddresses: readonly string[];
}

/** An overlay link; it carries traffic both ways. */
export interface OverlayLink {
  readonly a: string;
  readonly b: string;
  /** The address b uses to reach a. */
  readonly addressOfA: string;
  /** The address a uses to reach b. */
  readonly addressOfB: string;
  /** One-way delay to emulate, in ms (default: the network path's when the file declares a network, else 0). */
  readonly delayMs: number;
  /** Packet loss to emulate, 0..100 % (default: as delayMs). */
  readonly lossPct: number;
  /** Rate limit to emulate in kbit/s; null = unlimited (default). */
  readonly rateKbps: number | null;
}

/** A host that watches movies. */
export interface TopologyClient {
  readonly name: string;
  readonly addresses: readonly string[];
  /** The POP it attaches to, if the file says. */
  readonly pop: string | null;
}

/** A router of the underlay: it forwards packets and runs no overlay process. */
export interface NetworkRouter {
  readonly name: string;
  readonly addresses: readonly string[];
}

/** One host's interface on a network link. */
export interface NetworkEnd {
  /** A node, client or router name. */
  readonly host: string;
  readonly address: string;
}

/**
 * A link of the emulated (underlay) network. Two ends: a point-to-point link; three or more:
 * a LAN on one switch. Every end is on `subnet`, and no other link uses it.
 */
export interface NetworkLink {
  /** In file order. */
  readonly ends: readonly NetworkEnd[];
  /** The /24 the ends share, e.g. '10.0.6.0/24'. */
  readonly subnet: string;
  /** One-way delay from any end to any other, in ms. */
  readonly delayMs: number;
  /** Loss from any end to any other, 0..100 %. */
  readonly lossPct: number;
  /** Rate limit of each end's interface in kbit/s; null = unlimited. */
  readonly rateKbps: number | null;
}

/** The network an emulator builds under the overlay. */
export interface TopologyNetwork {
  /**
   * true when the file declares it (`network`); false when derived: one link per /24 shared by
   * two or more hosts, without impairments (legacy files and native files without `network`).
   */
  readonly declared: boolean;
  /** In file order. */
  readonly routers: ReadonlyMap<string, NetworkRouter>;
  /** In file order. */
  readonly links: readonly NetworkLink[];
}

export interface Topology {
  /** The file path (or label given to parseTopology), for messages. */
  readonly source: string;
  readonly format: 'native' | 'legacy';
  /** The server that hands out neighbours; always a node with role 'server'. The first of `bootstrappers`. */
  readonly bootstrapper: string;
  /**
   * Every bootstrapper, in the order nodes and clients try them (the first is `bootstrapper`): each
   * runs the same directory, every node registers with all of them, so any one can take over.
   */
  readonly bootstrappers: readonly string[];
  /** In file order. */
  readonly nodes: ReadonlyMap<string, TopologyNode>;
  /** In file order. */
  readonly links: readonly OverlayLink[];
  readonly clients: ReadonlyMap<string, TopologyClient>;
  /** The underlay network: declared in the file, or derived from the addresses. */
  readonly network: TopologyNetwork;
  /** Things that load but are probably mistakes (unreachable nodes, one-sided legacy neighbours...). */
  readonly warnings: readonly string[];
}

/** A node as seen from one of its overlay neighbours. */
export interface Neighbour {
  readonly name: string;
  readonly role: NodeRole;
  /** The address to send to, to reach this neighbour over the link. */
  readonly address: string;
  readonly delayMs: number;
  readonly lossPct: number;
  readonly rateKbps: number | null;
}

/**
 * The overlay neighbours of node `name`, sorted by name, each with the address to reach it.
 * @throws TopologyError if `name` is not a node of the topology.
 */
export function neighboursOf(topo: Topology, name: string): Neighbour[] {
  if (!topo.nodes.has(name)) {
    throw new TopologyError(
      topo.source,
      `node '${name}'`,
      'is not in the topology',
      `use one of: ${[...topo.nodes.keys()].join(', ')}`,
    );
  }
  const neighbours: Neighbour[] = [];
  for (const link of topo.links) {
    const other = link.a === name ? link.b : link.b === name ? link.a : null;
    if (other === null) continue;
    const node = topo.nodes.get(other);
    if (node === undefined) continue;
    neighbours.push({
      name: other,
      role: node.role,
      address: other === link.b ? link.addressOfB : link.addressOfA,
      delayMs: link.delayMs,
      lossPct: link.lossPct,
      rateKbps: link.rateKbps,
    });
  }
  return neighbours.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

const addressIndexes = new WeakMap<Topology, ReadonlyMap<string, TopologyNode>>();

/** The node known by `address` (any of its addresses, exact match), if any. */
export function nodeByAddress(topo: Topology, address: string): TopologyNode | undefined {
  let index = addressIndexes.get(topo);
  if (index === undefined) {
    const built = new Map<string, TopologyNode>();
    for (const node of topo.nodes.values()) {
      for (const a of node.addresses) built.set(a, node);
    }
    addressIndexes.set(topo, built);
    index = built;
  }
  return index.get(address);
}
