/**
 * A network as a plain graph of places, before it becomes a topology file (topology-writer.ts):
 * read from GraphML (the Internet Topology Zoo) or generated (Waxman, Barabási–Albert). Link
 * delays come from the great-circle distance between the two ends.
 */

export interface GeoNode {
  /** Unique within the graph (GraphML's node id, or a generator's index). */
  readonly id: string;
  /** A human name (a city), if any. */
  readonly label: string;
  /** Degrees; null when the file has none for this node. */
  readonly lat: number | null;
  readonly lon: number | null;
}

export interface GeoEdge {
  readonly a: string;
  readonly b: string;
}

export interface GeoGraph {
  /** Where it came from (a file's name, or the generator and its parameters). */
  readonly name: string;
  readonly nodes: readonly GeoNode[];
  /** Undirected, no self-loops, no duplicates. */
  readonly edges: readonly GeoEdge[];
  /** What was changed or dropped while reading it (duplicate edges, missing coordinates...). */
  readonly notes: readonly string[];
}

/** Propagation in fibre: about 2/3 of the speed of light, so about 5 µs per km. */
export const US_PER_KM = 5;
const EARTH_RADIUS_KM = 6371;

/** Great-circle distance between two points in degrees (haversine), km. */
export function greatCircleKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A seeded generator of numbers in [0, 1) (xorshift32): the same seed gives the same topology. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}
