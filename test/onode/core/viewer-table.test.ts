import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import type { ReportBlock } from '../../../common/wire/rtcp.ts';
import type { RtspRequest } from '../../../common/wire/rtsp.ts';
import {
  encodeViewerReport,
  VIEWER_STATS_CONTENT_TYPE,
  type ViewerReport,
} from '../../../common/wire/viewer-report.ts';
import { type RtspPeer, type RtspReply, SESSION_TIMEOUT_SEC } from '../../../onode/core/rtsp-sessions.ts';
import {
  DEFAULT_VIEWER_LIMITS,
  GONE_KEEP_MS,
  MIN_REPORT_INTERVAL_MS,
  ViewerTable,
  type ViewerTableLimits,
} from '../../../onode/core/viewer-table.ts';
import { rtspHarness, URL } from './rtsp-harness.ts';

const EPOCH = 1_700_000_000_000;

function report(over: Partial<ViewerReport> = {}): ViewerReport {
  return {
    v: 1,
    startupMs: 150,
    fps: 25,
    bitrateKbps: 800,
    framesReceived: 50,
    framesLost: 0,
    packetsReceived: 200,
    packetsLost: 0,
    jitterMs: 0.5,
    longestStallMs: 60,
    failovers: 0,
    ...over,
  };
}

function block(over: Partial<ReportBlock> = {}): ReportBlock {
  return {
    ssrc: 1,
    fractionLost: 64,
    cumulativeLost: 12,
    highestSeq: 500,
    jitter: 450,
    lastSr: 0,
    delaySinceLastSr: 0,
    ...over,
  };
}

function table(limits: Partial<ViewerTableLimits> = {}) {
  const clock = new VirtualClock();
  const t = new ViewerTable(
    { pop: 'P1', clock, wallClockMs: () => EPOCH + clock.now() },
    { ...DEFAULT_VIEWER_LIMITS, ...limits },
  );
  return { clock, t };
}

