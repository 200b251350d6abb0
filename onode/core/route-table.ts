/**
 * What neighbours' route updates taught this node (route-adverts.ts): per server, per neighbour,
 * the latency and hop count of the path through that neighbour, the catalogue digest the server
 * announces, and the catalogue installed for it (fetched in parts, installed only when its digest
 * is the announced one). Entries go when withdrawn or when their neighbour goes down (expire()
 * with a finite TTL still ages them out, for callers that refresh). A server with no route left is unreachable: its
 * catalogue is kept for a while so a request for its movies fails as 'no-route' rather than
 * 'unknown-movie', but it is no longer offered.
 */
import { streamNamesOf } from '../../common/wire/movie-tracks.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { sortCatalogue } from '../../common/wire/control-split.ts';
import { chooseBest } from './route-choice.ts';

/** How long an unreachable server's catalogue is remembered; 5 minutes. */
export const UNREACHABLE_MEMORY_MS = 300_000;
/** Servers this node keeps routes for; routes naming more are ignored (see RouteTable.ignoredServers). */
export const MAX_SERVERS = 1024;
/** Movies in all installed catalogues together (ten full servers; ~60 MB with 255-byte names). */
export const MAX_KNOWN_MOVIES = 100_000;

export interface RouteEntry {
  readonly server: string;
  readonly via: string;
  readonly latencyMs: number;
  readonly hops: number;
  readonly seq: number;
  readonly updatedAt: number;
  /** The neighbour first, the server last (routes from updates). */
  readonly path?: readonly string[];
  /** The catalogue digest this route announced. */
  readonly cv?: number;
}

interface ServerInfo {
  readonly vias: Map<string, RouteEntry>;
  /** The installed catalogue, in name order (empty until one is installed), and its streams' names. */
  catalogue: readonly MovieInfo[];
  names: ReadonlySet<string>;
  /** Digest of the installed catalogue; null when none is. */
  cv: number | null;
  /** The digest the server's newest probe announced (null: no probe yet), and that probe's seq. */
  announced: number | null;
  announcedSeq: number;
  /** When the last route went away; null while reachable. */
  lostAt: number | null;
  /** A digest whose catalogue was refused for the MAX_KNOWN_MOVIES bound: not fetched again. */
  refused: number | null;
}

export class RouteTable {
  private readonly servers = new Map<string, ServerInfo>();
  /** Probes from servers beyond MAX_SERVERS, ignored. */
  ignoredServers = 0;
  /** Catalogues not installed because all of them together would pass MAX_KNOWN_MOVIES. */
  refusedCatalogues = 0;
  private knownMovies = 0;
  /** Bumped whenever the union of reachable catalogues may have changed. */
  private generation = 0;
  private union: { generation: number; movies: MovieInfo[] } | null = null;

  /**
   * Records a probe copy and the catalogue digest it announces; returns false when it is older
   * than what we hold for that neighbour (or the table is full).
   */
  update(entry: RouteEntry, cv: number): boolean {
    const info = this.info(entry.server);
    if (info === undefined) return false;
    const old = info.vias.get(entry.via);
    if (old !== undefined && (entry.seq < old.seq || (entry.seq === old.seq && entry.latencyMs >= old.latencyMs))) {
      this.announce(info, entry, cv);
      return false;
    }
    this.announce(info, entry, cv);
    info.vias.set(entry.via, entry);
    return true;
  }

  /**
   * Replaces whatever the route through `entry.via` was (a neighbour's update is its current
   * state, better or worse); false when the table is full.
   */
  set(entry: RouteEntry, cv: number): boolean {
    const info = this.info(entry.server);
    if (info === undefined) return false;
    this.announce(info, entry, cv);
    info.vias.set(entry.via, entry);
    return true;
  }

  /** Drops the route to `server` through `via`; `now` dates the server unreachable when it was the last. */
  withdraw(server: string, via: string, now: number): void {
    const info = this.servers.get(server);
    if (info === undefined || !info.vias.delete(via) || info.vias.size > 0) return;
    this.generation++;
    info.lostAt = now;
  }

  private info(server: string): ServerInfo | undefined {
    let info = this.servers.get(server);
    if (info === undefined) {
      if (this.servers.size >= MAX_SERVERS) {
        this.ignoredServers++;
        return undefined;
      }
      info = {
        vias: new Map(),
        catalogue: [],
        names: new Set(),
        cv: null,
        announced: null,
        announcedSeq: -1,
        lostAt: null,
        refused: null,
      };
      this.servers.set(server, info);
    }
    return info;
  }

  /** Notes the digest a route announces: the newest announcement wins. */
  private announce(info: ServerInfo, entry: RouteEntry, cv: number): void {
    if (info.vias.size === 0) {
      // Back after being unreachable: it may have restarted with its sequence numbers from 1.
      info.announcedSeq = -1;
      info.lostAt = null;
      this.generation++;
    }
    if (entry.seq >= info.announcedSeq) {
      info.announced = cv;
      info.announcedSeq = entry.seq;
    }
  }

  /** The digest of the catalogue installed for a server (null: none). */
  catalogueVersion(server: string): number | null {
    return this.servers.get(server)?.cv ?? null;
  }

  /** Whether a server is in the table (servers past MAX_SERVERS never are). */
  has(server: string): boolean {
    return this.servers.has(server);
  }

  /**
   * Whether the catalogue with digest `cv` is worth fetching: it is the newest announced, not the
   * one installed, and not one already refused for the table's size (refetching would refuse it again).
   */
  needsCatalogue(server: string, cv: number): boolean {
    const info = this.servers.get(server);
    return info !== undefined && info.announced === cv && info.cv !== cv && info.refused !== cv;
  }

