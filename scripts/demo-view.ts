/** Renders the demo's live view: what each node carries, from its GET /status. */
import { textTable } from '../common/core/text-table.ts';
import type { StatusReport } from '../common/wire/status-api.ts';

/** RTP packets a node has sent its RTSP viewers of `movie` (sessions ended since are no longer counted). */
function toViewers(st: StatusReport | undefined, movie: string): number {
  return (st?.sessions ?? []).filter((x) => x.movie === movie).reduce((sum, x) => sum + x.packets + x.retransmitted, 0);
}

/**
 * Rows of "node  movie  from → to  pkt/s  kbit/s", rates from the previous poll (nodes by name).
 * Out counts both the overlay branches and a POP's RTSP viewers; viewers' bytes are estimated
 * from the stream's mean packet size, as sessions count packets only.
 */
export function renderFlows(now: StatusReport[], before: Map<string, StatusReport>, intervalS: number): string {
  const rows: string[][] = [['node', 'role', 'movie', 'from', 'to', 'pkt/s out', 'kbit/s out']];
  for (const n of now) {
    const name = n.name ?? '?';
    for (const s of n.streams ?? []) {
      const prevNode = before.get(name);
      const prev = prevNode?.streams?.find((p) => p.movie === s.movie);
      const viewerPackets = Math.max(0, toViewers(n, s.movie) - toViewers(prevNode, s.movie));
      const meanBytes = s.packetsIn > 0 ? s.bytesIn / s.packetsIn : 0;
      const pps = prev ? (s.packetsOut - prev.packetsOut + viewerPackets) / intervalS : 0;
      const kbps = prev ? ((s.bytesOut - prev.bytesOut + viewerPackets * meanBytes) * 8) / 1000 / intervalS : 0;
      const to = [...s.downstream, ...s.clients.map((c) => `client ${c}`)].join(', ');
      rows.push([name, n.role, s.movie, s.upstream ?? '(source)', to || '-', pps.toFixed(0), kbps.toFixed(0)]);
    }
  }
  if (rows.length === 1) rows.push(['-', '', 'nothing flowing yet', '', '', '', '']);
  return textTable(rows);
}
