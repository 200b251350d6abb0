/**
 * Static routing for the emulated network: every host (node, router, client) gets one interface
 * per network link it is on and a route to every subnet it is not on, along the path of least
 * delay (fewest hops among equals). Overlay nodes and routers forward, as CORE's routers do;
 * clients only send and receive. Both emulators (Mininet, CORE) install exactly these routes,
 * and the loader uses the same paths to derive an overlay link's delay from the underlay.
 */
import type { HostRole, NetworkLink, Topology, TopologyNetwork } from './topology-model.ts';

export interface HostInterface {
  /** 'eth0', 'eth1'... in the order of the host's addresses. */
  readonly name: string;
  /** Index into network.links. */
  readonly link: number;
  readonly address: string;
  /** Always 24: every network link is a /24. */
  readonly prefixLength: number;
}

export interface HostRoute {
  /** Destination, e.g. '10.0.14.0/24'. */
  readonly subnet: string;
  /** The next hop's address, on a subnet this host is on. */
  readonly via: string;
  /** The interface toward it. */
  readonly dev: string;
}

export interface EmulatedHost {
  readonly name: string;
  readonly role: HostRole;
  readonly interfaces: readonly HostInterface[];
  /** The host's addresses on no network link; emulators put them on its loopback interface. */
  readonly loopbackAddresses: readonly string[];
  readonly routes: readonly HostRoute[];
}

/** Host name → its role and addresses, in file order: nodes, routers, clients. */
export function hostAddresses(
  topo: Pick<Topology, 'nodes' | 'clients' | 'network'>,
): Map<string, { role: HostRole; addresses: readonly string[] }> {
  const hosts = new Map<string, { role: HostRole; addresses: readonly string[] }>();
  for (const n of topo.nodes.values()) hosts.set(n.name, { role: n.role, addresses: n.addresses });
  for (const r of topo.network.routers.values()) hosts.set(r.name, { role: 'router', addresses: r.addresses });
  for (const c of topo.clients.values()) hosts.set(c.name, { role: 'client', addresses: c.addresses });
  return hosts;
}

/** Every host of the emulated network with its interfaces and static routes. */
export function emulatedHosts(topo: Topology): EmulatedHost[] {
  const hosts = hostAddresses(topo);
  const router = new UnderlayRouter(topo.network, hosts);
  return [...hosts].map(([name, { role, addresses }]) => {
    const interfaces = router.interfacesOf(name);
    const onLinks = new Set(interfaces.map((i) => i.address));
    return {
      name,
      role,
      interfaces,
      loopbackAddresses: addresses.filter((a) => !onLinks.has(a)),
      routes: router.routesOf(name),
    };
  });
}

/** Where a packet goes and what it meets on the way. */
export interface UnderlayPath {
  /** Hosts in order, from the sender to the owner of the destination address. */
  readonly hosts: readonly string[];
  /** Sum of the links' one-way delays, ms. */
  readonly delayMs: number;
  /** Loss over the whole path, 0..100 %. */
  readonly lossPct: number;
}

/** Computes interfaces, routes and paths over one network; cheap to build, memoises per source. */
export class UnderlayRouter {
  private readonly linksOf = new Map<string, number[]>();
  private readonly ownerOf = new Map<string, string>();
  /** The network link an address is on (the first, as findIndex would give): paths are asked per overlay link. */
  private readonly linkOfAddress = new Map<string, number>();
  private readonly trees = new Map<string, Map<string, { cost: number; firstLink: number; firstHop: string }>>();

  constructor(
    private readonly network: TopologyNetwork,
    private readonly hosts: ReadonlyMap<string, { role: HostRole; addresses: readonly string[] }>,
  ) {
    for (const name of hosts.keys()) this.linksOf.set(name, []);
    network.links.forEach((link, i) => {
      for (const end of link.ends) {
        this.linksOf.get(end.host)?.push(i);
        this.ownerOf.set(end.address, end.host);
        if (!this.linkOfAddress.has(end.address)) this.linkOfAddress.set(end.address, i);
      }
    });
    for (const [name, h] of hosts) for (const a of h.addresses) if (!this.ownerOf.has(a)) this.ownerOf.set(a, name);
  }

  /** In the order of the host's addresses, so eth0 carries its primary address when that is on a link. */
  interfacesOf(host: string): HostInterface[] {
    const order = this.hosts.get(host)?.addresses ?? [];
    const rank = (link: number): number => order.indexOf(this.endOf(link, host)?.address ?? '');
    return [...(this.linksOf.get(host) ?? [])]
      .sort((x, y) => rank(x) - rank(y))
      .map((link, i) => ({
        name: `eth${i}`,
        link,
        address: this.endOf(link, host)?.address ?? '',
        prefixLength: 24,
      }));
  }