describe('ViewerTable', () => {
  it('lists a viewer from PLAY on as an RTSP player whose QoE it cannot know', () => {
    const { t } = table();
    t.played('v1', 'bars.mjpeg', '127.0.6.20:40000');
    expect(t.list()).toEqual([
      expect.objectContaining({
        id: 'P1/v1',
        pop: 'P1',
        movie: 'bars.mjpeg',
        client: '127.0.6.20:40000',
        player: 'rtsp',
        state: 'playing',
        startedAt: EPOCH,
        startupMs: null,
        fps: null,
        framesReceived: null,
        packetsLost: 0,
        fractionLost: 0,
        jitterMs: null,
      }),
    ]);
  });

  it("takes an oclient's report, and the interval's loss from its counters", () => {
    const { clock, t } = table();
    t.played('v1', 'bars.mjpeg', 'c');
    clock.advance(2000);
    expect(t.report('v1', encodeViewerReport(report({ total: { framesReceived: 90, framesLost: 1 } })))).toBe(
      'accepted',
    );
    expect(t.list()[0]).toMatchObject({
      player: 'oclient',
      fps: 25,
      bitrateKbps: 800,
      framesReceived: 50,
      startupMs: 150,
      longestStallMs: 60,
      failovers: 0,
      total: { framesReceived: 90, framesLost: 1 },
      updatedAt: EPOCH + 2000,
    });
    clock.advance(2000);
    t.report('v1', encodeViewerReport(report({ framesReceived: 100, packetsReceived: 290, packetsLost: 10 })));
    expect(t.list()[0]).toMatchObject({ framesReceived: 100, packetsLost: 10, fractionLost: 0.1 });
    expect(t.counters.reportsAccepted).toBe(2);
  });

  it("takes loss and jitter from an RTSP player's receiver reports", () => {
    const { t } = table();
    t.played('v1', 'bars.mjpeg', 'c');
    t.receiverReport('v1', []); // a keep-alive RR says nothing
    expect(t.counters.receiverReports).toBe(0);
    t.receiverReport('v1', [block()]);
    expect(t.list()[0]).toMatchObject({ player: 'rtsp', packetsLost: 12, fractionLost: 0.25, jitterMs: 5, fps: null });
  });

  it('never lets an RR (a forgeable UDP source) overwrite what an oclient reported over its connection', () => {
    const { t } = table();
    t.played('v1', 'bars.mjpeg', 'c');
    t.report('v1', encodeViewerReport(report({ packetsLost: 0 })));
    t.receiverReport('v1', [block({ cumulativeLost: 999 })]);
    expect(t.list()[0]).toMatchObject({ player: 'oclient', packetsLost: 0 });
    expect(t.counters).toMatchObject({ receiverReports: 0, receiverReportsIgnored: 1 });
  });

  it('follows PAUSE, PLAY and the end, keeps a gone viewer a while, then drops it', () => {
    const { clock, t } = table();
    t.played('v1', 'bars.mjpeg', 'c');
    t.paused('v1');
    expect(t.list()[0]?.state).toBe('paused');
    t.played('v1', 'bars.mjpeg', 'c');
    expect(t.list()[0]?.state).toBe('playing');
    t.report('v1', encodeViewerReport(report()));
    t.gone('v1');
    expect(t.list()[0]).toMatchObject({ state: 'gone', fps: 25 });
    // A gone viewer neither comes back nor takes reports.
    t.played('v1', 'bars.mjpeg', 'c');
    clock.advance(MIN_REPORT_INTERVAL_MS);
    expect(t.report('v1', encodeViewerReport(report()))).toBe('unknown');
    expect(t.list()[0]?.state).toBe('gone');
    clock.advance(GONE_KEEP_MS - MIN_REPORT_INTERVAL_MS - 1);
    expect(t.list()).toHaveLength(1);
    clock.advance(1);
    expect(t.list()).toEqual([]);
  });

  it('rate-limits reports and receiver reports per session, counting what it drops', () => {
    const { clock, t } = table();
    t.played('v1', 'm', 'c');
    t.played('v2', 'm', 'c');
    expect(t.report('v1', encodeViewerReport(report({ fps: 1 })))).toBe('accepted');
    for (let i = 0; i < 100; i++) t.report('v1', encodeViewerReport(report({ fps: 99 })));
    // Another session's budget is its own.
    expect(t.report('v2', encodeViewerReport(report()))).toBe('accepted');
    expect(t.list()[0]?.fps).toBe(1);
    expect(t.counters.reportsLimited).toBe(100);
    // RRs are limited on an RTSP player's row (an oclient's row takes none).
    t.played('v3', 'm', 'c');
    t.receiverReport('v3', [block()]);
    t.receiverReport('v3', [block({ cumulativeLost: 999 })]);
    expect(t.counters.receiverReportsLimited).toBe(1);
    clock.advance(MIN_REPORT_INTERVAL_MS);
    expect(t.report('v1', encodeViewerReport(report({ fps: 24 })))).toBe('accepted');
    expect(t.list()[0]).toMatchObject({ fps: 24, packetsLost: 0 });
  });

  it('counts and drops bad reports without touching the row', () => {
    const { clock, t } = table();
    t.played('v1', 'm', 'c');
    expect(t.report('v1', Buffer.from('nonsense'))).toBe('malformed');
    // A bad report spends the budget too: a flood of them is not parsed.
    expect(t.report('v1', Buffer.from('nonsense'))).toBe('limited');
    clock.advance(MIN_REPORT_INTERVAL_MS);
    expect(t.report('v1', Buffer.alloc(5000, 0x20))).toBe('oversize');
    clock.advance(MIN_REPORT_INTERVAL_MS);
    expect(t.report('v1', Buffer.from(JSON.stringify({ ...report(), v: 7 })))).toBe('unsupported');
    expect(t.report('nobody', encodeViewerReport(report()))).toBe('unknown');
    expect(t.list()[0]?.player).toBe('rtsp');
    expect(t.counters).toMatchObject({
      reportsMalformed: 1,
      reportsOversize: 1,
      reportsUnsupported: 1,
      reportsUnknown: 1,
      reportsLimited: 1,
      reportsAccepted: 0,
    });
  });

  it('is bounded: a gone viewer makes room, a full table of live ones leaves the newcomer unlisted', () => {
    const { t } = table({ maxRows: 3 });
    for (const l of ['v1', 'v2', 'v3']) t.played(l, 'm', 'c');
    t.gone('v2');
    t.played('v4', 'm', 'c');
    expect(t.list().map((r) => r.id)).toEqual(['P1/v1', 'P1/v3', 'P1/v4']);
    t.played('v5', 'm', 'c');
    expect(t.size).toBe(3);
    expect(t.counters.rowsRefused).toBe(1);
    // The unlisted viewer's reports are refused; the listed ones go on.
    expect(t.report('v5', encodeViewerReport(report()))).toBe('unknown');
    expect(t.report('v1', encodeViewerReport(report()))).toBe('accepted');
  });
});

