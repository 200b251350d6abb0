/**
 * What STATUS probes taught this node: per server, per neighbour, the latency and hop count of
 * the path through that neighbour, plus each server's catalogue. Entries age out when probes stop.
 * A server with no route left is unreachable: its catalogue is kept for a while so a request for
 * its movies fails as 'no-route' rather than 'unknown-movie', but it is no longer offered.
 */
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { chooseBest } from './route-choice.ts';

/** How long an unreachable server's catalogue is remembered; 5 minutes. */
export const UNREACHABLE_MEMORY_MS = 300_000;

export interface RouteEntry {
  readonly server: string;
  readonly via: string;
  readonly latencyMs: number;
  readonly hops: number;
  readonly seq: number;
  readonly updatedAt: number;
}

interface ServerInfo {
  readonly vias: Map<string, RouteEntry>;
  catalogue: readonly MovieInfo[];
  catalogueSeq: number;
  /** Digest of `catalogue` as the server announced it; null when unknown. */
  cv: number | null;
  /** When the last route went away; null while reachable. */
  lostAt: number | null;
}

export class RouteTable {
  private readonly servers = new Map<string, ServerInfo>();

  /** Records a probe copy; returns false when it is older than what we hold for that neighbour. */
  /** `catalogue` undefined: the probe did not carry it; the last one known stands. */
  update(entry: RouteEntry, catalogue: readonly MovieInfo[] | undefined, cv: number | null = null): boolean {
    let info = this.servers.get(entry.server);
    if (info === undefined) {
      info = { vias: new Map(), catalogue: catalogue ?? [], catalogueSeq: catalogue === undefined ? -1 : entry.seq, cv: catalogue === undefined ? null : cv, lostAt: null };
      this.servers.set(entry.server, info);
    } else if (info.vias.size === 0) {
      // Back after being unreachable: it may have restarted with its sequence numbers from 1.
      if (catalogue !== undefined) {
        info.catalogue = catalogue;
        info.catalogueSeq = entry.seq;
        info.cv = cv;
      }
      info.lostAt = null;
    }
    const old = info.vias.get(entry.via);
    if (old !== undefined && (entry.seq < old.seq || (entry.seq === old.seq && entry.latencyMs >= old.latencyMs))) {
      return false;
    }
    info.vias.set(entry.via, entry);
    if (catalogue !== undefined && entry.seq >= info.catalogueSeq) {
      info.catalogue = catalogue;
      info.catalogueSeq = entry.seq;
      info.cv = cv;
    }
    return true;
  }

  /** The digest of the catalogue known for a server (null: none, or not announced with one). */
  catalogueVersion(server: string): number | null {
    return this.servers.get(server)?.cv ?? null;
  }

  /** The catalogue known for a server, with its digest, if any. */
  catalogueOf(server: string): { cv: number; movies: readonly MovieInfo[] } | undefined {
    const info = this.servers.get(server);
    return info === undefined || info.cv === null ? undefined : { cv: info.cv, movies: info.catalogue };
  }

  /** A catalogue fetched on request; ignored for a server with no route entry yet. */
  setCatalogue(server: string, cv: number, movies: readonly MovieInfo[]): void {
    const info = this.servers.get(server);
    if (info === undefined) return;
    info.catalogue = movies;
    info.cv = cv;
  }

  /** Forgets every route through a neighbour (it died); `now` dates servers left unreachable (else the next expire does). */
  removeVia(neighbour: string, now?: number): void {
    for (const info of this.servers.values()) {
      if (info.vias.delete(neighbour) && info.vias.size === 0 && now !== undefined) info.lostAt = now;
    }
  }

  /** Drops entries not refreshed within ttlMs; forgets servers unreachable for UNREACHABLE_MEMORY_MS. */
  expire(now: number, ttlMs: number): void {
    for (const [server, info] of this.servers) {
      for (const [via, e] of info.vias) if (now - e.updatedAt > ttlMs) info.vias.delete(via);
      if (info.vias.size > 0) continue;
      info.lostAt ??= now;
      if (now - info.lostAt > UNREACHABLE_MEMORY_MS) this.servers.delete(server);
    }
  }

  best(server: string, usable: (via: string) => boolean = () => true): RouteEntry | undefined {
    const info = this.servers.get(server);
    if (info === undefined) return undefined;
    return chooseBest([...info.vias.values()].filter((e) => usable(e.via)));
  }

  /** Best route to any server whose catalogue has the movie. */
  bestForMovie(movie: string, usable: (via: string) => boolean = () => true): RouteEntry | undefined {
    const candidates: RouteEntry[] = [];
    for (const info of this.servers.values()) {
      if (!info.catalogue.some((m) => m.name === movie)) continue;
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
    return [...this.servers].filter(([, info]) => info.vias.size > 0).map(([name]) => name).sort();
  }

  /** True when a reachable server has the movie. */
  hasMovie(movie: string): boolean {
    for (const info of this.servers.values()) if (info.vias.size > 0 && info.catalogue.some((m) => m.name === movie)) return true;
    return false;
  }

  /** True when any server heard from, reachable or not, has the movie. */
  knowsMovie(movie: string): boolean {
    for (const info of this.servers.values()) if (info.catalogue.some((m) => m.name === movie)) return true;
    return false;
  }

  /** Union of the catalogues of every reachable server, sorted by name. */
  catalogue(): MovieInfo[] {
    const byName = new Map<string, MovieInfo>();
    for (const info of this.servers.values()) {
      if (info.vias.size === 0) continue;
      for (const m of info.catalogue) if (!byName.has(m.name)) byName.set(m.name, m);
    }
    return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