  routesOf(host: string): HostRoute[] {
    const mine = new Set(this.linksOf.get(host) ?? []);
    const tree = this.tree(host);
    const routes: HostRoute[] = [];
    this.network.links.forEach((link, i) => {
      if (mine.has(i)) return;
      // Toward the nearest host on that subnet; ties go to the host met first in the file.
      let best: { cost: number; firstLink: number; firstHop: string } | undefined;
      for (const end of link.ends) {
        const t = tree.get(end.host);
        if (t !== undefined && end.host !== host && (best === undefined || t.cost < best.cost)) best = t;
      }
      if (best === undefined) return;
      const via = this.endOf(best.firstLink, best.firstHop)?.address;
      const dev = this.interfacesOf(host).find((f) => f.link === best.firstLink)?.name;
      if (via !== undefined && dev !== undefined) routes.push({ subnet: link.subnet, via, dev });
    });
    return routes;
  }

  /**
   * The path a packet from `from` to `address` takes, hop by hop along the routes (as the
   * kernels would forward it), or null if a host on the way has no route.
   */
  pathTo(from: string, address: string): UnderlayPath | null {
    const owner = this.ownerOf.get(address);
    if (owner === undefined) return null;
    const hosts = [from];
    let delayMs = 0;
    let delivered = 1;
    let here = from;
    const subnetLink = this.linkOfAddress.get(address) ?? -1;
    while (here !== owner) {
      if (hosts.length > this.hosts.size + 1) return null;
      let link: number;
      let next: string;
      if (subnetLink >= 0 && (this.linksOf.get(here) ?? []).includes(subnetLink)) {
        link = subnetLink;
        next = owner;
      } else {
        const dest = subnetLink >= 0 ? this.network.links[subnetLink]?.subnet : undefined;
        const route = dest === undefined ? undefined : this.routesOf(here).find((r) => r.subnet === dest);
        // An address on no link is reachable only on its own host.
        if (route === undefined) return null;
        next = this.ownerOf.get(route.via) ?? '';
        link = this.interfacesOf(here).find((f) => f.name === route.dev)?.link ?? -1;
      }
      const l = this.network.links[link];
      if (l === undefined || next === '') return null;
      delayMs += l.delayMs;
      delivered *= 1 - l.lossPct / 100;
      hosts.push(next);
      here = next;
    }
    return { hosts, delayMs: round(delayMs), lossPct: round((1 - delivered) * 100) };
  }

  private endOf(link: number, host: string): { host: string; address: string } | undefined {
    return this.network.links[link]?.ends.find((e) => e.host === host);
  }

  /** Dijkstra from `source`: cost is delay plus a hair per hop, so equal delays prefer fewer hops. */
  private tree(source: string): Map<string, { cost: number; firstLink: number; firstHop: string }> {
    const cached = this.trees.get(source);
    if (cached !== undefined) return cached;
    const done = new Map<string, { cost: number; firstLink: number; firstHop: string }>();
    const frontier = new Map<string, { cost: number; firstLink: number; firstHop: string }>([
      [source, { cost: 0, firstLink: -1, firstHop: source }],
    ]);
    while (frontier.size > 0) {
      let here: string | undefined;
      let best: { cost: number; firstLink: number; firstHop: string } | undefined;
      for (const [name, entry] of frontier)
        if (best === undefined || entry.cost < best.cost) [here, best] = [name, entry];
      if (here === undefined || best === undefined) break;
      frontier.delete(here);
      done.set(here, best);
      // Clients are end hosts: they do not forward for others.
      if (here !== source && this.hosts.get(here)?.role === 'client') continue;
      for (const i of this.linksOf.get(here) ?? []) {
        const link = this.network.links[i] as NetworkLink;
        for (const end of link.ends) {
          if (end.host === here || done.has(end.host)) continue;
          const cost = best.cost + link.delayMs + HOP_COST;
          const known = frontier.get(end.host);
          if (known !== undefined && known.cost <= cost) continue;
          frontier.set(
            end.host,
            here === source
              ? { cost, firstLink: i, firstHop: end.host }
              : { cost, firstLink: best.firstLink, firstHop: best.firstHop },
          );
        }
      }
    }
    done.delete(source);
    this.trees.set(source, done);
    return done;
  }
}

/** Small against any delay a file can usefully give (0.001 ms), large against float error. */
const HOP_COST = 1e-6;

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
