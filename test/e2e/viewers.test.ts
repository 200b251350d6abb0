/**
 * Central viewer statistics at the POP (GET /viewers): a headless oclient reports its playback
 * (SET_PARAMETER), and ffmpeg, which knows nothing of that, shows up from its RTCP receiver reports.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { type ViewerStats, ViewersReportSchema } from '../../common/wire/status-api.ts';
import { requireCommands } from '../capabilities.ts';
import { ROOT, suiteRun } from './loopback-harness.ts';

const PORTS = { bootstrap: 17610, overlay: 14610, status: 17690, rtsp: 18610 };
const POLL_MS = 250;

describe('GET /viewers on a POP', () => {
  const run = suiteRun(join(ROOT, 'topologies/report.json5'), PORTS);

  const viewers = async (pop: string): Promise<ViewerStats[]> => {
    const res = await fetch(`http://${run.address(pop)}:${PORTS.status}/viewers`, {
      signal: AbortSignal.timeout(2000),
    });
    expect(res.status).toBe(200);
    return v.parse(ViewersReportSchema, await res.json()).viewers;
  };
  /** Polls the POP until `pick` finds a row, or fails after `timeoutMs`. */
  const waitFor = async (
    pop: string,
    pick: (rows: ViewerStats[]) => ViewerStats | undefined,
    timeoutMs = 10_000,
  ): Promise<ViewerStats> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = pick(await viewers(pop));
      if (row !== undefined) return row;
      if (Date.now() > deadline) {
        const counters = (await run.status(pop)).counters?.rtsp;
        throw new Error(`no such viewer at ${pop}: ${JSON.stringify(await viewers(pop))} ${JSON.stringify(counters)}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };

  it("lists a playing oclient with the client's own figures, then as gone", async () => {
    const pop = run.topology.nodes.get('o5')?.clientAddresses[0] ?? '';
    const client = run.startClient([
      '--address',
      '127.0.6.20',
      '--pop',
      pop,
      '--movie',
      'bars.mjpeg',
      '--headless',
      '--duration',
      '9',
    ]);
    const isOurs = (r: ViewerStats): boolean => r.player === 'oclient' && r.movie === 'bars.mjpeg';
    const first = await waitFor('o5', (rows) => rows.find((r) => isOurs(r) && (r.framesReceived ?? 0) > 25));
    expect(first).toMatchObject({ pop: 'o5', state: 'playing', failovers: 0 });
    expect(first.id).toMatch(/^o5\/v\d+$/);
    expect(first.client).toMatch(/^127\.0\.6\.20:\d+$/);
    expect(first.startupMs).toBeGreaterThan(0);
    const later = await waitFor('o5', (rows) =>
      rows.find((r) => r.id === first.id && (r.framesReceived ?? 0) > (first.framesReceived ?? 0)),
    );
    expect(later.updatedAt).toBeGreaterThan(first.updatedAt);
    expect(later.fps).toBeGreaterThanOrEqual(20);
    expect(later.fps).toBeLessThanOrEqual(30);
    expect(later.bitrateKbps).toBeGreaterThan(0);
    expect(later.framesLost).toBe(0);
    expect(later.total?.framesReceived).toBeGreaterThanOrEqual(later.framesReceived ?? 0);
    // GET /status counts the reports the POP took.
    const counted = (await run.status('o5')).counters?.rtsp?.viewers;
    expect(counted?.reportsAccepted).toBeGreaterThanOrEqual(2);
    expect(counted?.reportsMalformed).toBe(0);
    const done = await client.done;
    expect(done.code, done.stderr).toBe(0);
    const gone = await waitFor('o5', (rows) => rows.find((r) => r.id === first.id && r.state === 'gone'));
    expect(gone.framesReceived).toBeGreaterThanOrEqual(later.framesReceived ?? 0);
    // Rows are named by labels: no session id (16+ hex digits, the viewer's credential) anywhere.
    expect(JSON.stringify(await viewers('o5'))).not.toMatch(/[0-9A-Fa-f]{16}/);
  }, 40_000);

  it("lists ffmpeg as an RTSP player, from its receiver reports' loss and jitter", async () => {
    requireCommands('ffmpeg');
    // ffmpeg sends a receiver report per 280 kB received: bars.mjpeg is the movie with the largest frames.
    const url = `rtsp://${run.topology.nodes.get('o5')?.clientAddresses[0]}:${PORTS.rtsp}/bars.mjpeg`;
    const args = ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'udp', '-i', url];
    const ffmpeg = new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        'ffmpeg',
        [...args, '-frames:v', '200', '-f', 'null', '-'],
        { timeout: 20_000, killSignal: 'SIGINT' },
        (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
    const row = await waitFor('o5', (rows) =>
      rows.find((r) => r.player === 'rtsp' && r.state === 'playing' && r.jitterMs !== null),
    );
    expect(row).toMatchObject({ player: 'rtsp', fps: null, startupMs: null, framesReceived: null, failovers: null });
    expect(row.jitterMs).toBeGreaterThanOrEqual(0);
    expect(row.packetsLost).toBeGreaterThanOrEqual(0);
    expect(row.fractionLost).toBeGreaterThanOrEqual(0);
    expect(row.fractionLost).toBeLessThanOrEqual(1);
    const r = await ffmpeg;
    expect(r.code, r.stderr).toBe(0);
    await waitFor('o5', (rows) => rows.find((x) => x.id === row.id && x.state === 'gone'));
  }, 40_000);
});
