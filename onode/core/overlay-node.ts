/**
 * One overlay node's protocol logic, without I/O: liveness and RTT per link, routes to servers
 * (route-adverts.ts), and distribution trees. Servers, intermediate nodes and POPs all run it
 * (servers also announce their own route and catalogue, and are tree roots for their movies).
 * Adapters feed it decoded packets and carry out its sends; tests drive many of them in virtual time.
 */
import type { Clock } from '../../common/core/clock.ts';
import { carryingParts, sortCatalogue } from '../../common/wire/control-split.ts';
import type { ControlMessage, HelloMessage, MovieInfo, OverlayMessage } from '../../common/wire/overlay.ts';
import { type CarryingCounters, CarryingTable } from './carrying-table.ts';
import { DEFAULT_LINK_MONITOR, LinkMonitor, type LinkMonitorOptions } from './link-monitor.ts';
import { RouteTable } from './route-table.ts';
import { DEFAULT_ROUTING, RouteAdverts, type RoutingOptions } from './route-adverts.ts';
import type { ServerKeyring } from '../../common/security/server-keyring.ts';
import { DEFAULT_TREE, type LocalReceiver, type StreamSnapshot, StreamTree, type TreeOptions } from './stream-tree.ts';
import { StreamVerifier } from './stream-verifier.ts';

export interface OverlayOptions {
  readonly links: LinkMonitorOptions;
  readonly routing: RoutingOptions;
  readonly tree: TreeOptions;
}

export const DEFAULT_OVERLAY: OverlayOptions = {
  links: DEFAULT_LINK_MONITOR,
  routing: DEFAULT_ROUTING,
  tree: DEFAULT_TREE,
};

export interface Outbox {
  send(to: string, msg: HelloMessage | ControlMessage): void;
  /** Sends one RTP packet of a movie to several neighbours (encoded once). */
  sendData(to: readonly string[], movie: string, rtp: Buffer): void;
}

/** A server's movies: the catalogue it announces and the live channels it starts and stops. */
export interface MovieSource {
  catalogue(): readonly MovieInfo[];
  /** Whether a stream (a movie, or an H.264 movie's audio: movie-tracks.ts) is this source's. */
  carries(stream: string): boolean;
  start(movie: string): void;
  stop(movie: string): void;
  /** Recent packets sent again, from the movie's timeline (ChannelSource.resend). */
  resend(movie: string, ssrc: number, seqs: readonly number[]): Buffer[];
  newestSeq(movie: string): number | null;
}

export interface NeighbourSnapshot {
  readonly name: string;
  readonly alive: boolean;
  readonly rttMs: number | null;
  readonly failures: number;
}

export interface RouteSnapshot {
  readonly server: string;
  readonly via: string;
  readonly latencyMs: number;
  readonly hops: number;
}

export interface NodeCounters extends CarryingCounters {
  unknownSender: number;
}

export class OverlayNode {
  readonly routes = new RouteTable();
  readonly links: LinkMonitor;
  readonly routing: RouteAdverts;
  readonly tree: StreamTree;
  readonly counters: NodeCounters = { unknownSender: 0, carryingRejected: 0 };
  /** Checks every stream's signatures before the tree takes its packets (nodes with viewers); null elsewhere. */
  readonly verifier: StreamVerifier | null;
  /** Per neighbour: movie → the server it comes from (null when the neighbour did not say). */
  readonly carrying = new CarryingTable(this.counters);
  /** Numbers this node's announcements, so a neighbour can tell the parts of one from another's. */
  private carryingVersion = 0;
  private merged: { generation: number; own: readonly MovieInfo[]; movies: readonly MovieInfo[] } | null = null;
  private started = false;
  /** Called when a link goes up or down or a stream joins across a link (the daemon's telemetry samples at once). */
  onShapeChange: (() => void) | null = null;

