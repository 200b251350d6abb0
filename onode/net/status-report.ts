/**
 * Builds a running node's GET /status report (the one StatusReport type) from its parts. Counter
 * groups are copies: the report is serialised later, and counter interfaces are not index signatures.
 */
import type { ServerKeyring } from '../../common/security/server-keyring.ts';
import type { RegisteredMessage } from '../../common/wire/bootstrap.ts';
import type { ClockStatus, StatusReport } from '../../common/wire/status-api.ts';
import type { TimeSyncCounters } from '../core/time-sync.ts';
import type { OverlayNode } from '../core/overlay-node.ts';
import type { BootstrapCounters } from './bootstrap-server.ts';
import type { OverlayTransport } from './overlay-transport.ts';
import type { RtspServer } from './rtsp-server.ts';
import type { StatusHttp } from './status-http.ts';

export interface ReportParts {
  readonly info: RegisteredMessage;
  readonly node: OverlayNode;
  /** The node's clock now (ms), for the age of the last tree event. */
  readonly now: number;
  readonly uptimeSec: number;
  /** 'self' on the bootstrapper, else its host:port. */
  readonly bootstrapper: string;
  readonly keyring: ServerKeyring;
  /** A server's own signing key id, and what signing costs it; null elsewhere. */
  readonly signingKeyId: string | null;
  readonly sign: { frames: number; usPerFrame: number } | null;
  readonly transport: OverlayTransport | null;
  readonly rtsp: RtspServer | null;
  readonly http: StatusHttp | null;
  /** On the bootstrapper: its desk's counters and the registered nodes; null elsewhere. */
  readonly desk: { counters: BootstrapCounters; registered: string[] } | null;
  /** Elsewhere: sealed bootstrapper messages that failed their check. */
  readonly registration: { badSeal: number };
  /** Servers: their clock against the reference, and their time requests' counters (null on the bootstrapper). */
  readonly clock: ClockStatus | null;
  readonly time: TimeSyncCounters | null;
}

export function buildStatusReport(p: ReportParts): StatusReport {
  const { info, node } = p;
  const addressOf = new Map(info.neighbours.map((n) => [n.name, n.address]));
  const sessions = p.rtsp?.sessions.list() ?? [];
  // Viewers are named by a label, never by session id: ids are capabilities over a viewer's playback.
  const clientOf = new Map(sessions.map((s) => [s.viewer, s.client]));
  const tree = node.tree;
  return {
    name: info.name,
    role: info.role,
    pid: process.pid,
    addresses: info.addresses,
    uptimeSec: p.uptimeSec,
    bootstrapper: p.bootstrapper,
    serverKeys: p.keyring.list().map((k) => ({ server: k.server, keyId: k.keyId })),
    ...(p.signingKeyId !== null ? { signingKeyId: p.signingKeyId } : {}),
    ...(p.clock !== null ? { clock: p.clock } : {}),
    neighbours: node.neighbours().map((n) => ({
      name: n.name,
      address: addressOf.get(n.name) ?? null,
      alive: n.alive,
      rttMs: n.rttMs === null ? null : round(n.rttMs),
      failures: n.failures,
    })),
    routes: node.bestRoutes().map((r) => ({ ...r, latencyMs: round(r.latencyMs) })),
    streams: node.streams().map((s) => ({
      movie: s.movie,
      state: s.state,
      upstream: s.upstream,
      rootPath: s.rootPath,
      downstream: s.downstream,
      clients: s.clients.map((id) => clientOf.get(id) ?? 'viewer'),
      ...s.counters,
    })),
    faults: { cut: [...(p.transport?.cut ?? [])] },
    recovery: {
      linkFailures: node.neighbours().reduce((n, x) => n + x.failures, 0),
      reroutes: tree.counters.reroutes,
      switches: tree.counters.switches,
      repairsRequested: tree.counters.repairsRequested,
      repairsServed: tree.counters.repairsServed,
      lastEvent: tree.lastEvent === null ? null : { ...tree.lastEvent, agoMs: Math.round(p.now - tree.lastEvent.at) },
    },
    catalogue: node.catalogue(),
    sessions,
    counters: {
      ...(p.transport ? { transport: { ...p.transport.counters } } : {}),
      tree: { ...tree.counters },
      routing: { ...node.routing.counters },
      node: { ...node.counters },
      routes: { ignoredServers: node.routes.ignoredServers, refusedCatalogues: node.routes.refusedCatalogues },
      ...(p.rtsp ? { rtsp: rtspCounters(p.rtsp) } : {}),
      ...(node.verifier ? { verify: { ...node.verifier.counters, holding: node.verifier.holding } } : {}),
      ...(p.sign ? { sign: p.sign } : {}),
      ...(p.desk ? { bootstrapper: { ...p.desk.counters } } : { registration: { ...p.registration } }),
      ...(p.http ? { ops: { ...p.http.counters } } : {}),
      ...(p.time ? { time: { ...p.time } } : {}),
    },
    ...(p.desk ? { registered: p.desk.registered } : {}),
  };
}

function rtspCounters(rtsp: RtspServer): NonNullable<NonNullable<StatusReport['counters']>['rtsp']> {
  const r = rtsp.report();
  const { viewers, ...rest } = r;
  const group: Record<string, number> | undefined = viewers === undefined ? undefined : { ...viewers };
  return { ...rest, connections: { ...r.connections }, ...(group ? { viewers: group } : {}) };
}

export function round(x: number): number {
  return Math.round(x * 100) / 100;
}
