/**
 * What a running node's telemetry reporter reads (telemetry-reporter.ts): its OverlayNode's links,
 * streams, the links cut by fault injection, and a POP's viewers from a provider.
 */
import type { ViewerStats } from '../../common/wire/status-api.ts';
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
    streams: () =>
      node.streams().map((s) => ({
        movie: s.movie,
        state: s.state,
        upstream: s.upstream,
        downstream: [...s.downstream],
        clients: s.clients.length,
        bytesIn: s.counters.bytesIn,
      })),
    treeCounters: () => {
      const c = node.tree.counters;
      return { naks: c.naksSent + c.naksReceived, switches: c.switches };
    },
    viewers,
  };
}
