/**
 * Routes by aggregated per-neighbour updates (a path vector), in place of flooding each server's
 * STATUS probes: a node tells each neighbour, in one message, its best route to every server
 * whose path avoids that neighbour (latency summed from measured link RTTs, hops, the path, the
 * server's catalogue digest). The report's rule picks among them: latency first, hops within 10 %.
 *
 * - Only changes go out (withdrawals too), coalesced, at most once per MIN_UPDATE_GAP_MS per node;
 *   a latency that moved less than the slack is no news. Every intervalMs latencies are taken
 *   again from the links' RTTs, so real changes still travel.
 * - Each hello carries a digest of what the sender has told the receiver (advert-ledger.ts). A
 *   receiver whose record disagrees with two hellos in a row asks for a full dump: a lost update
 *   heals within two hellos.
 * - A route whose path holds this node is refused, so no route loops.
 * - A server known dead (its neighbour's bootstrapper saw the process go) is announced as gone,
 *   hop by hop to everyone: every route to it up to its last announcement is void at once, instead
 *   of being withdrawn path after path while the other paths to it are tried (path exploration).
 *
 * An idle link thus carries hellos only, whatever the number of servers and the overlay's size.
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import { Interval } from '../../common/core/interval.ts';
import { routeParts } from '../../common/wire/control-split.ts';
import { MAX_PATH_LENGTH } from '../../common/wire/overlay-control.ts';
import type {
  CatalogueMessage,
  CatalogueRequestMessage,
  MovieInfo,
  RouteAdvert,
  RoutesMessage,
  RoutesRequestMessage,
  ServerGone,
} from '../../common/wire/overlay.ts';
import { AdvertLedger } from './advert-ledger.ts';
import { catalogueDigest } from './catalogue-digest.ts';
import { type CatalogueCounters, CatalogueSync, NO_CATALOGUE_COUNTERS } from './catalogue-sync.ts';
import { MAX_SERVERS, type RouteEntry, type RouteTable } from './route-table.ts';

/** Updates to the neighbours go out at most this often (changes in between are coalesced). */
export const MIN_UPDATE_GAP_MS = 50;
/** A latency within max(LATENCY_SLACK_MS, LATENCY_SLACK_SHARE of it) of what was told is not told again. */
export const LATENCY_SLACK_MS = 1;
export const LATENCY_SLACK_SHARE = 0.05;
/** Hellos in a row whose digest disagrees with what was heard before a dump is asked for. */
export const MISMATCHES_BEFORE_REQUEST = 2;
/** At most one dump asked of, and one sent to, a neighbour this often. */
export const DUMP_GAP_MS = 1000;
/** How long a server's death voids its old routes (stale ones are long withdrawn by then). */
export const GONE_MEMORY_MS = 30_000;

export interface RoutingOptions {
  /** How often latencies are taken again from the links' RTTs (and servers check their catalogue); default 2000 ms. */
  readonly intervalMs: number;
  /** A server's first announcement number (later ones grow from it); default 1. Seconds since 1970 outlive restarts. */
  readonly firstSeq?: number;
}

export const DEFAULT_ROUTING: RoutingOptions = { intervalMs: 2000 };

export interface RoutingDeps {
  readonly self: string;
  readonly clock: Clock;
  readonly routes: RouteTable;
  /** Alive neighbours. */
  neighbours(): readonly string[];
  isAlive(neighbour: string): boolean;
  rttMs(neighbour: string): number | undefined;
  send(to: string, msg: RoutesMessage | RoutesRequestMessage | CatalogueRequestMessage | CatalogueMessage): void;
  /** Non-null on servers: the movies this server carries. */
  ownCatalogue(): readonly MovieInfo[] | null;
}

export interface RoutingCounters extends CatalogueCounters {
  updatesSent: number;
  updatesReceived: number;
  routesSent: number;
  routesReceived: number;
  withdrawalsSent: number;
  withdrawalsReceived: number;
  dumpsSent: number;
  dumpRequestsSent: number;
  /** Dump requests past DUMP_GAP_MS: not answered. */
  dumpRequestsDropped: number;
  /** Routes whose path holds this node: refused. */
  droppedLoop: number;
  /** Routes from a neighbour whose RTT is not measured yet: kept, installed once it is. */
  droppedNoRtt: number;
  /** Routes for servers past MAX_SERVERS: ignored. */
  droppedFull: number;
  /** Routes whose path does not run from the sender to the server: ignored. */
  droppedBadPath: number;
  /** Routes to a server known gone, from before its death: ignored. */
  droppedGone: number;
  /** Servers learnt dead (each death once). */
  serversGone: number;
}

