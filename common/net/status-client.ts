/** Reads a node's GET /status (tests, benchmarks, the demo): fetched, then checked against the one schema. */
import { parseStatusReport, type StatusReport } from '../wire/status-api.ts';

/** The node answered, but not with a status report of this version. */
export class StatusReportError extends Error {
  override readonly name = 'StatusReportError';
}

/** Rejects when the node does not answer in time, answers an HTTP error, or answers something else. */
export async function fetchStatus(target: { host: string; port: number }, timeoutMs = 2000): Promise<StatusReport> {
  const url = `http://${target.host}:${target.port}/status`;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new StatusReportError(`${url}: HTTP ${res.status}`);
  const parsed = parseStatusReport(await res.json());
  if (!parsed.ok) throw new StatusReportError(`${url}: ${parsed.error}`);
  return parsed.value;
}
