/**
 * The bootstrapper's logic, without sockets: who is registered, what each node is told on
 * registering (its name, role and neighbours), whom to tell when a node comes or goes, and the
 * answer to a client's login. A node is recognised by the address it connects from.
 */
import type { BootstrapMessage, NeighbourInfo, PopInfo } from '../../common/wire/bootstrap.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { nodeByAddress, type Topology } from '../config/topology.ts';

export interface Notice {
  readonly to: string;
  readonly msg: BootstrapMessage;
}

export type RegisterOutcome =
  | { readonly ok: true; readonly name: string; readonly reply: BootstrapMessage; readonly notices: readonly Notice[]; readonly replaced: boolean }
  | { readonly ok: false; readonly reply: BootstrapMessage };

export class Directory {
  /** Registered node name → the connection that registered it. */
  private readonly connections = new Map<string, number>();

  constructor(private readonly topo: Topology, private readonly emulateLinks: boolean) {}

  isRegistered(name: string): boolean {
    return this.connections.has(name);
  }

  registered(): string[] {
    return [...this.connections.keys()];
  }

  register(conn: number, fromAddress: string): RegisterOutcome {
    const node = nodeByAddress(this.topo, normalise(fromAddress));
    if (node === undefined) {
      return {
        ok: false,
        reply: {
          type: 'error', reason: 'unknown-address',
          detail: `${fromAddress} is not an address of any node in ${this.topo.source}; start the node with --address set to one of its addresses`,
        },
      };
    }
    const replaced = this.connections.has(node.name);
    this.connections.set(node.name, conn);
    const neighbours = this.neighbours(node.name);
    const reply: BootstrapMessage = {
      type: 'registered', name: node.name, role: node.role, addresses: node.addresses,
      clientAddresses: node.clientAddresses, neighbours, emulateLinks: this.emulateLinks,
    };
    const notices = neighbours.filter((n) => n.up).map((n) => ({ to: n.name, msg: { type: 'neighbour-up', name: node.name } as const }));
    return { ok: true, name: node.name, reply, notices, replaced };
  }

  /** A connection closed; if it was a node's current one, its neighbours are told. */
  lost(conn: number): Notice[] {
    for (const [name, c] of this.connections) {
      if (c !== conn) continue;
      this.connections.delete(name);
      return this.neighbours(name).filter((n) => n.up).map((n) => ({ to: n.name, msg: { type: 'neighbour-down', name } }));
    }
    return [];
  }

  welcome(catalogue: readonly MovieInfo[]): BootstrapMessage {
    const pops: PopInfo[] = [...this.topo.nodes.values()]
      .filter((n) => n.role === 'pop')
      .map((n) => ({ name: n.name, addresses: n.clientAddresses.length > 0 ? n.clientAddresses : n.addresses.slice(0, 1) }));
    return { type: 'welcome', pops, catalogue };
  }

  /** Neighbours of `name`, each with both ends' addresses on the link. */
  neighbours(name: string): NeighbourInfo[] {
    const out: NeighbourInfo[] = [];
    for (const link of this.topo.links) {
      if (link.a !== name && link.b !== name) continue;
      const aSide = link.a === name;
      const other = aSide ? link.b : link.a;
      const node = this.topo.nodes.get(other);
      if (node === undefined) continue;
      out.push({
        name: other, role: node.role,
        address: aSide ? link.addressOfB : link.addressOfA,
        localAddress: aSide ? link.addressOfA : link.addressOfB,
        delayMs: link.delayMs, lossPct: link.lossPct, rateKbps: link.rateKbps,
        up: this.connections.has(other),
      });
    }
    return out.sort((x, y) => (x.name < y.name ? -1 : 1));
  }
}

/** Node reports IPv4 peers on a dual-stack socket as ::ffff:a.b.c.d. */
export function normalise(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
