/**
 * The bootstrapper's picture of the overlay, without I/O: each node's latest reported rows (a
 * report carries only what changed, or everything with `full`), a bounded event timeline, per-link traffic from counter
 * deltas, each movie's tree (upstream → node edges) with its server, dead and cut links, and every
 * POP's viewers. state() is what GET /overlay and GET /feed send.
 */
import type { Clock } from '../../common/core/clock.ts';
import {
  MAX_REPORT_NEIGHBOURS,
  MAX_REPORT_STREAMS,
  MAX_REPORT_VIEWERS,
  type DashboardEvent,
  type DashboardLink,
  type DashboardState,
  type MovieTree,
  type ReportNeighbour,
  type ReportStream,
  type TelemetryReport,
} from '../../common/wire/dashboard-api.ts';
import type { ViewersReport, ViewerStats } from '../../common/wire/status-api.ts';

/** Events kept (oldest dropped), and how many of the newest state() carries. */
export const MAX_TIMELINE = 2000;
export const SHOWN_EVENTS = 300;

export interface StoreTopology {
  readonly bootstrapper: string;
  readonly nodes: readonly { readonly name: string; readonly role: 'server' | 'node' | 'pop' }[];
  readonly links: readonly { readonly a: string; readonly b: string }[];
}

interface NodeRecord {
  readonly name: string;
  readonly role: 'server' | 'node' | 'pop';
  registered: boolean;
  /** The store's clock at the last report. */
  reportAt: number | null;
  /** Rows by neighbour name, movie and viewer id: a report replaces (full) or merges into them. */
  readonly neighbours: Map<string, ReportNeighbour>;
  readonly streams: Map<string, ReportStream>;
  /** Per movie: the last counters (node's clock) and the kbit/s into this node they gave. */
  readonly rates: Map<string, { at: number; bytesIn: number; kbps: number }>;
  readonly viewers: Map<string, ViewerStats>;
  droppedEvents: number;
  cost: { at: number; sentBytes: number; busyMs: number } | null;
}

export class TelemetryStore {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly timeline: DashboardEvent[] = [];
  private nextEvent = 1;
  private changes = 0;
  /** rowsRefused: new rows past a node's bound (reports merge, so a node could otherwise grow its tables). */
  readonly counters = { reports: 0, unknownNodes: 0, events: 0, eventsDropped: 0, rowsRefused: 0 };

  constructor(
    private readonly topo: StoreTopology,
    private readonly clock: Clock,
    /** Wall clock (ms since the epoch) for event times the page shows. */
    private readonly wall: () => number = () => Date.now(),
  ) {
    for (const n of topo.nodes) {
      this.nodes.set(n.name, {
        name: n.name,
        role: n.role,
        registered: n.name === topo.bootstrapper,
        reportAt: null,
        neighbours: new Map(),
        streams: new Map(),
        rates: new Map(),
        viewers: new Map(),
        droppedEvents: 0,
        cost: null,
      });
    }
  }

  /** Increases with every change: the feed sends an update only when it moved. */
  get version(): number {
    return this.changes;
  }

  membership(name: string, change: 'registered' | 'gone'): void {
    const n = this.nodes.get(name);
    if (n === undefined) return;
    n.registered = change === 'registered';
    // A new registration may be a restarted process whose clock starts again near 0: its counters
    // and times are a new baseline, not deltas from the old one's.
    n.rates.clear();
    if (change === 'gone') {
      // Its streams and viewers end with it; its neighbours report their side of its links.
      n.streams.clear();
      n.viewers.clear();
      n.neighbours.clear();
    }
    this.event({ node: name, kind: change }, this.wall());
  }

  ingest(name: string, r: TelemetryReport): void {
    const n = this.nodes.get(name);
    if (n === undefined) {
      this.counters.unknownNodes++;
      return;
    }
    this.counters.reports++;
    n.registered = true;
    n.reportAt = this.clock.now();
    n.droppedEvents = r.droppedEvents ?? 0;
    if (r.cost !== undefined) n.cost = { at: r.at, ...r.cost };
    const wall = this.wall();
    for (const e of r.events ?? []) {
      const { agoMs, ...rest } = e;
      this.event({ node: name, ...rest }, wall - agoMs);
    }
    if (r.full === true) {
      n.neighbours.clear();
      n.streams.clear();
      n.viewers.clear();
    }
    for (const x of r.neighbours ?? []) this.merge(n.neighbours, x.name, x, MAX_REPORT_NEIGHBOURS);
    this.takeStreams(n, r);
    this.takeViewers(n, r, wall);
    this.changes++;
  }

  private takeStreams(n: NodeRecord, r: TelemetryReport): void {
    for (const s of r.streams ?? []) {
      if (!this.merge(n.streams, s.movie, s, MAX_REPORT_STREAMS)) continue;
      const prev = n.rates.get(s.movie);
      let kbps = prev?.kbps ?? 0;
      if (prev !== undefined && r.at > prev.at) {
        // bytes × 8 / ms is kbit/s; a counter that went back is a new stream.
        kbps = s.bytesIn >= prev.bytesIn ? ((s.bytesIn - prev.bytesIn) * 8) / (r.at - prev.at) : 0;
      }
      if (prev === undefined || r.at > prev.at) n.rates.set(s.movie, { at: r.at, bytesIn: s.bytesIn, kbps });
    }
    for (const movie of r.streamsEnded ?? []) n.streams.delete(movie);
    for (const movie of [...n.rates.keys()]) if (!n.streams.has(movie)) n.rates.delete(movie);
  }

