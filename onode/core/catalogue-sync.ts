/**
 * Servers' catalogues between neighbours, in as many datagrams as they take. Route updates carry
 * only a catalogue's digest; a node whose installed copy has another digest asks the neighbour that
 * told the route for the parts, a window at a time (the next window once the last one is in, so
 * the sender never floods a link), asks again for what is missing, and gives up after a few rounds
 * without progress (the next route re-evaluation starts over). It installs the catalogue only when
 * every part is in and the digest of the whole is the one the server's routes announce: parts
 * nobody asked for, from another neighbour, or for another digest are counted and dropped.
 *
 * A node serves the parts it has: of its own catalogue, of an installed one, and of one it is
 * still assembling (parts it lacks are sent when they arrive), so a catalogue flows through a
 * chain of nodes at once instead of hop after hop. One assembly per server is in flight, and
 * all of them together hold at most MAX_ASSEMBLY_BYTES.
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import { catalogueParts } from '../../common/wire/control-split.ts';
import { MAX_CATALOGUE, MAX_PARTS_PER_REQUEST } from '../../common/wire/overlay-control.ts';
import type { CatalogueMessage, CatalogueRequestMessage, MovieInfo } from '../../common/wire/overlay.ts';
import { catalogueDigest } from './catalogue-digest.ts';
import { MAX_SERVERS, type RouteTable } from './route-table.ts';

/** Parts asked for in one round. */
export const CATALOGUE_WINDOW = MAX_PARTS_PER_REQUEST;
/** A round unanswered this long (plus two RTTs of the link) is asked again. */
export const CATALOGUE_RETRY_MS = 250;
/** Rounds in a row without a new part before an assembly is given up. */
export const CATALOGUE_MAX_STALLS = 4;
/** Approximate heap bytes all partial assemblies hold together (10,000 movies of 255-byte names: ~6 MB). */
export const MAX_ASSEMBLY_BYTES = 32 * 1024 * 1024;
/** Heap bytes per catalogue entry besides its name's characters. */
const ENTRY_BYTES = 64;

export interface CatalogueSyncDeps {
  readonly self: string;
  readonly clock: Clock;
  readonly routes: RouteTable;
  rttMs(neighbour: string): number | undefined;
  send(to: string, msg: CatalogueRequestMessage | CatalogueMessage): void;
  /** Non-null on servers: the movies this server carries. */
  ownCatalogue(): readonly MovieInfo[] | null;
}

export interface CatalogueCounters {
  /** Requests sent (first asks and re-asks). */
  catalogueRequests: number;
  cataloguePartsIn: number;
  cataloguePartsServed: number;
  cataloguesInstalled: number;
  /** Parts nobody asked for, from a neighbour not asked, or of another digest or part count: dropped. */
  catalogueUnsolicited: number;
  /** Assembled catalogues refused: digest not the announced one, repeated names, too many movies. */
  catalogueRejected: number;
  /** Assemblies given up: no progress, or the memory cap. */
  catalogueAbandoned: number;
}

export const NO_CATALOGUE_COUNTERS: Readonly<CatalogueCounters> = {
  catalogueRequests: 0,
  cataloguePartsIn: 0,
  cataloguePartsServed: 0,
  cataloguesInstalled: 0,
  catalogueUnsolicited: 0,
  catalogueRejected: 0,
  catalogueAbandoned: 0,
};

interface Assembly {
  readonly server: string;
  readonly cv: number;
  /** The neighbour asked; parts from anyone else are not taken. */
  readonly from: string;
  /** How many parts, from the first reply on. */
  parts: number | null;
  readonly received: (readonly MovieInfo[] | undefined)[];
  have: number;
  movies: number;
  bytes: number;
  /** Parts asked for in the current round and not yet in. */
  outstanding: Set<number>;
  progressed: boolean;
  stalls: number;
  timer: Timer | null;
  /** Parts neighbours asked us for before we had them: sent as they arrive. */
  readonly waiting: Map<string, Set<number>>;
}

interface Served {
  readonly cv: number;
  readonly parts: readonly CatalogueMessage[];
}

