/**
 * What a CORE scenario needs besides nodes and links: each host's start-up script (forwarding,
 * static routes, rate limits when CORE does not apply them, then its role through scripts/run.sh)
 * and a readable layout on the canvas. CORE nodes share the machine's file system, so the scripts
 * call the repository in place.
 */
import type { EmulatedHost, Topology } from '../config/topology.ts';

/**
 * Stock CORE 9 has no service that runs a script of ours (9.1 removed UserDefined), but its
 * StaticRoute service writes staticroute.sh from a template a scenario may replace, then runs it
 * with bash: every host carries its start-up script there.
 */
export const CORE_SERVICE = 'StaticRoute';
export const STARTUP_FILE = 'staticroute.sh';

export interface CoreOptions {
  /** Absolute path of the repository (scripts/run.sh, dist/). */
  readonly root: string;
  /** Absolute path of the topology file, for the bootstrapper. */
  readonly file: string;
  /** Absolute path of the servers' movies. */
  readonly moviesDir: string;
  /** Movies the clients play in turn; none: clients are not started. */
  readonly movies: readonly string[];
  /** Absolute path of the overlay secret file every server, node and POP reads (clients hold none). */
  readonly secretFile: string;
  /** Where every node writes its log (default /tmp/onode-logs). */
  readonly logDir?: string;
  /**
   * The nodes apply delay and loss themselves and the start-up scripts limit rates with tbf, for a
   * kernel without netem (CORE applies every link option with netem). Default false.
   */
  readonly emulateLinks?: boolean;
  /** The node binary the scripts use when it exists on the CORE machine (ONODE_NODE of run.sh). */
  readonly nodeBinary?: string;
  /** Clients start from their scripts after --client-delay. False: a runner starts them. Default true. */
  readonly startClients?: boolean;
  /** Seconds a client waits before it starts, so the overlay is up (default 15). */
  readonly clientDelay?: number;
  /** Seconds a client plays (default 60). */
  readonly clientDuration?: number;
}

export const DEFAULT_LOG_DIR = '/tmp/onode-logs';

/** Quotes a word for sh: 'it''s' style, so any path survives. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The start-up script of one host. Routers only forward; every other host then starts its role
 * in the background (CORE waits for start-up commands to return).
 */
export function startupScript(topo: Topology, host: EmulatedHost, clientIndex: number, opts: CoreOptions): string {
  const q = shellQuote;
  const logDir = opts.logDir ?? DEFAULT_LOG_DIR;
  const run = `${opts.root}/scripts/run.sh`;
  const boot = bootstrapperAddresses(topo);
  const isBootstrapper = host.role === 'server' && topo.bootstrappers.includes(host.name);
  const bootNote =
    host.name === topo.bootstrapper ? ', the bootstrapper' : isBootstrapper ? ', a standby bootstrapper' : '';
  const lines = [
    '#!/bin/sh',
    `# ${host.name} (${host.role}${bootNote}): written by onode core; it forwards, routes, and starts its role.`,
    "# Errors go to the node's log: CORE only logs a failed start-up in its daemon's log.",
    `mkdir -p ${q(logDir)} && exec 2>>${q(`${logDir}/${host.name}.log`)}`,
    ...(opts.nodeBinary ? [`[ -x ${q(opts.nodeBinary)} ] && export ONODE_NODE=${q(opts.nodeBinary)}`] : []),
    `sysctl -qw net.ipv4.ip_forward=${host.role === 'client' ? 0 : 1}`,
    'sysctl -qw net.ipv4.conf.all.rp_filter=0',
    'sysctl -qw net.ipv4.conf.default.rp_filter=0',
    ...host.interfaces.map((i) => `sysctl -qw net.ipv4.conf.${i.name}.rp_filter=0`),
    ...host.loopbackAddresses.map((a) => `ip addr add ${a}/32 dev lo`),
    ...host.routes.map((r) => `ip route add ${r.subnet} via ${r.via} dev ${r.dev}`),
    ...(opts.emulateLinks ? rateLimits(topo, host) : []),
  ];
  const common = ['--log-dir', logDir, '--name', host.name];
  const secret = ['--secret', opts.secretFile];
  let command: string[] | null = null;
  if (isBootstrapper) {
    const emulate = opts.emulateLinks ? ['--emulate-links'] : [];
    command = [
      run,
      'server',
      '--topology',
      opts.file,
      '--movies',
      opts.moviesDir,
      ...secret,
      ...common,
      ...emulate,
      '--background',
    ];
  } else if (host.role === 'server') {
    command = [run, 'server', '--bootstrapper', boot, '--movies', opts.moviesDir, ...secret, ...common, '--background'];
  } else if (host.role === 'node' || host.role === 'pop') {
    command = [run, host.role, '--bootstrapper', boot, ...secret, ...common, '--background'];
  } else if (host.role === 'client' && opts.movies.length > 0 && opts.startClients !== false) {
    const client = clientCommand(topo, host, clientIndex, opts, opts.clientDuration ?? 60);
    lines.push(`# Plays once the overlay is up; stats and frames in ${logDir}, what it says in its log.`);
    const log = q(`${logDir}/${host.name}.log`);
    lines.push(`nohup sh -c ${q(`sleep ${opts.clientDelay ?? 15}; exec ${client.map(q).join(' ')}`)} >>${log} 2>&1 &`);
  }
  // Its status is the script's: CORE logs a start-up that fails.
  lines.push(command === null ? 'exit 0' : command.map(q).join(' '));
  return `${lines.join('\n')}\n`;
}

