/**
 * The legacy topology JSON of the original report (Figure 4), loaded as is:
 *
 *   { "s1": { "neighbours": ["10.0.25.1", ...], "names": ["10.0.25.10", ...] },
 *     "o2": { "neighbours": ["10.0.19.1", "10.0.25.10s", ...], "names": [...], "pop": [] }, ... }
 *
 * Each key is a node; `names` are its addresses; `neighbours` the addresses of its overlay
 * neighbours, a trailing "s" marking a server; a non-empty `pop` lists the client-facing
 * addresses of a POP. A key starting with "s", or a node someone marks with "s", is a server.
 * There are no link parameters (delay, loss, rate) and no clients in this format.
 */
import type { Topology } from './topology-model.ts';
import type { TopologyOptions } from './topology.ts';
import { TopologyError } from './topology-error.ts';
import { at, isRecord } from './topology-fields.ts';
import { validateTopology } from './topology-issues.ts';
import { legacySchema, SERVER_MARK, type LegacyFile } from './topology-schema.ts';
import {
  buildTopology,
  checkUniqueAddresses,
  nodeWhere,
  type DraftLink,
  type DraftNode,
  type Syntax,
} from './topology-validate.ts';

const SYNTAX: Syntax = {
  format: 'legacy',
  addressesField: 'names',
  clientAddressesField: 'pop',
  nodesWhere: 'top level',
  serverFix:
    `name a server with a key starting with 's' (e.g. "s1"), ` +
    "or mark its address with a trailing 's' in a neighbour's list",
};

interface LegacyEntry {
  readonly name: string;
  readonly addresses: string[];
  readonly clientAddresses: string[];
  readonly neighbours: { readonly address: string; readonly marked: boolean; readonly field: string }[];
}

/** A legacy file has no `nodes` key and its top-level values are nodes with `names`/`neighbours`. */
export function looksLegacy(raw: Record<string, unknown>): boolean {
  if (Object.hasOwn(raw, 'nodes')) return false;
  return Object.values(raw).some((v) => isRecord(v) && (Object.hasOwn(v, 'names') || Object.hasOwn(v, 'neighbours')));
}

export function parseLegacy(raw: Record<string, unknown>, file: string, options: TopologyOptions): Topology {
  const parsed = validateTopology(legacySchema, raw, file, 'legacy');
  const entries = Object.entries(parsed).map(([name, spec]) => readEntry(name, spec));
  // Neighbours are resolved by address, so ownership must be unambiguous first.
  checkUniqueAddresses(
    file,
    SYNTAX,
    entries.map((e) => ({ ...e, role: 'node' })),
    [],
  );
  const owner = new Map<string, string>();
  for (const e of entries) for (const a of e.addresses) owner.set(a, e.name);

  // For each node, the neighbours it lists and the address it lists them by.
  const listed = new Map<string, Map<string, string>>();
  // Servers marked with the suffix, with the evidence for messages.
  const markedBy = new Map<string, string>();
  for (const e of entries) {
    const mine = new Map<string, string>();
    for (const n of e.neighbours) {
      const where = at(nodeWhere(e.name), n.field);
      const other = owner.get(n.address);
      if (other === undefined) {
        throw new TopologyError(
          file,
          where,
          `'${n.address}' is not in the 'names' of any node`,
          "correct the address, or add it to the 'names' of the node it belongs to",
        );
      }
      if (other === e.name)
        throw new TopologyError(
          file,
          where,
          `'${n.address}' is one of the node's own names`,
          'list the addresses of its overlay neighbours only',
        );
      const earlier = mine.get(other);
      if (earlier !== undefined) {
        throw new TopologyError(
          file,
          where,
          `node '${other}' is already listed as '${earlier}'`,
          'list each neighbour once',
        );
      }
      mine.set(other, n.address);
      if (n.marked && !markedBy.has(other)) markedBy.set(other, `'${n.address}${SERVER_MARK}' in node '${e.name}'`);
    }
    listed.set(e.name, mine);
  }

  const nodes: DraftNode[] = entries.map((e) => {
    const evidence = e.name.startsWith(SERVER_MARK) ? `its name starts with '${SERVER_MARK}'` : markedBy.get(e.name);
    if (evidence !== undefined && e.clientAddresses.length > 0) {
      throw new TopologyError(
        file,
        at(nodeWhere(e.name), 'pop'),
        `a server cannot be a POP (it is a server because of ${evidence})`,
        "empty its 'pop' list, or stop marking it as a server",
      );
    }
    const role = evidence !== undefined ? 'server' : e.clientAddresses.length > 0 ? 'pop' : 'node';
    return { name: e.name, role, addresses: e.addresses, clientAddresses: e.clientAddresses };
  });

  const links: DraftLink[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    for (const [other, address] of listed.get(e.name) ?? []) {
      const key = e.name < other ? `${e.name}\n${other}` : `${other}\n${e.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const back = listed.get(other)?.get(e.name) ?? null;
      if (back === null) {
        warnings.push(
          `${nodeWhere(other)}: does not list '${e.name}' as a neighbour ` +
            `although '${e.name}' lists it (as ${address}); loaded as a link both ways`,
        );
      }
      links.push({
        a: e.name,
        b: other,
        addressOfA: back,
        addressOfB: address,
        delayMs: 0,
        lossPct: 0,
        rateKbps: null,
      });
    }
  }

  return buildTopology({
    source: file,
    syntax: SYNTAX,
    nodes,
    links,
    clients: [],
    network: null,
    bootstrapper: options.bootstrapper ?? null,
    bootstrapperWhere: (i) => (i === null ? 'option --bootstrapper' : `option --bootstrapper[${i}]`),
    warnings,
  });
}

/** The schema checked the fields; here a neighbour loses its server mark. */
function readEntry(name: string, spec: LegacyFile[string]): LegacyEntry {
  const neighbours = (spec.neighbours ?? []).map((item, i) => {
    const marked = item.endsWith(SERVER_MARK);
    return { address: marked ? item.slice(0, -SERVER_MARK.length) : item, marked, field: `neighbours[${i}]` };
  });
  return { name, addresses: spec.names, clientAddresses: spec.pop ?? [], neighbours };
}
