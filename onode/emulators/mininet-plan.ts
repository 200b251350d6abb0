/**
 * What the Mininet driver builds and runs, as plain JSON: hosts with their interfaces,
 * addresses and routes, links with their impairments, and the processes to start, each a
 * scripts/run.sh command line. Pure: no I/O, so it is tested without Mininet.
 */
import { basename } from 'node:path';
import { emulatedHosts, type EmulatedHost, type Topology } from '../config/topology.ts';
import { lanMember, pointToPoint } from './link-impairment.ts';

/** Linux interface names are at most 15 bytes (IFNAMSIZ - 1). */
export const MAX_INTERFACE_NAME = 15;

export interface PlanInterface {
  /** The interface name in Mininet, e.g. 'o3-eth2'; unique on the machine while the net runs. */
  readonly name: string;
  /** 'A.B.C.D/24', or null on a switch's port. */
  readonly address: string | null;
}

export interface PlanHost {
  readonly name: string;
  /** A topology role, or 'switch' for the bridge host that stands for a LAN. */
  readonly role: EmulatedHost['role'] | 'switch';
  /** Overlay nodes and routers forward; clients and switches do not route. */
  readonly forward: boolean;
  readonly interfaces: readonly PlanInterface[];
  /** Addresses on no link, for the loopback interface. */
  readonly loopback: readonly string[];
  readonly routes: readonly { readonly subnet: string; readonly via: string; readonly dev: string }[];
}

export interface PlanLink {
  readonly a: string;
  readonly aIntf: string;
  readonly b: string;
  readonly bIntf: string;
  /** Applied on both interfaces, so each direction gets it once. */
  readonly delayMs: number;
  readonly lossPct: number;
  readonly rateKbps: number | null;
}

export interface PlanProcess {
  readonly host: string;
  readonly kind: 'bootstrapper' | 'overlay' | 'client';
  readonly argv: readonly string[];
  /** Appended when the kernel has no netem: the nodes then apply delay and loss themselves. */
  readonly withoutNetem: readonly string[];
}

export interface MininetPlan {
  readonly hosts: readonly PlanHost[];
  readonly links: readonly PlanLink[];
  readonly processes: readonly PlanProcess[];
  /** Where the driver checks readiness: the bootstrapper's /status lists the registered nodes. */
  readonly bootstrapper: { readonly host: string; readonly address: string };
  /** Every overlay node, which must all register before clients start. */
  readonly nodes: readonly string[];
  /** POPs and an address of each; clients start once each has a route to every server. */
  readonly pops: readonly { readonly host: string; readonly address: string }[];
  readonly servers: number;
  readonly statusPort: number;
  readonly out: string;
  /** Seconds the network runs; null: open the Mininet CLI instead. */
  readonly duration: number | null;
  /** Seconds each client plays; null: what is left of `duration` once the overlay is ready. */
  readonly clientDuration: number | null;
  /** Give up when the overlay is not ready after this many seconds. */
  readonly readySeconds: number;
  /** 'off' never uses netem, even where the kernel has it. */
  readonly netem: 'auto' | 'off';
}

export interface PlanOptions {
  /** Absolute path of the topology file (the bootstrapper reads it). */
  readonly file: string;
  /** Absolute path of scripts/run.sh. */
  readonly runScript: string;
  /** Absolute path of the movies directory. */
  readonly moviesDir: string;
  /** The movies clients play, in turn (client i plays movies[i % length]). */
  readonly movies: readonly string[];
  readonly out: string;
  readonly duration: number | null;
  readonly clientDuration?: number | null;
  readonly readySeconds?: number;
  readonly netem?: 'auto' | 'off';
  /** Flags for every overlay process (ports, intervals, log level). */
  readonly overlayArgs?: readonly string[];
  readonly statusPort?: number;
}

export class PlanError extends Error {
  override readonly name = 'PlanError';
}

