/** Renders the demo's live view: what each node carries, from its GET /status. */
import type { StatusReport } from '../common/wire/status-api.ts';

/** Rows of "node  movie  from → to  pkt/s  kbit/s", rates from the previous poll (nodes by name). */
export function renderFlows(now: StatusReport[], before: Map<string, StatusReport>, intervalS: number): string {
  const rows: string[][] = [['node', 'role', 'movie', 'from', 'to', 'pkt/s out', 'kbit/s out']];
  for (const n of now) {
    const name = n.name ?? '?';
    for (const s of n.streams ?? []) {
      const prev = before.get(name)?.streams?.find((p) => p.movie === s.movie);
      const pps = prev ? (s.packetsOut - prev.packetsOut) / intervalS : 0;
      const kbps = prev ? ((s.bytesOut - prev.bytesOut) * 8) / 1000 / intervalS : 0;
      const to = [...s.downstream, ...s.clients.map((c) => `client ${c}`)].join(', ');
      rows.push([name, n.role, s.movie, s.upstream ?? '(source)', to || '-', pps.toFixed(0), kbps.toFixed(0)]);
    }
  }
  if (rows.length === 1) rows.push(['-', '', 'nothing flowing yet', '', '', '', '']);
  return table(rows);
}

export function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