/**
 * Egress rate limits by tbf, one per interface on a rated link: each end limits what it sends, so
 * both directions get the link's rate. The burst holds 10 ms at that rate (at least 16 KiB, so a
 * whole video frame passes), the queue 50 ms. A kernel without tbf leaves the link unlimited.
 */
export function rateLimits(topo: Topology, host: EmulatedHost): string[] {
  return host.interfaces.flatMap((i) => {
    const rate = topo.network.links[i.link]?.rateKbps ?? null;
    if (rate === null) return [];
    const burst = Math.max(16 * 1024, Math.round((rate * 1000) / 8 / 100));
    return [
      `tc qdisc replace dev ${i.name} root tbf rate ${rate}kbit burst ${burst} latency 50ms ` +
        `|| echo "${host.name}: no rate limit on ${i.name} (tc tbf failed)" >&2`,
    ];
  });
}

/**
 * The command line of a headless client: the run script's client role on the movie of its turn,
 * through the POP address on its own LAN, writing stats and frames next to the logs.
 */
export function clientCommand(
  topo: Topology,
  host: EmulatedHost,
  clientIndex: number,
  opts: CoreOptions,
  durationSec: number,
): string[] {
  const logDir = opts.logDir ?? DEFAULT_LOG_DIR;
  const movie = opts.movies[clientIndex % opts.movies.length] ?? '';
  const pop = topo.clients.get(host.name)?.pop;
  const popNode = pop === null || pop === undefined ? undefined : topo.nodes.get(pop);
  const mine = host.interfaces.map((i) => subnet24(i.address));
  const popAddress = popNode?.clientAddresses.find((a) => mine.includes(subnet24(a))) ?? popNode?.clientAddresses[0];
  return [
    `${opts.root}/scripts/run.sh`,
    'client',
    '--bootstrapper',
    bootstrapperAddresses(topo),
    '--movie',
    movie,
    '--log-dir',
    logDir,
    '--name',
    host.name,
    '--duration',
    String(durationSec),
    '--stats',
    `${logDir}/${host.name}.stats.json`,
    '--output',
    `${logDir}/${host.name}.mjpeg`,
    ...(popAddress ? ['--pop', popAddress] : []),
  ];
}

/** The (first) bootstrapper's address: where the runner asks who has registered. */
export function bootstrapperAddress(topo: Topology): string {
  return topo.nodes.get(topo.bootstrapper)?.addresses[0] ?? '';
}

/** Every bootstrapper's address, comma-separated in order: what nodes and clients are given. */
export function bootstrapperAddresses(topo: Topology): string {
  return topo.bootstrappers.map((name) => topo.nodes.get(name)?.addresses[0] ?? '').join(',');
}

function subnet24(address: string): string {
  return address.split('.').slice(0, 3).join('.');
}

export interface Position {
  readonly x: number;
  readonly y: number;
}

/**
 * Canvas positions: hosts in rows by their hop distance from the servers (servers on top,
 * clients at the bottom), spread evenly across the canvas; LAN switches next to their members.
 */
export function layout(hosts: readonly EmulatedHost[], topo: Topology, width = 1000): Map<string, Position> {
  const neighbours = new Map<string, Set<string>>(hosts.map((h) => [h.name, new Set()]));
  for (const link of topo.network.links) {
    for (const a of link.ends) for (const b of link.ends) if (a.host !== b.host) neighbours.get(a.host)?.add(b.host);
  }
  const depth = new Map<string, number>();
  let frontier = hosts.filter((h) => h.role === 'server').map((h) => h.name);
  for (const n of frontier) depth.set(n, 0);
  for (let d = 1; frontier.length > 0; d++) {
    const next: string[] = [];
    for (const n of frontier) {
      for (const m of neighbours.get(n) ?? []) {
        if (depth.has(m)) continue;
        depth.set(m, d);
        next.push(m);
      }
    }
    frontier = next;
  }
  const deepest = Math.max(0, ...depth.values());
  const rows = new Map<number, string[]>();
  for (const h of hosts) {
    const d = depth.get(h.name) ?? deepest + 1;
    rows.set(d, [...(rows.get(d) ?? []), h.name]);
  }
  const positions = new Map<string, Position>();
  for (const [d, names] of rows) {
    for (const [i, name] of names.entries()) {
      positions.set(name, { x: Math.round(((i + 1) * width) / (names.length + 1)), y: 80 + d * 120 });
    }
  }
  return positions;
}