  constructor(
    readonly name: string,
    private readonly clock: Clock,
    private readonly outbox: Outbox,
    private readonly source: MovieSource | null = null,
    options: OverlayOptions = DEFAULT_OVERLAY,
    /** Verify received streams against these servers' keys (POPs); null passes data on unchecked (relays). */
    verifyWith: ServerKeyring | null = null,
  ) {
    this.links = new LinkMonitor(
      clock,
      // Each hello says what this node has told the neighbour, so a lost route update is noticed.
      (to, msg) => outbox.send(to, { ...msg, routeDigest: this.routing.digestFor(to) }),
      {
        up: (n) => this.neighbourUp(n),
        down: (n) => this.neighbourDown(n),
      },
      options.links,
      (n) => this.tree.usesNeighbour(n),
    );
    this.routing = new RouteAdverts(
      {
        self: name,
        clock,
        routes: this.routes,
        neighbours: () => this.aliveNeighbours(),
        isAlive: (n) => this.links.isAlive(n),
        rttMs: (n) => this.links.routeRttMs(n),
        send: (to, msg) => outbox.send(to, msg),
        ownCatalogue: () => source?.catalogue() ?? null,
      },
      options.routing,
    );
    this.tree = new StreamTree(
      {
        self: name,
        clock,
        routes: this.routes,
        isAlive: (n) => this.links.isAlive(n),
        rttMs: (n) => this.links.rttMs(n),
        carriers: (movie) => this.carrying.carriers(movie, (n) => this.links.isAlive(n)),
        suspect: (n) => this.links.markDead(n),
        upSince: (n) => this.links.upSince(n),
        heardSince: (n, t) => (this.links.lastHeardAt(n) ?? -Infinity) >= t,
        carrierRoot: (n, movie) => this.carrying.root(n, movie),
        send: (to, msg) => {
          // A join (or its ack) puts a stream on the link: its hellos must go at the fast rate now.
          if (msg.type === 'join' || msg.type === 'join-ack') this.joined();
          outbox.send(to, msg);
        },
        sendData: (to, movie, rtp) => outbox.sendData(to, movie, rtp),
        isSource: (movie) => source?.carries(movie) ?? false,
        startSource: (movie) => source?.start(movie),
        stopSource: (movie) => source?.stop(movie),
        resendFromSource: (movie, ssrc, seqs) => source?.resend(movie, ssrc, seqs) ?? [],
        newestSourceSeq: (movie) => source?.newestSeq(movie) ?? null,
        carryingChanged: (movies, roots) => this.announceCarrying(this.aliveNeighbours(), movies, roots),
      },
      options.tree,
    );
    this.verifier =
      verifyWith === null
        ? null
        : new StreamVerifier({
            clock,
            keyById: (id) => verifyWith.byKeyId(id),
            release: (from, movie, rtp) => this.tree.onData(from, movie, rtp),
            faulty: (from, movie, why) => this.tree.upstreamFaulty(from, movie, why),
          });
    if (verifyWith !== null) verifyWith.onKey(() => this.verifier?.keyAdded());
  }

  get isServer(): boolean {
    return this.source !== null;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.links.start();
    this.routing.start();
    this.tree.start();
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.tree.stop();
    this.verifier?.stop();
    this.routing.stop();
    this.links.stop();
  }

  /** Sets the overlay neighbours (from the bootstrapper); links to removed ones go down. */
  setNeighbours(names: readonly string[]): void {
    const wanted = new Set(names);
    for (const n of this.links.neighbours()) if (!wanted.has(n)) this.links.remove(n);
    for (const n of names) this.links.add(n);
  }

  /** The bootstrapper reports a neighbour's process gone: do not wait for missed hellos. */
  neighbourLost(name: string): void {
    // First, while its own route is still in the table: a server's death voids every route to it.
    this.routing.serverGone(name);
    this.links.markDead(name);
  }

