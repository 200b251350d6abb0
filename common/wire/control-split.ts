/**
 * Cuts control messages whose lists can outgrow one datagram into several, each body within
 * MAX_CONTROL_BODY_BYTES: a server's catalogue (parts the receiver assembles and checks against
 * the digest its routes announce), the movies a node carries, a repair's sequence numbers, and a
 * node's route updates.
 * Sizes are measured on the JSON the encoder writes, never estimated.
 */
import type {
  CarryingMessage,
  CatalogueMessage,
  MovieInfo,
  RepairMessage,
  RouteAdvert,
  RoutesMessage,
  ServerGone,
} from './overlay.ts';
import {
  controlBodyBytes,
  MAX_CARRYING,
  MAX_CARRYING_PER_PART,
  MAX_CATALOGUE,
  MAX_CATALOGUE_PARTS,
  MAX_CONTROL_BODY_BYTES,
  MAX_MOVIES_PER_PART,
  MAX_REPAIR_SEQS,
  MAX_ROUTES_PER_MESSAGE,
  movieTupleOf,
} from './overlay-control.ts';

/** A catalogue in name order (UTF-16 code units, the same on every machine): parts and digests depend on it. */
export function sortCatalogue(movies: readonly MovieInfo[]): MovieInfo[] {
  return [...movies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * A catalogue as the parts that carry it, in name order; the same catalogue always gives the same
 * parts, so a node can take some parts from one neighbour and the rest from another. An empty
 * catalogue is one part with no movies.
 * @throws RangeError for more than MAX_CATALOGUE movies (a server never offers more).
 */
export function catalogueParts(server: string, cv: number, movies: readonly MovieInfo[]): CatalogueMessage[] {
  if (movies.length > MAX_CATALOGUE) {
    throw new RangeError(`a catalogue holds at most ${MAX_CATALOGUE} movies, got ${movies.length}`);
  }
  // Measured with the widest part numbers, so the real ones cannot push a part over.
  const overhead = controlBodyBytes({
    type: 'catalogue',
    server,
    cv,
    part: MAX_CATALOGUE_PARTS - 1,
    parts: MAX_CATALOGUE_PARTS,
    movies: [],
  });
  const groups = pack(sortCatalogue(movies), overhead, MAX_MOVIES_PER_PART, (m) => jsonBytes(movieTupleOf(m)));
  return groups.map((g, i) => ({ type: 'catalogue', server, cv, part: i, parts: groups.length, movies: g }));
}

/**
 * The announcement that a node carries `movies` (from servers `roots`, in the same order): one
 * message when it fits, else parts of one numbered announcement that the receiver assembles.
 * Beyond MAX_CARRYING movies the rest are left out: the announcement is a hint that lets
 * neighbours join at the nearest copy, and they still find every movie through the routes.
 */
export function carryingParts(version: number, movies: readonly string[], roots: readonly string[]): CarryingMessage[] {
  const n = Math.min(movies.length, roots.length, MAX_CARRYING);
  const entries = Array.from({ length: n }, (_, i) => [movies[i]!, roots[i]!] as const);
  const whole: CarryingMessage = {
    type: 'carrying',
    movies: entries.map((e) => e[0]),
    roots: entries.map((e) => e[1]),
  };
  if (entries.length <= MAX_CARRYING_PER_PART && controlBodyBytes(whole) <= MAX_CONTROL_BODY_BYTES) return [whole];
  const overhead = controlBodyBytes({
    type: 'carrying',
    movies: [],
    roots: [],
    version,
    part: MAX_CARRYING - 1,
    parts: MAX_CARRYING,
  });
  // Each entry costs its movie in one list and its root in the other: two separators.
  const cost = ([movie, root]: readonly [string, string]): number => jsonBytes(movie) + jsonBytes(root) + 1;
  const groups = pack(entries, overhead, MAX_CARRYING_PER_PART, cost);
  return groups.map((g, i) => ({
    type: 'carrying',
    movies: g.map((e) => e[0]),
    roots: g.map((e) => e[1]),
    version,
    part: i,
    parts: groups.length,
  }));
}

/** A request for the packets `seqs` of a stream, as as many repair messages as it takes. */
export function repairRequests(movie: string, ssrc: number, seqs: readonly number[]): RepairMessage[] {
  if (seqs.length === 0) return [];
  const overhead = controlBodyBytes({ type: 'repair', movie, ssrc, seqs: [] });
  const groups = pack(seqs, overhead, MAX_REPAIR_SEQS, (q) => String(q).length);
  return groups.map((g) => ({ type: 'repair', movie, ssrc, seqs: g }));
}

/**
 * A route update as the messages that carry it, withdrawals first; `reset` goes on the first
 * only (the dump's start). Nothing to say and no reset: no message.
 */
export function routeParts(
  reset: boolean,
  routes: readonly RouteAdvert[],
  withdrawn: readonly string[],
  gone: readonly ServerGone[] = [],
): RoutesMessage[] {
  if (!reset && routes.length === 0 && withdrawn.length === 0 && gone.length === 0) return [];
  // With room for an empty "gone" list too (the encoder leaves it out when empty).
  const overhead = ROUTES_OVERHEAD + GONE_KEY_BYTES;
  // Most updates are a few routes: when all of them fit (the sum packing would find), they go as they are.
  const count = routes.length + withdrawn.length + gone.length;
  if (count <= MAX_ROUTES_PER_MESSAGE) {
    let bytes = overhead + Math.max(0, count - 1); // the separators
    for (const g of gone) bytes += jsonBytes([g.server, g.seq]);
    for (const w of withdrawn) bytes += stringBytes(w);
    for (const r of routes) bytes += routeBytes(r);
    if (bytes <= MAX_CONTROL_BODY_BYTES) {
      return [
        { type: 'routes', ...(reset ? { reset: true } : {}), ...(gone.length > 0 ? { gone } : {}), routes, withdrawn },
      ];
    }
  }
  type Item = { readonly w: string } | { readonly r: RouteAdvert } | { readonly g: ServerGone };
  const items: Item[] = [...gone.map((g) => ({ g })), ...withdrawn.map((w) => ({ w })), ...routes.map((r) => ({ r }))];
  const cost = (i: Item): number =>
    'w' in i ? stringBytes(i.w) : 'g' in i ? jsonBytes([i.g.server, i.g.seq]) : routeBytes(i.r);
  const groups = pack(items, overhead, MAX_ROUTES_PER_MESSAGE, cost);
  return groups.map((g, i) => {
    const goneHere = g.flatMap((x) => ('g' in x ? [x.g] : []));
    return {
      type: 'routes',
      ...(reset && i === 0 ? { reset: true } : {}),
      ...(goneHere.length > 0 ? { gone: goneHere } : {}),
      routes: g.flatMap((x) => ('r' in x ? [x.r] : [])),
      withdrawn: g.flatMap((x) => ('w' in x ? [x.w] : [])),
    };
  });
}

/** `"gone":[],` */
const GONE_KEY_BYTES = 10;
/** A routes body with a reset and nothing in its lists. */
const ROUTES_OVERHEAD = controlBodyBytes({ type: 'routes', reset: true, routes: [], withdrawn: [] });

/**
 * Greedy packing in order: a group closes when the next item would take its body past the budget
 * or its count past `maxItems`. `size(item)` is the item's JSON bytes, one separator added here.
 * An item too big even alone still gets a group of its own (the encoder then says why).
 */
function pack<T>(items: readonly T[], overhead: number, maxItems: number, size: (item: T) => number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let bytes = overhead;
  for (const item of items) {
    const cost = size(item) + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && (bytes + cost > MAX_CONTROL_BODY_BYTES || current.length >= maxItems)) {
      groups.push(current);
      current = [];
      bytes = overhead;
    }
    bytes += size(item) + (current.length > 0 ? 1 : 0);
    current.push(item);
  }
  groups.push(current);
  return groups;
}

/** JSON bytes of [server, seq, latencyMs, hops, cv, path], added up rather than written out. */
function routeBytes(r: RouteAdvert): number {
  let n = 2 + 5 + 2 + Math.max(0, r.path.length - 1); // brackets, separators, the path's brackets and commas
  n += stringBytes(r.server) + numberBytes(r.seq) + numberBytes(r.latencyMs) + numberBytes(r.hops);
  n += numberBytes(r.cv);
  for (const name of r.path) n += stringBytes(name);
  return n;
}

/** Printable ASCII with nothing to escape: written as it is, between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function stringBytes(s: string): number {
  return PLAIN.test(s) ? s.length + 2 : jsonBytes(s);
}

function numberBytes(x: number): number {
  return Number.isFinite(x) ? String(x).length : jsonBytes(x);
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
