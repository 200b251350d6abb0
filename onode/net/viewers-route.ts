/**
 * A POP's GET /viewers: its viewer table as a ViewersReport (common/wire/status-api.ts). Anyone
 * may read it (rows are named by labels, never by session ids), so like GET /status the JSON is
 * rebuilt only within a budget; past it, readers get the last one built.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RateWindow } from '../../common/core/rate-window.ts';
import type { ViewerStats, ViewersReport } from '../../common/wire/status-api.ts';
import { REPORT_BUILDS_PER_WINDOW, REPORT_WINDOW_MS } from './status-http.ts';

export function viewersRoute(
  viewers: () => ViewerStats[],
  now: () => number = () => performance.now(),
): (req: IncomingMessage, res: ServerResponse) => void {
  const builds = new RateWindow(REPORT_BUILDS_PER_WINDOW, REPORT_WINDOW_MS);
  let cached: Buffer | null = null;
  return (_req, res) => {
    if (builds.take(now()) || cached === null) {
      const report: ViewersReport = { at: Date.now(), viewers: viewers() };
      cached = Buffer.from(`${JSON.stringify(report)}\n`);
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(cached);
  };
}