  /**
   * Viewer rows, a POP's own only (a node cannot list rows under another POP's name); a failover
   * count that went up is an event.
   */
  private takeViewers(n: NodeRecord, r: TelemetryReport, wall: number): void {
    if (n.role !== 'pop') return;
    for (const v of r.viewers ?? []) {
      if (v.pop !== n.name) continue;
      const row = n.viewers.get(v.id);
      const was = row === undefined ? undefined : (row.failovers ?? 0);
      if (was !== undefined && (v.failovers ?? 0) > was) {
        this.event(
          { node: n.name, kind: 'failover', movie: v.movie, peer: v.id, count: (v.failovers ?? 0) - was },
          wall,
        );
      }
      this.merge(n.viewers, v.id, v, MAX_REPORT_VIEWERS);
    }
    for (const id of r.viewersGone ?? []) n.viewers.delete(id);
  }

  /** Sets a row; a new key past `max` rows is refused (and counted): one report's bound is the node's. */
  private merge<T>(rows: Map<string, T>, key: string, row: T, max: number): boolean {
    if (!rows.has(key) && rows.size >= max) {
      this.counters.rowsRefused++;
      return false;
    }
    rows.set(key, row);
    return true;
  }

  private event(e: Omit<DashboardEvent, 'id' | 'at'>, at: number): void {
    this.timeline.push({ id: this.nextEvent++, at: Math.round(at), ...e });
    this.counters.events++;
    if (this.timeline.length > MAX_TIMELINE) {
      this.timeline.shift();
      this.counters.eventsDropped++;
    }
    this.changes++;
  }

  viewers(): ViewersReport {
    return { at: this.wall(), viewers: this.allViewers() };
  }

  private allViewers(): ViewerStats[] {
    const out: ViewerStats[] = [];
    for (const n of this.nodes.values()) if (n.registered) out.push(...n.viewers.values());
    return out;
  }

  state(): DashboardState {
    const now = this.clock.now();
    const nodes = [...this.nodes.values()].map((n) => ({
      name: n.name,
      role: n.role,
      registered: n.registered,
      bootstrapper: n.name === this.topo.bootstrapper,
      reportAgoMs: n.reportAt === null ? null : Math.round(now - n.reportAt),
      cost: n.cost,
    }));
    const movies = this.trees();
    const traffic = new Map<string, number>();
    for (const t of movies) {
      for (const e of t.edges) traffic.set(linkKey(e.from, e.to), (traffic.get(linkKey(e.from, e.to)) ?? 0) + e.kbps);
    }
    const links: DashboardLink[] = this.topo.links.map(({ a, b }) => this.link(a, b, traffic.get(linkKey(a, b)) ?? 0));
    let dropped = 0;
    for (const n of this.nodes.values()) dropped += n.droppedEvents;
    return {
      at: this.wall(),
      version: this.changes,
      nodes,
      links,
      movies,
      viewers: this.allViewers(),
      events: this.timeline.slice(-SHOWN_EVENTS),
      counters: { ...this.counters, nodeEventsDropped: dropped },
    };
  }

  private link(a: string, b: string, kbps: number): DashboardLink {
    const na = this.nodes.get(a);
    const nb = this.nodes.get(b);
    const ends = [na?.neighbours.get(b), nb?.neighbours.get(a)].filter((x) => x !== undefined);
    const rtts = ends.map((x) => x.rttMs).filter((x): x is number => x !== null);
    const registered = (na?.registered ?? false) && (nb?.registered ?? false);
    return {
      a,
      b,
      rttMs: rtts.length === 0 ? null : Math.min(...rtts),
      alive: registered && ends.length > 0 && ends.every((x) => x.alive),
      cut: ends.some((x) => x.cut),
      kbps: Math.round(kbps),
    };
  }

  /** Each movie's tree from every registered node's upstream, with the server at its root. */
  private trees(): MovieTree[] {
    const byMovie = new Map<string, MovieTree & { edges: MovieTree['edges']; pops: string[] }>();
    for (const n of this.nodes.values()) {
      if (!n.registered) continue;
      for (const s of n.streams.values()) {
        let t = byMovie.get(s.movie);
        if (t === undefined) {
          t = { movie: s.movie, server: null, edges: [], pops: [] };
          byMovie.set(s.movie, t);
        }
        if (s.upstream === null && n.role === 'server') t.server = n.name;
        // An upstream that is gone delivers nothing: that edge is no longer part of the tree.
        if (s.upstream !== null && this.nodes.get(s.upstream)?.registered === true) {
          const kbps = Math.round(n.rates.get(s.movie)?.kbps ?? 0);
          t.edges.push({ from: s.upstream, to: n.name, kbps });
        }
        if (n.role === 'pop' && s.clients > 0) t.pops.push(n.name);
      }
    }
    for (const t of byMovie.values()) t.server = this.rootOf(t) ?? t.server;
    return [...byMovie.values()].sort((x, y) => (x.movie < y.movie ? -1 : 1));
  }

  /**
   * The server the POPs' viewers are fed from: the root above a POP. A server whose branch was cut
   * keeps its channel a little while, so "a server without upstream" alone may name the old one.
   */
  private rootOf(t: MovieTree): string | null {
    const parent = new Map(t.edges.map((e) => [e.to, e.from]));
    for (const pop of t.pops) {
      let at = pop;
      for (let hops = 0; hops <= parent.size; hops++) {
        const up = parent.get(at);
        if (up === undefined) break;
        at = up;
      }
      if (at !== pop && this.nodes.get(at)?.role === 'server') return at;
    }
    return null;
  }
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}