  /** The digest the server's routes announce (null: none heard). */
  announcedVersion(server: string): number | null {
    return this.servers.get(server)?.announced ?? null;
  }

  /** The catalogue installed for a server, with its digest, if any. */
  catalogueOf(server: string): { cv: number; movies: readonly MovieInfo[] } | undefined {
    const info = this.servers.get(server);
    return info === undefined || info.cv === null ? undefined : { cv: info.cv, movies: info.catalogue };
  }

  /**
   * Installs a catalogue whose digest the caller checked is `cv`; refused (false) unless `cv` is
   * what the server's routes announce, so a stale or unasked-for catalogue never replaces one.
   */
  setCatalogue(server: string, cv: number, movies: readonly MovieInfo[]): boolean {
    const info = this.servers.get(server);
    if (info === undefined || info.announced !== cv) return false;
    const known = this.knownMovies - info.catalogue.length + movies.length;
    if (known > MAX_KNOWN_MOVIES) {
      this.refusedCatalogues++;
      info.refused = cv;
      return false;
    }
    if (known < this.knownMovies) for (const other of this.servers.values()) other.refused = null;
    this.knownMovies = known;
    info.catalogue = sortCatalogue(movies);
    // The streams' names: an H.264 movie's audio is joined as a stream of its own (movie-tracks.ts).
    info.names = new Set(movies.flatMap(streamNamesOf));
    info.cv = cv;
    this.generation++;
    return true;
  }

  /** Forgets every route through a dead neighbour; `now` dates servers left unreachable (else the next expire does). */
  removeVia(neighbour: string, now?: number): void {
    for (const info of this.servers.values()) {
      if (!info.vias.delete(neighbour) || info.vias.size > 0) continue;
      this.generation++;
      if (now !== undefined) info.lostAt = now;
    }
  }

  /** Drops entries not refreshed within ttlMs; forgets servers unreachable for UNREACHABLE_MEMORY_MS. */
  expire(now: number, ttlMs: number): void {
    for (const [server, info] of this.servers) {
      const before = info.vias.size;
      for (const [via, e] of info.vias) if (now - e.updatedAt > ttlMs) info.vias.delete(via);
      if (info.vias.size > 0) continue;
      if (before > 0) this.generation++;
      info.lostAt ??= now;
      if (now - info.lostAt <= UNREACHABLE_MEMORY_MS) continue;
      this.knownMovies -= info.catalogue.length;
      this.servers.delete(server);
      // Room was freed: a catalogue refused for the bound may fit now.
      if (info.catalogue.length > 0) for (const other of this.servers.values()) other.refused = null;
    }
  }

  best(server: string, usable: (via: string) => boolean = () => true): RouteEntry | undefined {
    const info = this.servers.get(server);
    if (info === undefined) return undefined;
    return chooseBest([...info.vias.values()].filter((e) => usable(e.via)));
  }

  /** The route to `server` through `via`, if any. */
  entry(server: string, via: string): RouteEntry | undefined {
    return this.servers.get(server)?.vias.get(via);
  }

  /** The routes to `server`, lowest latency first (then fewest hops, then neighbour name). */
  fastestFirst(server: string): RouteEntry[] {
    const info = this.servers.get(server);
    if (info === undefined) return [];
    return [...info.vias.values()].sort(
      (a, b) => a.latencyMs - b.latencyMs || a.hops - b.hops || (a.via < b.via ? -1 : a.via > b.via ? 1 : 0),
    );
  }

  /** Every server in the table, reachable or not. */
  allServers(): IterableIterator<string> {
    return this.servers.keys();
  }

  /** Best route to any server whose catalogue has the movie. */
  bestForMovie(movie: string, usable: (via: string) => boolean = () => true): RouteEntry | undefined {
    const candidates: RouteEntry[] = [];
    for (const info of this.servers.values()) {
      if (!info.names.has(movie)) continue;
      for (const e of info.vias.values()) if (usable(e.via)) candidates.push(e);
    }
    return chooseBest(candidates);
  }

  /** All routes known for a server, best first by the route metric. */
  entries(server: string): RouteEntry[] {
    const info = this.servers.get(server);
    if (info === undefined) return [];
    const rest = [...info.vias.values()];
    const ordered: RouteEntry[] = [];
    while (rest.length > 0) {
      const b = chooseBest(rest)!;
      ordered.push(b);
      rest.splice(rest.indexOf(b), 1);
    }
    return ordered;
  }

  /** Servers with at least one route, sorted. */
  knownServers(): string[] {
    return [...this.servers]
      .filter(([, info]) => info.vias.size > 0)
      .map(([name]) => name)
      .sort();
  }

  /** True when a reachable server has the movie. */
  hasMovie(movie: string): boolean {
    for (const info of this.servers.values()) if (info.vias.size > 0 && info.names.has(movie)) return true;
    return false;
  }

  /** True when any server heard from, reachable or not, has the movie. */
  knowsMovie(movie: string): boolean {
    for (const info of this.servers.values()) if (info.names.has(movie)) return true;
    return false;
  }

  /** Union of the catalogues of every reachable server, sorted by name (computed again only after a change). */
  catalogue(): readonly MovieInfo[] {
    if (this.union !== null && this.union.generation === this.generation) return this.union.movies;
    const byName = new Map<string, MovieInfo>();
    for (const info of this.servers.values()) {
      if (info.vias.size === 0) continue;
      for (const m of info.catalogue) if (!byName.has(m.name)) byName.set(m.name, m);
    }
    this.union = { generation: this.generation, movies: sortCatalogue([...byName.values()]) };
    return this.union.movies;
  }

  /** Changes whenever catalogue() may have. */
  get catalogueGeneration(): number {
    return this.generation;
  }
}