  receive(from: string, msg: OverlayMessage): void {
    if (!this.links.has(from)) {
      this.counters.unknownSender++;
      return;
    }
    switch (msg.type) {
      case 'hello':
        this.links.onHello(from, msg);
        this.routing.onHello(from, msg.routeDigest);
        return;
      case 'data':
        this.links.heard(from);
        // Only new data the tree would take is worth checking (hashing, a signature per frame); the
        // rest it counts as stray or duplicate. Make-before-break and repairs bring many duplicates.
        if (
          this.verifier !== null &&
          this.tree.takesData(from, msg.movie) &&
          !this.tree.hasPacket(msg.movie, msg.rtp)
        ) {
          this.verifier.push(from, msg.movie, msg.rtp);
        } else {
          this.tree.onData(from, msg.movie, msg.rtp);
        }
        return;
      case 'routes':
        this.links.heard(from);
        this.routing.onRoutes(from, msg);
        return;
      case 'routes-request':
        this.links.heard(from);
        this.routing.onRoutesRequest(from);
        return;
      case 'join':
      case 'join-ack':
        this.joined();
        this.links.heard(from);
        this.tree.onMessage(from, msg);
        return;
      case 'nak':
      case 'leave':
      case 'repair':
        this.links.heard(from);
        this.tree.onMessage(from, msg);
        return;
      case 'catalogue-request':
        this.links.heard(from);
        this.routing.onCatalogueRequest(from, msg);
        return;
      case 'catalogue':
        this.links.heard(from);
        this.routing.onCatalogue(from, msg);
        return;
      case 'carrying':
        this.links.heard(from);
        this.carrying.onCarrying(from, msg);
        return;
      case 'ping':
      case 'pong':
        return; // client pings are answered by the adapter, not between neighbours
    }
  }

  localJoin(movie: string, id: string, receiver: LocalReceiver): void {
    this.tree.localJoin(movie, id, receiver);
  }

  localLeave(movie: string, id: string): void {
    this.tree.localLeave(movie, id);
  }

  onSourcePacket(movie: string, rtp: Buffer): void {
    this.tree.onSourcePacket(movie, rtp);
  }

  /** Movies this node can serve: its own plus every server's it has heard from (merged again only after a change). */
  catalogue(): readonly MovieInfo[] {
    const own = this.source?.catalogue() ?? [];
    const generation = this.routes.catalogueGeneration;
    const merged = this.merged;
    if (merged !== null && merged.generation === generation && merged.own === own) return merged.movies;
    const all = new Map<string, MovieInfo>();
    for (const m of [...own, ...this.routes.catalogue()]) if (!all.has(m.name)) all.set(m.name, m);
    const movies = sortCatalogue([...all.values()]);
    this.merged = { generation, own, movies };
    return movies;
  }

  neighbours(): NeighbourSnapshot[] {
    return this.links
      .neighbours()
      .sort()
      .map((name) => ({
        name,
        alive: this.links.isAlive(name),
        rttMs: this.links.rttMs(name) ?? null,
        failures: this.links.deaths(name),
      }));
  }

  /** Best route per known server. */
  bestRoutes(): RouteSnapshot[] {
    const out: RouteSnapshot[] = [];
    for (const server of this.routes.knownServers()) {
      const best = this.routes.best(server, (n) => this.links.isAlive(n));
      if (best !== undefined) out.push({ server, via: best.via, latencyMs: best.latencyMs, hops: best.hops });
    }
    return out;
  }

  streams(): StreamSnapshot[] {
    return this.tree.snapshot();
  }

  private aliveNeighbours(): string[] {
    return this.links.neighbours().filter((n) => this.links.isAlive(n));
  }

  /** A stream joins across a link: its hellos go fast at once, and the dashboard hears of it. */
  private joined(): void {
    this.links.nudge();
    this.onShapeChange?.();
  }

  private neighbourUp(name: string): void {
    this.onShapeChange?.();
    this.routing.neighbourUp(name);
    this.announceCarrying([name], this.tree.carrying(), this.tree.carryingRoots());
  }

  /** Tells neighbours what this node carries, in as many parts as the list takes. */
  private announceCarrying(to: readonly string[], movies: readonly string[], roots: readonly string[]): void {
    const parts = carryingParts(++this.carryingVersion, movies, roots);
    for (const n of to) for (const part of parts) this.outbox.send(n, part);
  }

  private neighbourDown(name: string): void {
    this.onShapeChange?.();
    this.carrying.forget(name);
    this.routes.removeVia(name, this.clock.now());
    this.routing.neighbourDown(name);
    this.tree.neighbourDown(name);
  }
}
