/**
 * Synthetic networks for when no real map fits: Waxman (links mostly between near places) and
 * Barabási–Albert (a few hubs, many leaves). Nodes are scattered over a box about the size of
 * Europe so that delays from greatCircleKm look like a real backbone's (0-15 ms one way).
 */
import { type GeoEdge, type GeoGraph, type GeoNode, seededRandom } from './geo-graph.ts';

export type GraphModel = 'waxman' | 'barabasi-albert';

export interface GenerateSpec {
  /** How many nodes, 2..100000. */
  readonly nodes: number;
  readonly model: GraphModel;
  /** Same seed, same graph. */
  readonly seed: number;
  /**
   * Waxman: alpha (edge density; default: whatever gives about DEFAULT_DEGREE links per place, as
   * operator backbones have, whatever the size) and beta (share of long links, default 0.15).
   */
  readonly alpha?: number;
  readonly beta?: number;
  /** Barabási–Albert: links each new node makes (default 2, or 1 for two nodes). */
  readonly m?: number;
}

/** A spec that cannot be generated; the message names the field and the fix. */
export class GenerateError extends Error {
  override readonly name = 'GenerateError';
}

export const MAX_NODES = 100_000;
/** Mean links per place a Waxman graph gets by default (the Topology Zoo's networks have 2 to 4). */
export const DEFAULT_DEGREE = 4;
/** Pairs sampled to estimate the mean Waxman weight, for the default alpha. */
const WEIGHT_SAMPLES = 20_000;
/**
 * No place gets more links than this (a Barabási–Albert hub would): a host holds at most 64
 * addresses, one per link plus a POP's client LAN.
 */
export const MAX_GENERATED_DEGREE = 60;
const DEFAULT_BETA = 0.15;
const DEFAULT_M = 2;
/** About 2,000 km by 2,000 km of Europe. */
export const BOX = { latMin: 40, latMax: 58, lonMin: -5, lonMax: 25 } as const;
const EARTH_RADIUS_KM = 6371;

/** Where the nodes are, also as unit vectors: the chord between two needs no trig per pair. */
interface Places {
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly z: Float64Array;
}

export function generateGraph(spec: GenerateSpec): GeoGraph {
  const { nodes: n, model, seed } = spec;
  validate(spec);
  const random = seededRandom(mixSeed(seed));
  const places = scatter(n, random);
  let ends: number[];
  let name: string;
  if (model === 'waxman') {
    const beta = spec.beta ?? DEFAULT_BETA;
    const scale = waxmanScale(places, beta);
    const alpha = spec.alpha ?? defaultAlpha(places, scale, random);
    ends = waxman(places, alpha, scale, random);
    name = `waxman n=${n} alpha=${alpha} beta=${beta} seed=${seed}`;
  } else {
    const m = spec.m ?? Math.min(DEFAULT_M, n - 1);
    ends = barabasiAlbert(n, m, random);
    name = `barabasi-albert n=${n} m=${m} seed=${seed}`;
  }
  const joined = connect(places, ends);
  const notes = joined > 0 ? [`joined ${joined} component(s) to the largest by their nearest links`] : [];
  const geoNodes: GeoNode[] = [];
  for (let i = 0; i < n; i++) {
    geoNodes.push({ id: String(i), label: `g${i + 1}`, lat: places.lat[i]!, lon: places.lon[i]! });
  }
  const edges: GeoEdge[] = [];
  for (let k = 0; k < ends.length; k += 2) {
    const a = ends[k]!;
    const b = ends[k + 1]!;
    edges.push(a < b ? { a: geoNodes[a]!.id, b: geoNodes[b]!.id } : { a: geoNodes[b]!.id, b: geoNodes[a]!.id });
  }
  return { name, nodes: geoNodes, edges, notes };
}

function validate(spec: GenerateSpec): void {
  const { nodes, model, seed, alpha, beta, m } = spec;
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > MAX_NODES) {
    throw new GenerateError(`--nodes must be an integer from 2 to ${MAX_NODES} (got ${nodes})`);
  }
  if (model !== 'waxman' && model !== 'barabasi-albert') {
    throw new GenerateError(`--model must be 'waxman' or 'barabasi-albert' (got '${model}')`);
  }
  if (!Number.isSafeInteger(seed)) throw new GenerateError(`--seed must be an integer (got ${seed})`);
  for (const [field, value] of [
    ['alpha', alpha],
    ['beta', beta],
  ] as const) {
    if (value !== undefined && !(typeof value === 'number' && value > 0 && value <= 1)) {
      throw new GenerateError(`--${field} must be a number in (0, 1], e.g. 0.4 (got ${value})`);
    }
  }
  // Half the degree cap: the first places' clique must leave room for the links that follow.
  const maxM = Math.min(nodes - 1, MAX_GENERATED_DEGREE / 2);
  if (m !== undefined && !(Number.isInteger(m) && m >= 1 && m <= maxM)) {
    throw new GenerateError(`--m must be an integer from 1 to ${maxM} (got ${m})`);
  }
}

/**
 * seededRandom keeps only the low 32 bits and maps 0 to 1, and xorshift's first outputs for small
 * seeds are tiny; hashing the whole seed (murmur3's finaliser) spreads seeds 0, 1, 2... apart.
 */