describe('ViewerTable fed by RtspSessions', () => {
  const setParameter = (
    h: ReturnType<typeof rtspHarness>,
    id: string,
    body: Buffer,
    p: RtspPeer = h.peer(),
    type = VIEWER_STATS_CONTENT_TYPE,
  ): number => {
    const req: RtspRequest = {
      type: 'request',
      method: 'SET_PARAMETER',
      uri: URL,
      headers: new Map(Object.entries({ cseq: '7', session: id, 'content-type': type })),
      body,
    };
    const replies: RtspReply[] = [];
    h.sessions.handle(p, req, (r) => replies.push(r));
    return replies[0]?.status ?? 0;
  };
  const setup = () => {
    let t: ViewerTable | undefined;
    const h = rtspHarness({
      viewers: (clock) => {
        t = new ViewerTable({ pop: 'P1', clock, wallClockMs: () => EPOCH + clock.now() });
        return t;
      },
    });
    return { h, t: t as unknown as ViewerTable };
  };

  it("lists a session from PLAY, by label, with the oclient's report from the session's own connection", () => {
    const { h, t } = setup();
    const id = h.setup();
    expect(setParameter(h, id, encodeViewerReport(report()))).toBe(455); // not playing yet
    expect(h.play(id)).toBe(200);
    h.clock.advance(MIN_REPORT_INTERVAL_MS);
    expect(setParameter(h, id, encodeViewerReport(report({ fps: 25 })))).toBe(200);
    const [row] = t.list();
    expect(row).toMatchObject({ id: `P1/${h.labelOf.get(id)}`, player: 'oclient', fps: 25, state: 'playing' });
    expect(JSON.stringify(t.list())).not.toContain(id);
  });

  it('refuses a report for a session from any other connection, even from its address', () => {
    const { h, t } = setup();
    const victim = h.setup(h.peer(1));
    h.play(victim, h.peer(1));
    const forged = encodeViewerReport(report({ fps: 1, framesLost: 999 }));
    expect(setParameter(h, victim, forged, h.peer(2))).toBe(454);
    expect(setParameter(h, victim, forged, h.peer(3, '127.0.9.9'))).toBe(454);
    expect(t.list()[0]).toMatchObject({ player: 'rtsp', fps: null, framesLost: null });
    expect(h.sessions.counters.sessionNotFound).toBe(2);
  });

  it('answers a keep-alive SET_PARAMETER, refuses other parameters and bad reports with their status', () => {
    const { h } = setup();
    const id = h.setup();
    h.play(id);
    expect(setParameter(h, id, Buffer.alloc(0))).toBe(200);
    expect(setParameter(h, id, Buffer.from('volume: 3\r\n'), h.peer(), 'text/parameters')).toBe(451);
    expect(setParameter(h, id, Buffer.alloc(4096, 0x20))).toBe(413);
    h.clock.advance(MIN_REPORT_INTERVAL_MS);
    expect(setParameter(h, id, Buffer.from('{'))).toBe(400);
    h.clock.advance(MIN_REPORT_INTERVAL_MS);
    expect(setParameter(h, id, encodeViewerReport(report()))).toBe(200);
    expect(setParameter(h, id, encodeViewerReport(report()))).toBe(503);
  });

  it("feeds an RTSP player's receiver reports, PAUSE, and TEARDOWN or the timeout as gone", () => {
    const { h, t } = setup();
    const a = h.setup(h.peer(1));
    const b = h.setup(h.peer(2, '127.0.7.20'));
    h.play(a, h.peer(1));
    h.play(b, h.peer(2, '127.0.7.20'));
    h.sessions.rtcp({ address: '127.0.6.20', port: 5001 }, [{ type: 'rr', ssrc: 9, reports: [block()] }]);
    expect(t.list()[0]).toMatchObject({ packetsLost: 12, fractionLost: 0.25, jitterMs: 5 });
    h.ask('PAUSE', URL, { session: a }, h.peer(1));
    expect(t.list()[0]?.state).toBe('paused');
    h.ask('TEARDOWN', URL, { session: a }, h.peer(1));
    expect(t.list()[0]?.state).toBe('gone');
    h.clock.advance((SESSION_TIMEOUT_SEC + 2) * 1000);
    // b timed out; a, gone for longer than GONE_KEEP_MS by now, is dropped.
    expect(t.list().map((r) => [r.id, r.state])).toEqual([[`P1/${h.labelOf.get(b)}`, 'gone']]);
    h.clock.advance(GONE_KEEP_MS);
    expect(t.list()).toEqual([]);
  });
});
