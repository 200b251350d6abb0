/**
 * The overlay topology: which hosts are servers, relay nodes and POPs, the addresses each is
 * known by, and the overlay links between them (with the delay, loss and rate to emulate).
 *
 * Two file formats load into the same model: the native JSON5 format (topologies/README.md)
 * and the legacy JSON of the original report (Figure 4), recognised by its `names` and
 * `neighbours` fields. Parsing lives in topology-native.ts / topology-legacy.ts, the checks
 * both share in topology-validate.ts; this file is the model and the public entry points.
 */
import { readFileSync, statSync } from 'node:fs';
import JSON5 from 'json5';
import { TopologyError } from './topology-error.ts';
import { describeValue, isRecord } from './topology-fields.ts';
import { looksLegacy, parseLegacy } from './topology-legacy.ts';
import { parseNative } from './topology-native.ts';

export { TopologyError } from './topology-error.ts';
export { toLoopback } from './topology-ipv4.ts';
export { loopbackTopology } from './topology-loopback.ts';
export { MAX_NAME_LENGTH } from './topology-fields.ts';
export { emulatedHosts, type EmulatedHost, type HostInterface, type HostRoute } from './topology-routes.ts';

export type Role = 'server' | 'node' | 'pop';

/** What a host of the emulated network is: an overlay node's role, a client, or an underlay router. */
export type HostRole = Role | 'client' | 'router';

export interface TopologyNode {
  readonly name: string;
  readonly role: Role;
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
  /** The server that hands out neighbours; always a node with role 'server'. */
  readonly bootstrapper: string;
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
  readonly role: Role;
  /** The address to send to, to reach this neighbour over the link. */
  readonly address: string;
  readonly delayMs: number;
  readonly lossPct: number;
  readonly rateKbps: number | null;
}

export interface TopologyOptions {
  /** Overrides the file's bootstrapper (native `bootstrapper`, else the first server in file order). */
  readonly bootstrapper?: string;
}

/** Larger files are not topologies (probably a movie passed by mistake); refuse before reading. */
export const MAX_TOPOLOGY_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Reads, parses and validates a topology file (native JSON5 or legacy JSON, auto-detected).
 * @throws TopologyError for an unreadable or oversized file, a JSON5 syntax error (with line and
 *   column) or an invalid topology.
 */
export function loadTopologyFile(path: string, options: TopologyOptions = {}): Topology {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_TOPOLOGY_FILE_BYTES) {
      throw new TopologyError(
        path,
        'file',
        `it is ${size} bytes, more than the ${MAX_TOPOLOGY_FILE_BYTES} a topology may have`,
        'check that this is the topology file',
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof TopologyError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : `cannot read it (${code})`;
    throw new TopologyError(path, 'file', reason, 'check the path (topologies ship in the topologies/ folder)');
  }
  return parseTopology(text, path, options);
}

/**
 * Parses and validates topology text. `source` names it in messages.
 * @throws TopologyError as loadTopologyFile does.
 */
export function parseTopology(text: string, source: string, options: TopologyOptions = {}): Topology {
  const raw = parseJson5(text, source);
  if (!isRecord(raw)) {
    throw new TopologyError(
      source,
      'top level',
      `expected an object, got ${describeValue(raw)}`,
      'wrap the topology in { nodes: { ... }, links: [ ... ] }',
    );
  }
  return looksLegacy(raw) ? parseLegacy(raw, source, options) : parseNative(raw, source, options);
}

function parseJson5(text: string, source: string): unknown {
  try {
    return JSON5.parse(text);
  } catch (err) {
    const { lineNumber, columnNumber, message } = err as SyntaxError & { lineNumber?: number; columnNumber?: number };
    if (lineNumber === undefined || columnNumber === undefined) throw err;
    // json5 says "JSON5: invalid character 'x' at 3:5"; the position goes into `where`.
    const problem = message.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '');
    throw new TopologyError(
      source,
      `line ${lineNumber}, column ${columnNumber}`,
      `JSON5 syntax error: ${problem}`,
      'correct the syntax there (look for a missing comma, quote or bracket just before it)',
    );
  }
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