function mixSeed(seed: number): number {
  let h = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x1_0000_0000) >>> 0, 0x9e37_79b1);
  h = Math.imul(h ^ (h >>> 16), 0x85eb_ca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2_ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform in latitude and longitude inside BOX. */
function scatter(n: number, random: () => number): Places {
  const rad = Math.PI / 180;
  const p = {
    lat: new Float64Array(n),
    lon: new Float64Array(n),
    x: new Float64Array(n),
    y: new Float64Array(n),
    z: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const lat = BOX.latMin + (BOX.latMax - BOX.latMin) * random();
    const lon = BOX.lonMin + (BOX.lonMax - BOX.lonMin) * random();
    p.lat[i] = lat;
    p.lon[i] = lon;
    p.x[i] = Math.cos(lat * rad) * Math.cos(lon * rad);
    p.y[i] = Math.cos(lat * rad) * Math.sin(lon * rad);
    p.z[i] = Math.sin(lat * rad);
  }
  return p;
}

/** Squared chord between nodes i and j on the unit sphere; grows with the great-circle distance. */
function chord2(p: Places, i: number, j: number): number {
  const dx = p.x[i]! - p.x[j]!;
  const dy = p.y[i]! - p.y[j]!;
  const dz = p.z[i]! - p.z[j]!;
  return dx * dx + dy * dy + dz * dz;
}

/** Great-circle km from a squared unit chord (the same value greatCircleKm gives). */
function chordKm(c2: number): number {
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(c2) / 2));
}

/** Waxman's beta·L in km, L the largest distance between two places. */
function waxmanScale(p: Places, beta: number): number {
  const n = p.x.length;
  let max2 = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) max2 = Math.max(max2, chord2(p, i, j));
  }
  // Two nodes on one spot: every distance is 0, so any positive scale gives exp(0) = 1.
  return beta * chordKm(max2) || 1;
}

/** The alpha that gives about DEFAULT_DEGREE links per place: from the mean weight of sampled pairs. */
function defaultAlpha(p: Places, scale: number, random: () => number): number {
  const n = p.x.length;
  let sum = 0;
  for (let k = 0; k < WEIGHT_SAMPLES; k++) {
    const i = Math.floor(random() * n);
    const j = (i + 1 + Math.floor(random() * (n - 1))) % n;
    sum += Math.exp(-chordKm(chord2(p, i, j)) / scale);
  }
  const alpha = DEFAULT_DEGREE / ((n - 1) * (sum / WEIGHT_SAMPLES));
  return Number(Math.min(1, alpha).toPrecision(3));
}

/**
 * Every pair once, linked with probability alpha·exp(-d / (beta·L)). The exact O(n²) pass stays
 * fast (10,000 nodes in about 3 s): one draw per pair, and the distance only when the draw is
 * under alpha, since above it no distance can make the link. With a fixed alpha links grow with
 * n²; the default alpha shrinks with n instead (defaultAlpha).
 */
function waxman(p: Places, alpha: number, scale: number, random: () => number): number[] {
  const { x, y, z } = p;
  const n = x.length;
  const ends: number[] = [];
  for (let i = 0; i < n; i++) {
    const xi = x[i]!;
    const yi = y[i]!;
    const zi = z[i]!;
    for (let j = i + 1; j < n; j++) {
      const r = random();
      if (r >= alpha) continue;
      const dx = xi - x[j]!;
      const dy = yi - y[j]!;
      const dz = zi - z[j]!;
      if (r < alpha * Math.exp(-chordKm(dx * dx + dy * dy + dz * dz) / scale)) ends.push(i, j);
    }
  }
  return ends;
}

/**
 * A clique of m + 1 nodes, then each new node links to m distinct earlier ones with probability
 * proportional to degree: `pool` holds every edge end, so a uniform pick from it is degree-weighted.
 */
function barabasiAlbert(n: number, m: number, random: () => number): number[] {
  const core = m + 1;
  const ends: number[] = [];
  const pool = new Int32Array(core * m + 2 * m * (n - core));
  let size = 0;
  for (let i = 0; i < core; i++) {
    for (let j = i + 1; j < core; j++) {
      ends.push(i, j);
      pool[size++] = i;
      pool[size++] = j;
    }
  }
  // chosenBy[t] === v: t is already a target of v (saves clearing a set for each new node).
  const chosenBy = new Int32Array(n).fill(-1);
  const degree = new Int32Array(n).fill(0);
  for (let i = 0; i < core; i++) degree[i] = m;
  const targets = new Int32Array(m);
  for (let v = core; v < n; v++) {
    for (let k = 0; k < m; ) {
      const t = pool[Math.floor(random() * size)]!;
      // A full hub is passed over (MAX_GENERATED_DEGREE); new places always have room, so this ends.
      if (chosenBy[t] === v || degree[t]! >= MAX_GENERATED_DEGREE) continue;
      chosenBy[t] = v;
      targets[k++] = t;
    }
    for (const t of targets) {
      ends.push(t, v);
      degree[t]!++;
      degree[v]!++;
      pool[size++] = t;
      pool[size++] = v;
    }
  }
  return ends;
}

/**
 * Links every other component to the largest (ties: the one with the lowest node), each by its
 * shortest link to the main body as grown so far; returns how many were joined. Appends to ends.
 */
function connect(p: Places, ends: number[]): number {
  const n = p.x.length;
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  for (let k = 0; k < ends.length; k += 2) parent[find(ends[k]!)] = find(ends[k + 1]!);
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const root = find(i);
    const list = members.get(root);
    if (list) list.push(i);
    else members.set(root, [i]);
  }
  if (members.size === 1) return 0;
  // Map order is first-seen order, i.e. by lowest node; a stable sort keeps that among equals.
  const comps = [...members.values()].sort((a, b) => b.length - a.length);
  const main = [...comps[0]!];
  for (const comp of comps.slice(1)) {
    let best = Number.POSITIVE_INFINITY;
    let from = -1;
    let to = -1;
    for (const u of comp) {
      for (const v of main) {
        const c2 = chord2(p, u, v);
        if (c2 < best) {
          best = c2;
          from = u;
          to = v;
        }
      }
    }
    ends.push(from, to);
    for (const u of comp) main.push(u);
  }
  return comps.length - 1;
}