export class CatalogueSync {
  private readonly assemblies = new Map<string, Assembly>();
  private assemblyBytes = 0;
  /** When each server's catalogue was last asked for from scratch. */
  private readonly asked = new Map<string, number>();
  private readonly served = new Map<string, Served>();

  constructor(
    private readonly deps: CatalogueSyncDeps,
    readonly counters: CatalogueCounters,
    /** At most one fresh start per server this often (the probe interval). */
    private readonly restartMs: number,
  ) {}

  stop(): void {
    for (const a of [...this.assemblies.values()]) this.drop(a);
  }

  /** Bytes held by partial assemblies. */
  get pendingBytes(): number {
    return this.assemblyBytes;
  }

  /** Servers whose catalogue is being assembled. */
  pending(): string[] {
    return [...this.assemblies.keys()].sort();
  }

  /** A probe from `from` announced digest `cv` for `server`, and the installed copy differs: fetch it. */
  want(from: string, server: string, cv: number): void {
    const current = this.assemblies.get(server);
    if (current !== undefined && current.cv === cv) return;
    const now = this.deps.clock.now();
    if (now - (this.asked.get(server) ?? -Infinity) < this.restartMs) return;
    if (current !== undefined) this.drop(current); // the server's catalogue changed under it
    if (this.assemblyBytes >= MAX_ASSEMBLY_BYTES) return; // others finish first; the next probe asks again
    if (this.asked.size >= MAX_SERVERS) this.asked.clear();
    this.asked.set(server, now);
    const a: Assembly = {
      server,
      cv,
      from,
      parts: null,
      received: [],
      have: 0,
      movies: 0,
      bytes: 0,
      outstanding: new Set(),
      progressed: false,
      stalls: 0,
      timer: null,
      waiting: new Map(),
    };
    this.assemblies.set(server, a);
    this.ask(a);
  }

  onCatalogue(from: string, msg: CatalogueMessage): void {
    this.counters.cataloguePartsIn++;
    const a = this.assemblies.get(msg.server);
    if (a === undefined || a.cv !== msg.cv || a.from !== from || (a.parts !== null && a.parts !== msg.parts)) {
      this.counters.catalogueUnsolicited++;
      return;
    }
    if (a.parts === null) {
      a.parts = msg.parts;
      a.outstanding = new Set(range(0, Math.min(CATALOGUE_WINDOW, msg.parts)));
    }
    a.outstanding.delete(msg.part);
    if (a.received[msg.part] !== undefined) return; // a duplicate (asked again, both answers came)
    const bytes = msg.movies.reduce((n, m) => n + 2 * m.name.length + ENTRY_BYTES, 0);
    if (a.movies + msg.movies.length > MAX_CATALOGUE || this.assemblyBytes + bytes > MAX_ASSEMBLY_BYTES) {
      this.counters.catalogueAbandoned++;
      this.drop(a);
      return;
    }
    a.received[msg.part] = msg.movies;
    a.have++;
    a.movies += msg.movies.length;
    a.bytes += bytes;
    this.assemblyBytes += bytes;
    a.progressed = true;
    for (const [neighbour, parts] of a.waiting) {
      if (parts.delete(msg.part)) this.serve(neighbour, msg);
      if (parts.size === 0) a.waiting.delete(neighbour);
    }
    if (a.have === a.parts) this.complete(a);
    else if (a.outstanding.size === 0) this.ask(a); // the round is in: the next at once
  }

  /** A neighbour asks for parts of a catalogue: answer with what we have of it. */
  onRequest(from: string, msg: CatalogueRequestMessage): void {
    const source = this.sourceOf(msg.server, msg.cv);
    if (source === null) return;
    const count = source.kind === 'complete' ? source.parts.length : source.assembly.parts;
    const wanted = msg.parts ?? range(0, Math.min(CATALOGUE_WINDOW, count ?? CATALOGUE_WINDOW));
    const later = new Set<number>();
    for (const i of wanted) {
      if (count !== null && i >= count) continue;
      const part = source.kind === 'complete' ? source.parts[i] : this.partOf(source.assembly, i);
      if (part !== undefined) this.serve(from, part);
      else later.add(i);
    }
    // Only an assembly lacks parts; this request replaces the neighbour's earlier one.
    if (source.kind === 'assembly') {
      if (later.size > 0) source.assembly.waiting.set(from, later);
      else source.assembly.waiting.delete(from);
    }
  }

