/**
 * The bootstrapper's registry, without sockets: which name an address belongs to, who is
 * registered (on which connection), the servers' stream-signing keys, what each node is told on
 * registering (its name, role, neighbours and every server key), whom to tell when a node comes
 * or goes or a server's key changes, and the answer to a client's login. Only registrations the
 * caller has verified (bootstrap-desk.ts) reach register().
 */
import type {
  BootstrapMessage,
  NeighbourInfo,
  PopInfo,
  RegisteredMessage,
  ServerKeyInfo,
  WelcomeMessage,
} from '../../common/wire/bootstrap.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { nodeByAddress, type Topology, type TopologyNode } from '../config/topology-model.ts';

export interface Notice {
  readonly to: string;
  readonly msg: BootstrapMessage;
}

export interface Registration {
  readonly reply: RegisteredMessage;
  readonly notices: readonly Notice[];
  /** The connection this registration displaced (a restarted process's old one), if any. */
  readonly replaced: number | undefined;
}

export class Directory {
  /** Registered node name → the connection that registered it. */
  private readonly connections = new Map<string, number>();
  /** Server name → base64 of its raw Ed25519 stream-signing key. */
  private readonly keys = new Map<string, string>();

  /** @param self the bootstrapper this directory runs in (one of the topology's); default the first */
  constructor(
    private readonly topo: Topology,
    private readonly emulateLinks: boolean,
    private readonly self: string = topo.bootstrapper,
  ) {}

  /** The topology's node that has this address (IPv4-mapped IPv6 accepted), if any. */
  nodeAt(address: string): TopologyNode | undefined {
    return nodeByAddress(this.topo, normalise(address));
  }

  /** This bootstrapper's own node: it does not register (standbys do, as any node). */
  get bootstrapper(): string {
    return this.self;
  }

  get source(): string {
    return this.topo.source;
  }

  isRegistered(name: string): boolean {
    return this.connections.has(name);
  }

  registered(): string[] {
    return [...this.connections.keys()];
  }

  connectionOf(name: string): number | undefined {
    return this.connections.get(name);
  }

  /**
   * Records a verified registration of `name` on `conn`, and a server's signing key. The node is
   * told its neighbours and every key; its registered neighbours that it is up; every other
   * registered node a server's new or changed key.
   */
  register(conn: number, name: string, signingKey?: string): Registration | undefined {
    const node = this.topo.nodes.get(name);
    if (node === undefined) return undefined;
    const previous = this.connections.get(name);
    this.connections.set(name, conn);
    const notices: Notice[] = [];
    if (node.role === 'server' && signingKey !== undefined && this.keys.get(name) !== signingKey) {
      this.keys.set(name, signingKey);
      for (const other of this.connections.keys()) {
        if (other !== name) notices.push({ to: other, msg: { type: 'server-key', server: name, key: signingKey } });
      }
    }
    const reply = this.infoFor(node);
    for (const n of reply.neighbours) if (n.up) notices.push({ to: n.name, msg: { type: 'neighbour-up', name } });
    return { reply, notices, replaced: previous !== undefined && previous !== conn ? previous : undefined };
  }

  /** A connection closed; if it was a node's current one, its neighbours are told. */
  lost(conn: number): Notice[] {
    for (const [name, c] of this.connections) {
      if (c !== conn) continue;
      this.connections.delete(name);
      return this.neighbours(name)
        .filter((n) => n.up)
        .map((n) => ({ to: n.name, msg: { type: 'neighbour-down', name } }));
    }
    return [];
  }

  /** Every server's current key. A server that went away keeps its key until it registers a new one. */
  serverKeys(): ServerKeyInfo[] {
    return [...this.keys].sort(([a], [b]) => (a < b ? -1 : 1)).map(([server, key]) => ({ server, key }));
  }

  /** What a node is told when it registers (also what the bootstrapper's own node starts from). */
  infoFor(node: TopologyNode): RegisteredMessage {
    return {
      type: 'registered',
      name: node.name,
      role: node.role,
      addresses: node.addresses,
      clientAddresses: node.clientAddresses,
      neighbours: this.neighbours(node.name),
      emulateLinks: this.emulateLinks,
      serverKeys: this.serverKeys(),
    };
  }

  welcome(catalogue: readonly MovieInfo[]): WelcomeMessage {
    const pops: PopInfo[] = [...this.topo.nodes.values()]
      .filter((n) => n.role === 'pop')
      .map((n) => ({
        name: n.name,
        addresses: n.clientAddresses.length > 0 ? n.clientAddresses : n.addresses.slice(0, 1),
      }));
    return { type: 'welcome', pops, catalogue, serverKeys: this.serverKeys() };
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
        name: other,
        role: node.role,
        address: aSide ? link.addressOfB : link.addressOfA,
        localAddress: aSide ? link.addressOfA : link.addressOfB,
        delayMs: link.delayMs,
        lossPct: link.lossPct,
        rateKbps: link.rateKbps,
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