interface Peer {
  readonly heard: AdvertLedger;
  readonly told: AdvertLedger;
  mismatches: number;
  lastRequestAt: number;
  lastDumpAt: number;
  /** Whether the heard routes are in the route table (that needs the link's RTT). */
  installed: boolean;
  /**
   * The link's RTT when every heard route was last put in the table as it is (undefined: one was
   * refused for a reason that may pass, or none put yet). While the RTT stays this, the periodic
   * refresh has nothing to redo for this neighbour: on a large overlay that pass was most of the
   * idle CPU.
   */
  settledRtt: number | undefined;
}

export class RouteAdverts {
  readonly counters: RoutingCounters = {
    updatesSent: 0,
    updatesReceived: 0,
    routesSent: 0,
    routesReceived: 0,
    withdrawalsSent: 0,
    withdrawalsReceived: 0,
    dumpsSent: 0,
    dumpRequestsSent: 0,
    dumpRequestsDropped: 0,
    droppedLoop: 0,
    droppedNoRtt: 0,
    droppedFull: 0,
    droppedBadPath: 0,
    droppedGone: 0,
    serversGone: 0,
    ...NO_CATALOGUE_COUNTERS,
  };
  /** Fetches and serves catalogues in parts. */
  readonly catalogues: CatalogueSync;
  private readonly peers = new Map<string, Peer>();
  /** Servers whose route to tell may have changed since the last flush. */
  private readonly dirty = new Set<string>();
  private flushTimer: Timer | null = null;
  private lastFlushAt = -Infinity;
  private readonly ticker: Interval;
  private ownSeq: number;
  /** Dead servers: routes to them up to `seq` are void until `until`. */
  private readonly gone = new Map<string, { seq: number; until: number }>();
  /** Deaths to tell every neighbour (but `from`) at the next flush. */
  private goneNews: { gone: ServerGone; from: string | null }[] = [];
  private ownCv: number | null = null;
  /** The advert told for each route in the table (a route replaced is a new entry, so this never goes stale). */
  private readonly exported = new WeakMap<RouteEntry, RouteAdvert>();
  /** This server's own route, as told (the same object to every neighbour while it holds). */
  private ownAdvert: RouteAdvert | null = null;

  constructor(
    private readonly deps: RoutingDeps,
    options: RoutingOptions = DEFAULT_ROUTING,
  ) {
    this.catalogues = new CatalogueSync(deps, this.counters, options.intervalMs);
    this.ticker = new Interval(deps.clock, options.intervalMs, () => this.refresh());
    this.ownSeq = options.firstSeq ?? 1;
  }

  start(): void {
    this.ticker.start(true);
  }

  stop(): void {
    this.ticker.stop();
    this.flushTimer?.cancel();
    this.flushTimer = null;
    this.catalogues.stop();
  }

  /** The digest a hello to `neighbour` carries: of what this node has told it. */
  digestFor(neighbour: string): number {
    return this.peers.get(neighbour)?.told.digest ?? 0;
  }

  /** A neighbour came up: it learns every route at once (a dump), as we learn its. */
  neighbourUp(neighbour: string): void {
    const peer = this.peerOf(neighbour);
    if (!peer.installed) this.installAll(neighbour, peer);
    this.dump(neighbour, peer);
  }

  /** A neighbour went down (its routes are gone from the table already): tell the others what changed. */
  neighbourDown(neighbour: string): void {
    this.peers.delete(neighbour);
    this.markAll();
  }

  onRoutes(from: string, msg: RoutesMessage): void {
    const peer = this.peerOf(from);
    const now = this.deps.clock.now();
    this.counters.updatesReceived++;
    for (const g of msg.gone ?? []) this.learnGone(g, from, now);
    if (msg.reset) {
      for (const server of peer.heard.servers()) this.forget(server, from, now);
      peer.heard.clear();
    }
    for (const server of msg.withdrawn) {
      this.counters.withdrawalsReceived++;
      if (peer.heard.delete(server)) this.forget(server, from, now);
    }
    for (const advert of msg.routes) {
      this.counters.routesReceived++;
      if (advert.path[0] !== from || advert.path.at(-1) !== advert.server) {
        this.counters.droppedBadPath++;
        continue;
      }
      if (!peer.heard.has(advert.server) && peer.heard.size >= MAX_SERVERS) {
        this.counters.droppedFull++;
        continue;
      }
      peer.heard.set(advert);
      this.install(from, advert, now);
    }
  }