  /** A complete catalogue to serve (own or installed), an assembly in progress, or null. */
  private sourceOf(
    server: string,
    cv: number,
  ): { kind: 'complete'; parts: readonly CatalogueMessage[] } | { kind: 'assembly'; assembly: Assembly } | null {
    const own = server === this.deps.self ? this.deps.ownCatalogue() : null;
    const complete = own !== null ? { cv: catalogueDigest(own), movies: own } : this.deps.routes.catalogueOf(server);
    if (complete !== undefined && complete.cv === cv) {
      let served = this.served.get(server);
      if (served?.cv !== cv) {
        if (this.served.size >= MAX_SERVERS) this.served.clear();
        served = { cv, parts: catalogueParts(server, cv, complete.movies) };
        this.served.set(server, served);
      }
      return { kind: 'complete', parts: served.parts };
    }
    const a = this.assemblies.get(server);
    return a !== undefined && a.cv === cv ? { kind: 'assembly', assembly: a } : null;
  }

  private partOf(a: Assembly, i: number): CatalogueMessage | undefined {
    const movies = a.received[i];
    if (movies === undefined || a.parts === null) return undefined;
    return { type: 'catalogue', server: a.server, cv: a.cv, part: i, parts: a.parts, movies };
  }

  /**
   * Sends one part. The pace is the asker's: a request names at most MAX_PARTS_PER_REQUEST parts
   * and the next comes once they are in, so a link never holds more than one window in flight.
   */
  private serve(to: string, part: CatalogueMessage): void {
    this.counters.cataloguePartsServed++;
    this.deps.send(to, part);
  }

  /** Asks for the next window of missing parts (the first window while the count is unknown). */
  private ask(a: Assembly): void {
    let parts: number[] | undefined;
    if (a.parts !== null) {
      parts = [];
      for (let i = 0; i < a.parts && parts.length < CATALOGUE_WINDOW; i++) {
        if (a.received[i] === undefined) parts.push(i);
      }
      a.outstanding = new Set(parts);
    }
    this.counters.catalogueRequests++;
    const request: CatalogueRequestMessage = { type: 'catalogue-request', server: a.server, cv: a.cv };
    this.deps.send(a.from, parts === undefined ? request : { ...request, parts });
    a.timer?.cancel();
    const wait = CATALOGUE_RETRY_MS + 2 * (this.deps.rttMs(a.from) ?? 0);
    a.timer = this.deps.clock.setTimer(wait, () => this.retry(a));
  }

  private retry(a: Assembly): void {
    a.timer = null;
    if (this.assemblies.get(a.server) !== a) return;
    a.stalls = a.progressed ? 0 : a.stalls + 1;
    a.progressed = false;
    if (a.stalls > CATALOGUE_MAX_STALLS) {
      this.counters.catalogueAbandoned++;
      this.drop(a);
      return;
    }
    this.ask(a);
  }

  private complete(a: Assembly): void {
    this.drop(a);
    const movies = a.received.flatMap((m) => m ?? []);
    const unique = new Set(movies.map((m) => m.name)).size === movies.length;
    // The digest of what arrived must be the one asked for, and that still the one the server announces.
    if (!unique || catalogueDigest(movies) !== a.cv || !this.deps.routes.setCatalogue(a.server, a.cv, movies)) {
      this.counters.catalogueRejected++;
      return;
    }
    this.counters.cataloguesInstalled++;
  }

  private drop(a: Assembly): void {
    a.timer?.cancel();
    a.timer = null;
    if (this.assemblies.get(a.server) === a) this.assemblies.delete(a.server);
    this.assemblyBytes -= a.bytes;
    a.bytes = 0;
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
