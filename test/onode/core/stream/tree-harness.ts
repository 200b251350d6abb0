/**
 * One StreamTree with scripted neighbours, in virtual time: tests set who is alive, the routes and
 * RTTs, then feed messages and data and read what the tree sent.
 */
import { VirtualClock } from '../../../../common/core/clock.ts';
import type { MovieInfo } from '../../../../common/wire/overlay.ts';
import { encodeRtp } from '../../../../common/wire/rtp.ts';
import { catalogueDigest } from '../../../../onode/core/catalogue-digest.ts';
import { RouteTable } from '../../../../onode/core/route-table.ts';
import {
  type LocalReceiver,
  StreamTree,
  type TreeMessage,
  type TreeOptions,
} from '../../../../onode/core/stream-tree.ts';
import { DEFAULT_TREE, type TreeDeps } from '../../../../onode/core/stream/tree-api.ts';

export const MOVIE = 'alpha.mjpeg';

export interface Sent {
  readonly at: number;
  readonly to: string;
  readonly msg: TreeMessage;
}

export interface Viewer extends LocalReceiver {
  readonly packets: Buffer[];
  joinedAt: number | null;
  failure: { reason: string; detail: string } | null;
}

/** An RTP packet of source `ssrc`; frames of `ts`, the last packet of a frame marked. */
export function rtp(seq: number, ts = 0, marker = false, ssrc = 7): Buffer {
  return encodeRtp({
    marker,
    payloadType: 26,
    sequenceNumber: seq & 0xffff,
    timestamp: ts,
    ssrc,
    csrcs: [],
    payload: Buffer.alloc(8),
  });
}

export class TreeHarness {
  readonly clock = new VirtualClock();
  readonly routes = new RouteTable();
  readonly sent: Sent[] = [];
  readonly data: { to: readonly string[]; rtp: Buffer }[] = [];
  readonly alive = new Set<string>();
  readonly rtt = new Map<string, number>();
  /** When each neighbour was last heard from; a neighbour never set is heard all the time. */
  readonly heardAt = new Map<string, number>();
  readonly linkUpSince = new Map<string, number>();
  readonly carriersOf = new Map<string, string[]>();
  readonly sources = new Set<string>();
  readonly started: string[] = [];
  readonly stopped: string[] = [];
  readonly suspected: string[] = [];
  carrying: readonly string[] = [];
  /** Calls of carryingChanged. */
  announcements = 0;
  readonly tree: StreamTree;
  private routeSeq = 1;

  constructor(
    readonly self = 'me',
    neighbours: readonly string[] = [],
    options: TreeOptions = DEFAULT_TREE,
  ) {
    for (const n of neighbours) this.alive.add(n);
    const deps: TreeDeps = {
      self,
      clock: this.clock,
      routes: this.routes,
      isAlive: (n) => this.alive.has(n),
      rttMs: (n) => this.rtt.get(n),
      heardSince: (n, t) => (this.heardAt.get(n) ?? Infinity) >= t,
      suspect: (n) => this.suspected.push(n),
      upSince: (n) => (this.alive.has(n) ? (this.linkUpSince.get(n) ?? 0) : null),
      carriers: (m) => (this.carriersOf.get(m) ?? []).filter((n) => this.alive.has(n)),
      carrierRoot: () => null,
      send: (to, msg) => this.sent.push({ at: this.clock.now(), to, msg }),
      sendData: (to, _movie, packet) => this.data.push({ to, rtp: packet }),
      isSource: (m) => this.sources.has(m),
      startSource: (m) => this.started.push(m),
      stopSource: (m) => this.stopped.push(m),
      resendFromSource: () => [],
      newestSourceSeq: () => null,
      carryingChanged: (movies) => {
        this.announcements++;
        this.carrying = movies;
      },
    };
    this.tree = new StreamTree(deps, options);
    this.tree.start();
  }

  /** A STATUS probe's route to `server` through `via`, whose catalogue has `movies`. */
  route(server: string, via: string, latencyMs: number, movies: readonly string[] = [MOVIE]): void {
    const infos: MovieInfo[] = movies.map((name) => ({ name, fps: 25, width: 320, height: 240, frames: 10 }));
    const cv = catalogueDigest(infos);
    const hops = 1;
    this.routes.update({ server, via, latencyMs, hops, seq: this.routeSeq++, updatedAt: this.clock.now() }, cv);
    this.routes.setCatalogue(server, cv, infos);
  }

  viewer(id = 'viewer', movie = MOVIE): Viewer {
    const v: Viewer = {
      packets: [],
      joinedAt: null,
      failure: null,
      deliver: (p) => v.packets.push(p),
      joined: () => {
        v.joinedAt = this.clock.now();
      },
      failed: (reason, detail) => {
        v.failure = { reason, detail };
      },
    };
    this.tree.localJoin(movie, id, v);
    return v;
  }

  /** Messages sent so far (to `to`, of `type`), and forgets them. */
  take(to?: string, type?: TreeMessage['type']): Sent[] {
    const all = this.sent.splice(0);
    return all.filter((s) => (to === undefined || s.to === to) && (type === undefined || s.msg.type === type));
  }

  /** `from` acks the join of MOVIE with the chain `rootPath` above it. */
  ack(from: string, rootPath: readonly string[], movie = MOVIE): void {
    this.tree.onMessage(from, { type: 'join-ack', movie, rootPath });
  }

  /** `from` joins MOVIE at this node with the chain `path` (`from` last). */
  join(from: string, path: readonly string[] = [from], movie = MOVIE): void {
    this.tree.onMessage(from, { type: 'join', movie, path });
  }

  /** The stream's snapshot (undefined when the node has none). */
  stream(movie = MOVIE) {
    return this.tree.snapshot().find((s) => s.movie === movie);
  }
}
