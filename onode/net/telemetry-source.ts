/**
 * What a running node's telemetry reporter reads (telemetry-reporter.ts): its OverlayNode's links,
 * routes and streams, the links cut by fault injection, and a POP's viewers from a provider.
 */
import type { SessionStatus, ViewerStats } from '../../common/wire/status-api.ts';
import type { OverlayNode } from '../core/overlay-node.ts';
import type { TelemetrySource } from '../core/telemetry-reporter.ts';

export function nodeTelemetrySource(
  node: OverlayNode,
  cut: () => ReadonlySet<string>,
  viewers: () => readonly ViewerStats[],
): TelemetrySource {
  return {
    neighbours: () => {
      const isCut = cut();
      return node.neighbours().map((n) => ({ name: n.name, alive: n.alive, rttMs: n.rttMs, cut: isCut.has(n.name) }));
    },
    routes: () => node.bestRoutes(),
    streams: () =>
      node.streams().map((s) => ({
        movie: s.movie,
        state: s.state,
        upstream: s.upstream,
        downstream: [...s.downstream],
        clients: s.clients.length,
        packetsIn: s.counters.packetsIn,
        bytesIn: s.counters.bytesIn,
        packetsOut: s.counters.packetsOut,
        bytesOut: s.counters.bytesOut,
      })),
    treeCounters: () => {
      const c = node.tree.counters;
      return { naks: c.naksSent + c.naksReceived, switches: c.switches };
    },
    viewers,
  };
}

/**
 * A POP's viewers as far as its RTSP sessions tell (no playback statistics): what the dashboard
 * shows until the POP's viewer table (from the players' reports) is given as `viewerStats`.
 */
export function sessionViewers(pop: string, sessions: () => readonly SessionStatus[]): () => ViewerStats[] {
  const since = new Map<string, number>();
  return () => {
    const now = Date.now();
    const list = sessions();
    const live = new Set(list.map((s) => s.viewer));
    for (const id of since.keys()) if (!live.has(id)) since.delete(id);
    return list.map((s) => {
      const startedAt = since.get(s.viewer) ?? now;
      since.set(s.viewer, startedAt);
      return {
        id: `${pop}/${s.viewer}`,
        pop,
        movie: s.movie,
        client: s.client,
        player: 'rtsp',
        startedAt,
        updatedAt: now,
        state: s.state === 'playing' ? 'playing' : 'paused',
        startupMs: null,
        fps: null,
        bitrateKbps: null,
        framesReceived: null,
        framesLost: null,
        packetsLost: 0,
        fractionLost: 0,
        jitterMs: null,
        longestStallMs: null,
        failovers: null,
      };
    });
  };
}