  /**
   * `neighbour` is gone (the bootstrapper saw its process end): when it was a server, every route
   * to it is void, here and, told hop by hop, everywhere.
   */
  serverGone(neighbour: string): void {
    const own = this.deps.routes.entry(neighbour, neighbour);
    if (own === undefined || own.path?.length !== 1) return;
    this.learnGone({ server: neighbour, seq: own.seq }, null, this.deps.clock.now());
  }

  private learnGone(told: ServerGone, from: string | null, now: number): void {
    if (told.server === this.deps.self) return;
    // Never past the newest announcement held here: a neighbour naming a far-future number cannot
    // void the server's routes after it restarts (its first announcement is newer than any it held).
    const entries = this.deps.routes.entries(told.server);
    const newest = entries.reduce((m, e) => Math.max(m, e.seq), -1);
    if (newest < 0) return; // no route here to void, and none to tell about
    const g = { server: told.server, seq: Math.min(told.seq, newest) };
    const known = this.gone.get(g.server);
    if (known !== undefined && known.seq >= g.seq && now < known.until) return;
    if (known === undefined && this.gone.size >= MAX_SERVERS) {
      this.forgetGone(now);
      if (this.gone.size >= MAX_SERVERS) return;
    }
    this.gone.set(g.server, { seq: g.seq, until: now + GONE_MEMORY_MS });
    this.counters.serversGone++;
    for (const e of entries) {
      if (e.seq > g.seq) continue;
      this.forget(g.server, e.via, now);
      this.unsettle(e.via); // its heard route is out of the table until the death is forgotten
    }
    this.goneNews.push({ gone: g, from });
    this.scheduleFlush();
  }

  private forgetGone(now: number): void {
    for (const [server, g] of this.gone) if (now >= g.until) this.gone.delete(server);
  }

  /** Whether a route with this announcement number is from before the server's known death. */
  private isStale(server: string, seq: number, now: number): boolean {
    const g = this.gone.get(server);
    if (g === undefined) return false;
    if (now >= g.until || seq > g.seq) {
      this.gone.delete(server); // expired, or the server is back with newer announcements
      return false;
    }
    return true;
  }

  /** A neighbour asks for everything (its record of ours disagrees with our hellos). */
  onRoutesRequest(from: string): void {
    const peer = this.peerOf(from);
    if (this.deps.clock.now() - peer.lastDumpAt < DUMP_GAP_MS) {
      this.counters.dumpRequestsDropped++;
      return;
    }
    this.dump(from, peer);
  }

  /** A hello from `from` said the digest of what it has told us. */
  onHello(from: string, digest: number | undefined): void {
    const peer = this.peers.get(from);
    if (peer === undefined) return;
    if (!peer.installed && this.deps.isAlive(from) && this.deps.rttMs(from) !== undefined) this.installAll(from, peer);
    if (digest === undefined || digest === peer.heard.digest) {
      peer.mismatches = 0;
      return;
    }
    const now = this.deps.clock.now();
    if (++peer.mismatches < MISMATCHES_BEFORE_REQUEST || now - peer.lastRequestAt < DUMP_GAP_MS) return;
    peer.mismatches = 0;
    peer.lastRequestAt = now;
    this.counters.dumpRequestsSent++;
    this.deps.send(from, { type: 'routes-request' });
  }

  /** A neighbour asks for parts of a server's catalogue. */
  onCatalogueRequest(from: string, msg: CatalogueRequestMessage): void {
    this.catalogues.onRequest(from, msg);
  }

  /** A part of a catalogue; taken only if this node asked `from` for it. */
  onCatalogue(from: string, msg: CatalogueMessage): void {
    this.catalogues.onCatalogue(from, msg);
  }

  /** Latencies again from the links, the own catalogue checked, and the news told. */
  private refresh(): void {
    const catalogue = this.deps.ownCatalogue();
    if (catalogue !== null) {
      const cv = catalogueDigest(catalogue);
      if (this.ownCv !== null && cv !== this.ownCv) this.ownSeq++;
      if (cv !== this.ownCv) this.dirty.add(this.deps.self);
      this.ownCv = cv;
    }
    // Only routes whose latency moved become news (install marks them).
    for (const [name, peer] of this.peers) {
      const rtt = this.deps.isAlive(name) ? this.deps.rttMs(name) : undefined;
      if (rtt === undefined || rtt !== peer.settledRtt) this.installAll(name, peer);
    }
    this.retryCatalogues();
    this.deps.routes.expire(this.deps.clock.now(), Infinity);
  }

