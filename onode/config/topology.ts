/**
 * The overlay topology: which hosts are servers, relay nodes and POPs, the addresses each is
 * known by, and the overlay links between them (with the delay, loss and rate to emulate).
 *
 * Two file formats load into the same model: the native JSON5 format (topologies/README.md)
 * and the legacy JSON of the original report (Figure 4), recognised by its `names` and
 * `neighbours` fields. Parsing lives in topology-native.ts / topology-legacy.ts, the checks
 * both share in topology-validate.ts, the model in topology-model.ts; this file reads files and
 * is the public entry point (it re-exports the model).
 */
import { readFileSync, statSync } from 'node:fs';
import JSON5 from 'json5';
import { TopologyError } from './topology-error.ts';
import { describeValue, isRecord } from './topology-fields.ts';
import { looksLegacy, parseLegacy } from './topology-legacy.ts';
import { parseNative } from './topology-native.ts';
import type { Topology } from './topology-model.ts';

export { TopologyError } from './topology-error.ts';
export { toLoopback } from './topology-ipv4.ts';
export { loopbackTopology } from './topology-loopback.ts';
export { MAX_NAME_LENGTH } from './topology-fields.ts';
export { emulatedHosts, type EmulatedHost, type HostInterface, type HostRoute } from './topology-routes.ts';
export * from './topology-model.ts';

export interface TopologyOptions {
  /**
   * Overrides the file's bootstrapper (native `bootstrapper`, else the first server in file order);
   * a list names standby bootstrappers after the first.
   */
  readonly bootstrapper?: string | readonly string[];
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
