import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  decodeViewerReport,
  VIEWER_STATS_CONTENT_TYPE,
  type ViewerReport,
} from '../../../common/wire/viewer-report.ts';
import { DEFAULT_REPORT_INTERVAL_MS, StatsReporter } from '../../../oclient/net/stats-reporter.ts';

const REPORT: ViewerReport = {
  v: 1,
  startupMs: 100,
  fps: 25,
  bitrateKbps: 900,
  framesReceived: 10,
  framesLost: 0,
  packetsReceived: 40,
  packetsLost: 0,
  jitterMs: 0.2,
  longestStallMs: 40,
  failovers: 0,
};

describe('StatsReporter', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends a decodable report every interval while started, none after stop', async () => {
    const sent: { type: string; body: Buffer }[] = [];
    const r = new StatsReporter(
      async (type, body) => {
        sent.push({ type, body });
        return 200;
      },
      () => REPORT,
    );
    r.start();
    expect(r.reporting).toBe(true);
    await vi.advanceTimersByTimeAsync(3 * DEFAULT_REPORT_INTERVAL_MS);
    expect(sent).toHaveLength(3);
    expect(sent[0]?.type).toBe(VIEWER_STATS_CONTENT_TYPE);
    expect(decodeViewerReport(sent[0]?.body ?? Buffer.alloc(0))).toEqual({ ok: true, value: REPORT });
    r.stop();
    await vi.advanceTimersByTimeAsync(3 * DEFAULT_REPORT_INTERVAL_MS);
    expect(sent).toHaveLength(3);
    expect(r.counters).toEqual({ sent: 3, accepted: 3, failed: 0 });
  });

  it('keeps one report in flight at most', async () => {
    let calls = 0;
    const r = new StatsReporter(
      () => {
        calls++;
        return new Promise<number>(() => {}); // the POP never answers
      },
      () => REPORT,
      100,
    );
    r.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(1);
    r.stop();
  });

  it('stops for good when the POP does not understand reports, and counts failures', async () => {
    const answers = [503, 451, 200];
    let calls = 0;
    const r = new StatsReporter(
      async () => answers[calls++] ?? 200,
      () => REPORT,
      100,
    );
    r.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(2);
    expect(r.reporting).toBe(false);
    r.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(2);
    expect(r.counters).toEqual({ sent: 2, accepted: 0, failed: 2 });
  });

  it('sends nothing with an interval of 0', async () => {
    let calls = 0;
    const r = new StatsReporter(
      async () => {
        calls++;
        return 200;
      },
      () => REPORT,
      0,
    );
    r.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(0);
    expect(r.reporting).toBe(false);
  });
});