  /**
   * A catalogue still missing is asked for again (a fetch may have failed): of the neighbour on the
   * best route when that route announces it, else of any neighbour whose route does. The best
   * route first: two neighbours that each asked the other (each told the other a route first)
   * would otherwise wait on each other's assembly for ever; best routes are loop-free, so asking
   * along them always ends at a node that has the catalogue.
   */
  private retryCatalogues(): void {
    const { routes } = this.deps;
    for (const server of routes.allServers()) {
      const cv = routes.announcedVersion(server);
      if (cv === null || !routes.needsCatalogue(server, cv)) continue;
      const best = routes.best(server, (n) => this.deps.isAlive(n));
      const told = (name: string): boolean =>
        this.peers.get(name)?.heard.get(server)?.cv === cv && routes.entry(server, name) !== undefined;
      const ask = best !== undefined && told(best.via) ? best.via : [...this.peers.keys()].find(told);
      if (ask !== undefined) this.catalogues.want(ask, server, cv);
    }
  }

  private installAll(from: string, peer: Peer): void {
    const now = this.deps.clock.now();
    peer.settledRtt = this.deps.isAlive(from) ? this.deps.rttMs(from) : undefined;
    for (const advert of peer.heard.adverts()) this.install(from, advert, now);
  }

  private unsettle(neighbour: string): void {
    const peer = this.peers.get(neighbour);
    if (peer !== undefined) peer.settledRtt = undefined;
  }

  /** Puts a heard route in the table (or takes it out: a loop), and fetches the catalogue it names. */
  private install(from: string, advert: RouteAdvert, now: number): void {
    const { routes, self } = this.deps;
    if (advert.server === self) {
      this.counters.droppedLoop++;
      this.forget(advert.server, from, now);
      return;
    }
    const peer = this.peers.get(from);
    if (this.isStale(advert.server, advert.seq, now)) {
      this.counters.droppedGone++;
      this.forget(advert.server, from, now);
      if (peer !== undefined) peer.settledRtt = undefined;
      return;
    }
    const rtt = this.deps.isAlive(from) ? this.deps.rttMs(from) : undefined;
    if (rtt === undefined) {
      this.counters.droppedNoRtt++;
      if (peer !== undefined) {
        peer.installed = false;
        peer.settledRtt = undefined;
      }
      return;
    }
    if (peer !== undefined) peer.installed = true;
    const old = routes.entry(advert.server, from);
    // Unchanged (this very path is in the table, so it was checked for loops when it went in).
    if (old !== undefined && old.path === advert.path && old.latencyMs === advert.latencyMs + rtt / 2) {
      // No news, but a catalogue still missing is asked for again (the fetch may have failed).
      if (routes.needsCatalogue(advert.server, advert.cv)) this.catalogues.want(from, advert.server, advert.cv);
      return;
    }
    if (advert.path.includes(self)) {
      this.counters.droppedLoop++;
      this.forget(advert.server, from, now);
      return;
    }
    this.dirty.add(advert.server);
    this.scheduleFlush();
    const entry: RouteEntry = {
      server: advert.server,
      via: from,
      latencyMs: advert.latencyMs + rtt / 2,
      hops: advert.hops + 1,
      seq: advert.seq,
      updatedAt: now,
      path: advert.path,
      cv: advert.cv,
    };
    if (!routes.set(entry, advert.cv)) {
      this.counters.droppedFull++;
      if (peer !== undefined) peer.settledRtt = undefined;
      return;
    }
    if (routes.needsCatalogue(advert.server, advert.cv)) this.catalogues.want(from, advert.server, advert.cv);
  }

  private forget(server: string, via: string, now: number): void {
    this.deps.routes.withdraw(server, via, now);
    this.dirty.add(server);
    this.scheduleFlush();
  }

