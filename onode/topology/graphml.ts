/**
 * Reads a GraphML network (the Internet Topology Zoo's format, or any GraphML with `label`,
 * `Latitude` and `Longitude` node attributes) into a GeoGraph. What the file gets wrong is
 * repaired and said in `notes`: duplicate edges and self-loops are dropped, a directed graph is
 * read as undirected, hyperedges are ignored, nodes without coordinates are counted.
 */
import { XMLParser } from 'fast-xml-parser';
import type { GeoEdge, GeoGraph, GeoNode } from './geo-graph.ts';

/** A file that is no GraphML network at all: the message says what is missing. */
export class GraphmlError extends Error {
  override readonly name = 'GraphmlError';
}

/** The largest file read (the Zoo's largest is under 1 MB). */
export const MAX_GRAPHML_BYTES = 32 * 1024 * 1024;

type Xml = Record<string, unknown>;

const ALWAYS_LISTS = new Set(['key', 'graph', 'node', 'edge', 'data', 'hyperedge']);

export function readGraphml(text: string, name: string): GeoGraph {
  if (text.length > MAX_GRAPHML_BYTES) throw new GraphmlError(`larger than ${MAX_GRAPHML_BYTES} bytes`);
  let doc: Xml;
  try {
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      parseTagValue: false,
      parseAttributeValue: false,
      isArray: (tag) => ALWAYS_LISTS.has(tag),
    });
    doc = parser.parse(text, true) as Xml;
  } catch (err) {
    throw new GraphmlError(`not well-formed XML (${(err as Error).message.split('\n')[0]})`);
  }
  const root = doc.graphml as Xml | undefined;
  if (root === undefined || typeof root !== 'object') throw new GraphmlError('no <graphml> element');
  const graphs = (root.graph as Xml[] | undefined) ?? [];
  const graph = graphs[0];
  if (graph === undefined) throw new GraphmlError('no <graph> element');
  const notes: string[] = [];
  if (graphs.length > 1) notes.push(`${graphs.length - 1} further <graph> elements ignored (the first is read)`);

  const keys = nodeKeys((root.key as Xml[] | undefined) ?? []);
  const nodes: GeoNode[] = [];
  const seen = new Set<string>();
  let duplicateNodes = 0;
  for (const n of (graph.node as Xml[] | undefined) ?? []) {
    const id = attr(n, 'id');
    if (id === null) continue;
    if (seen.has(id)) {
      duplicateNodes++;
      continue;
    }
    seen.add(id);
    const data = dataOf(n);
    const lat = coordinate(data.get(keys.lat ?? ''), 90);
    const lon = coordinate(data.get(keys.lon ?? ''), 180);
    const located = lat !== null && lon !== null;
    nodes.push({
      id,
      label: data.get(keys.label ?? '')?.trim() || id,
      lat: located ? lat : null,
      lon: located ? lon : null,
    });
  }
  if (nodes.length === 0) throw new GraphmlError('the graph has no nodes');
  if (duplicateNodes > 0) notes.push(`${duplicateNodes} repeated node ids ignored`);
  const unlocated = nodes.filter((n) => n.lat === null).length;
  if (unlocated > 0) notes.push(`${unlocated} of ${nodes.length} nodes have no coordinates`);
  if (attr(graph, 'edgedefault') === 'directed') notes.push('a directed graph: its edges are read as undirected');
  const hyper = ((graph.hyperedge as Xml[] | undefined) ?? []).length;
  if (hyper > 0) notes.push(`${hyper} hyperedges ignored`);
  return { name, nodes, edges: readEdges((graph.edge as Xml[] | undefined) ?? [], seen, notes), notes };
}

function readEdges(raw: readonly Xml[], ids: ReadonlySet<string>, notes: string[]): GeoEdge[] {
  const edges: GeoEdge[] = [];
  const pairs = new Set<string>();
  let loops = 0;
  let repeated = 0;
  let dangling = 0;
  for (const e of raw) {
    const a = attr(e, 'source');
    const b = attr(e, 'target');
    if (a === null || b === null || !ids.has(a) || !ids.has(b)) {
      dangling++;
      continue;
    }
    if (a === b) {
      loops++;
      continue;
    }
    const key = a < b ? `${a}\n${b}` : `${b}\n${a}`;
    if (pairs.has(key)) {
      repeated++;
      continue;
    }
    pairs.add(key);
    edges.push({ a, b });
  }
  if (repeated > 0) notes.push(`${repeated} duplicate edges merged (parallel links between the same two places)`);
  if (loops > 0) notes.push(`${loops} self-loops dropped`);
  if (dangling > 0) notes.push(`${dangling} edges to unknown nodes dropped`);
  return edges;
}

/** The ids of the node attributes read, found by name whatever the file calls its keys. */
function nodeKeys(keys: readonly Xml[]): { label?: string; lat?: string; lon?: string } {
  const out: { label?: string; lat?: string; lon?: string } = {};
  for (const k of keys) {
    const id = attr(k, 'id');
    const what = attr(k, 'attr.name')?.toLowerCase();
    const target = attr(k, 'for');
    if (id === null || (target !== 'node' && target !== 'all')) continue;
    if (what === 'label') out.label ??= id;
    else if (what === 'latitude') out.lat ??= id;
    else if (what === 'longitude') out.lon ??= id;
  }
  return out;
}

function dataOf(element: Xml): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of (element.data as Xml[] | undefined) ?? []) {
    const key = attr(d, 'key');
    const text = typeof d === 'object' ? d['#text'] : d;
    if (key !== null && (typeof text === 'string' || typeof text === 'number')) out.set(key, String(text));
  }
  return out;
}

function attr(element: Xml, name: string): string | null {
  const v = element[`@${name}`];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : null;
}

function coordinate(text: string | undefined, limit: number): number | null {
  if (text === undefined) return null;
  const x = Number(text);
  return Number.isFinite(x) && Math.abs(x) <= limit ? x : null;
}