export function mininetPlan(topo: Topology, opts: PlanOptions): MininetPlan {
  const hosts = emulatedHosts(topo);
  const taken = new Set(hosts.map((h) => h.name));
  const intfName = interfaceNamer(hosts.map((h) => h.name));
  const planHosts: PlanHost[] = [];
  const links: PlanLink[] = [];
  const devOf = new Map<string, string>();

  for (const [i, h] of hosts.entries()) {
    const interfaces = h.interfaces.map((f) => {
      const name = intfName(i, h.name, f.name);
      devOf.set(`${h.name}\n${f.name}`, name);
      return { name, address: `${f.address}/${f.prefixLength}` };
    });
    planHosts.push({
      name: h.name,
      role: h.role,
      forward: h.role !== 'client',
      interfaces,
      loopback: h.loopbackAddresses,
      routes: h.routes.map((r) => ({ ...r, dev: devOf.get(`${h.name}\n${r.dev}`) ?? r.dev })),
    });
  }

  topo.network.links.forEach((link, index) => {
    const intfOf = (host: string): string => {
      const h = hosts.find((x) => x.name === host);
      const f = h?.interfaces.find((x) => x.link === index);
      return devOf.get(`${host}\n${f?.name ?? ''}`) ?? '';
    };
    const [first, second] = link.ends;
    if (link.ends.length === 2 && first !== undefined && second !== undefined) {
      links.push({
        a: first.host,
        aIntf: intfOf(first.host),
        b: second.host,
        bIntf: intfOf(second.host),
        ...pointToPoint(link),
      });
      return;
    }
    // A LAN: a bridge in a host of its own (link-impairment.ts says how impairments split).
    let sw = `sw${index}`;
    while (taken.has(sw)) sw = `${sw}x`;
    taken.add(sw);
    const ports: PlanInterface[] = [];
    link.ends.forEach((end, port) => {
      const swIntf = `${sw}-eth${port}`;
      if (swIntf.length > MAX_INTERFACE_NAME) throw new PlanError(`interface name ${swIntf} is too long`);
      ports.push({ name: swIntf, address: null });
      links.push({ a: end.host, aIntf: intfOf(end.host), b: sw, bIntf: swIntf, ...lanMember(link) });
    });
    planHosts.push({ name: sw, role: 'switch', forward: false, interfaces: ports, loopback: [], routes: [] });
  });

  const boot = topo.nodes.get(topo.bootstrapper);
  const bootAddress = boot?.addresses[0] ?? '';
  const statusPort = opts.statusPort ?? 7080;
  const overlayArgs = opts.overlayArgs ?? [];
  const common = (host: string): string[] => ['--log-dir', opts.out, '--name', host];
  // Nodes and clients are given every bootstrapper, in order; each bootstrapper reads the topology.
  const bootAddresses = topo.bootstrappers.map((n) => topo.nodes.get(n)?.addresses[0] ?? '').join(',');
  const processes: PlanProcess[] = topo.bootstrappers.map((name) => ({
    host: name,
    kind: 'bootstrapper',
    argv: [
      opts.runScript,
      'server',
      '--topology',
      opts.file,
      '--movies',
      opts.moviesDir,
      ...common(name),
      ...overlayArgs,
      '--exit-with-stdin',
    ],
    withoutNetem: ['--emulate-links'],
  }));
  for (const node of topo.nodes.values()) {
    if (topo.bootstrappers.includes(node.name)) continue;
    const movies = node.role === 'server' ? ['--movies', opts.moviesDir] : [];
    processes.push({
      host: node.name,
      kind: 'overlay',
      argv: [
        opts.runScript,
        node.role,
        '--bootstrapper',
        bootAddresses,
        ...movies,
        ...common(node.name),
        ...overlayArgs,
        '--exit-with-stdin',
      ],
      withoutNetem: [],
    });
  }
  if (opts.movies.length === 0 && topo.clients.size > 0)
    throw new PlanError(`no movies in ${opts.moviesDir} for the clients (make samples with: npm run movies)`);
  [...topo.clients.values()].forEach((client, i) => {
    const movie = opts.movies[i % opts.movies.length] ?? '';
    const pop = client.pop === null ? undefined : topo.nodes.get(client.pop);
    const popAddress = pop === undefined ? undefined : clientFacing(pop.clientAddresses, client.addresses);
    processes.push({
      host: client.name,
      kind: 'client',
      argv: [
        opts.runScript,
        'client',
        '--bootstrapper',
        bootAddresses,
        '--movie',
        movie,
        ...common(client.name),
        '--stats',
        `${opts.out}/${client.name}.stats.json`,
        '--output',
        `${opts.out}/${client.name}.${extension(movie)}`,
        ...(popAddress !== undefined ? ['--pop', popAddress] : []),
      ],
      withoutNetem: [],
    });
  });

  const pops = [...topo.nodes.values()]
    .filter((n) => n.role === 'pop')
    .map((n) => ({ host: n.name, address: n.addresses[0] ?? '' }));
  return {
    hosts: planHosts,
    links,
    processes,
    bootstrapper: { host: topo.bootstrapper, address: bootAddress },
    nodes: [...topo.nodes.keys()],
    pops,
    servers: [...topo.nodes.values()].filter((n) => n.role === 'server').length,
    statusPort,
    out: opts.out,
    duration: opts.duration,
    clientDuration: opts.clientDuration ?? null,
    readySeconds: opts.readySeconds ?? 60,
    netem: opts.netem ?? 'auto',
  };
}

/** The POP address on a /24 the client is on, else the POP's first client address. */
function clientFacing(popAddresses: readonly string[], clientAddresses: readonly string[]): string | undefined {
  const net = (a: string): string => a.split('.').slice(0, 3).join('.');
  return popAddresses.find((p) => clientAddresses.some((c) => net(c) === net(p))) ?? popAddresses[0];
}

function extension(movie: string): string {
  return /\.mjpe?g$/i.test(movie) ? 'mjpeg' : `${basename(movie)}.mjpeg`;
}

/**
 * 'HOST-ethN' when it fits in 15 bytes, else '_hI-ethN' (I: the host's index; no topology name starts with _), so
 * long host names still make valid and unique interface names.
 */
function interfaceNamer(names: readonly string[]): (index: number, host: string, eth: string) => string {
  const long = new Set(names.filter((n) => n.length + '-eth99'.length > MAX_INTERFACE_NAME));
  return (index, host, eth) => {
    const name = long.has(host) ? `_h${index}-${eth}` : `${host}-${eth}`;
    if (name.length > MAX_INTERFACE_NAME)
      throw new PlanError(`host ${host} has too many interfaces for a valid interface name (${name})`);
    return name;
  };
}