  private markAll(): void {
    for (const server of this.deps.routes.allServers()) this.dirty.add(server);
    if (this.ownCv !== null) this.dirty.add(this.deps.self);
    for (const peer of this.peers.values()) for (const server of peer.told.servers()) this.dirty.add(server);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== null) return;
    const wait = Math.max(0, this.lastFlushAt + MIN_UPDATE_GAP_MS - this.deps.clock.now());
    this.flushTimer = this.deps.clock.setTimer(wait, () => {
      this.flushTimer = null;
      this.lastFlushAt = this.deps.clock.now();
      this.flush();
    });
  }

  /** Tells every neighbour what changed among the dirty servers. */
  private flush(): void {
    const servers = [...this.dirty];
    this.dirty.clear();
    const news = this.goneNews;
    this.goneNews = [];
    // Each server's routes ranked once, not once per neighbour.
    const ranked = servers.map((server) => this.deps.routes.fastestFirst(server));
    for (const n of this.deps.neighbours()) {
      const peer = this.peerOf(n);
      const routes: RouteAdvert[] = [];
      const withdrawn: string[] = [];
      for (let i = 0; i < servers.length; i++) {
        const server = servers[i]!;
        const now = this.exportFor(n, server, ranked[i]!);
        const told = peer.told.get(server);
        if (now === undefined) {
          if (told !== undefined) withdrawn.push(server);
        } else if (told === undefined || isNews(now, told)) {
          routes.push(now);
        }
      }
      const gone = news.filter((x) => x.from !== n).map((x) => x.gone);
      this.send(n, peer, false, routes, withdrawn, gone);
    }
  }

  /** Everything, replacing whatever `to` heard from us before. */
  private dump(to: string, peer: Peer): void {
    peer.lastDumpAt = this.deps.clock.now();
    peer.told.clear();
    const routes: RouteAdvert[] = [];
    const servers = new Set(this.deps.routes.allServers());
    if (this.ownCv !== null) servers.add(this.deps.self);
    for (const server of servers) {
      const advert = this.exportFor(to, server, this.deps.routes.fastestFirst(server));
      if (advert !== undefined) routes.push(advert);
    }
    this.counters.dumpsSent++;
    this.send(to, peer, true, routes, []);
  }

  private send(
    to: string,
    peer: Peer,
    reset: boolean,
    routes: RouteAdvert[],
    withdrawn: string[],
    gone: readonly ServerGone[] = [],
  ): void {
    for (const server of withdrawn) peer.told.delete(server);
    for (const advert of routes) peer.told.set(advert);
    for (const msg of routeParts(reset, routes, withdrawn, gone)) {
      this.counters.updatesSent++;
      this.deps.send(to, msg);
    }
    this.counters.routesSent += routes.length;
    this.counters.withdrawalsSent += withdrawn.length;
  }

  /**
   * This node's fastest route to `server` whose path avoids `to`, as told to `to`; undefined: none.
   * `ranked`: the server's routes, fastest first (RouteTable.fastestFirst).
   */
  private exportFor(to: string, server: string, ranked: readonly RouteEntry[]): RouteAdvert | undefined {
    const { self } = this.deps;
    if (server === self) {
      if (this.ownCv === null) return undefined;
      if (this.ownAdvert?.seq !== this.ownSeq || this.ownAdvert.cv !== this.ownCv) {
        this.ownAdvert = { server: self, seq: this.ownSeq, latencyMs: 0, hops: 0, cv: this.ownCv, path: [self] };
      }
      return this.ownAdvert;
    }
    if (server === to) return undefined; // its own route is its to tell
    // The fastest, not the report's choice: a neighbour applies the 10 % hop rule to true latencies
    // (told the rule's choice, its slack would add up hop after hop).
    const best = ranked.find((e) => e.via !== to && e.path !== undefined && !e.path.includes(to));
    if (best === undefined || best.path === undefined || best.path.length >= MAX_PATH_LENGTH) return undefined;
    // One advert per route, whichever neighbours it is told to: their ledgers share it (and its path).
    let advert = this.exported.get(best);
    if (advert === undefined) {
      advert = {
        server,
        seq: best.seq,
        latencyMs: Math.round(best.latencyMs * 1000) / 1000,
        hops: best.hops,
        cv: best.cv ?? 0,
        path: [self].concat(best.path),
      };
      this.exported.set(best, advert);
    }
    return advert;
  }

  private peerOf(neighbour: string): Peer {
    return this.peers.get(neighbour) ?? this.fresh(neighbour);
  }

  private fresh(neighbour: string): Peer {
    const peer: Peer = {
      heard: new AdvertLedger(),
      told: new AdvertLedger(),
      mismatches: 0,
      lastRequestAt: -Infinity,
      lastDumpAt: -Infinity,
      installed: false,
      settledRtt: undefined,
    };
    this.peers.set(neighbour, peer);
    return peer;
  }
}

/** Whether a route differs enough from what was told to tell it again. */
function isNews(now: RouteAdvert, told: RouteAdvert): boolean {
  if (now === told) return false;
  if (now.hops !== told.hops || now.seq !== told.seq || now.cv !== told.cv) return true;
  if (now.path !== told.path && (now.path.length !== told.path.length || now.path.some((n, i) => n !== told.path[i]))) {
    return true;
  }
  const slack = Math.max(LATENCY_SLACK_MS, LATENCY_SLACK_SHARE * told.latencyMs);
  return Math.abs(now.latencyMs - told.latencyMs) > slack;
}
