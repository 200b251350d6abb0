/** Telemetry reports at the bootstrapper's desk: only a registered node's, MAC'd for its connection, in order. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTelemetryReport, type TelemetryReport } from '../../../common/wire/dashboard-api.ts';
import { MAX_REPORTS_PER_SECOND } from '../../../onode/core/bootstrap-desk.ts';
import { Registrant } from '../../../onode/core/registrant.ts';
import { ADDRESS, DeskHarness, signingKey } from './bootstrap-fixtures.ts';

const SECRET = Buffer.from('the overlay secret of this test run');
const REPORT: TelemetryReport = {
  at: 5,
  events: [{ kind: 'link-down', agoMs: 3, peer: 'p1' }],
  neighbours: [{ name: 'p1', alive: false, rttMs: null, cut: false }],
  droppedEvents: 0,
};

function setup() {
  const h = new DeskHarness(SECRET);
  h.desk.registerSelf('b', signingKey());
  const me = new Registrant(SECRET, 7);
  const node = h.register(ADDRESS.n1, me);
  return { h, me, conn: node.conn };
}

describe('bootstrap desk: telemetry reports', () => {
  it('passes on a registered node’s reports and says who registered and who went', () => {
    const { h, me, conn } = setup();
    conn.send(me.report(JSON.stringify(REPORT))!);
    conn.send(me.report(JSON.stringify({ ...REPORT, at: 6 }))!);
    expect(h.reports).toEqual([
      { name: 'n1', report: REPORT },
      { name: 'n1', report: { ...REPORT, at: 6 } },
    ]);
    expect(h.desk.counters).toMatchObject({ reports: 2, badReports: 0 });
    conn.close();
    expect(h.membership).toEqual(['n1 registered', 'n1 gone']);
  });

  it('refuses and counts reports with a bad MAC, replayed, with a garbage body, from another node’s key', () => {
    const { h, me, conn } = setup();
    const good = me.report(JSON.stringify(REPORT));
    if (good?.type !== 'report') throw new Error('no report');
    conn.send({ ...good, mac: Buffer.alloc(32, 1).toString('base64') });
    conn.send(good);
    conn.send(good); // replayed
    conn.send(me.report('{"at": "soon"}')!);
    conn.send(me.report('not json')!);
    const stranger = new Registrant(SECRET, 8);
    stranger.prove({ name: 'n1', nonce: Buffer.alloc(32).toString('base64') });
    conn.send(stranger.report(JSON.stringify(REPORT))!);
    expect(h.reports).toHaveLength(1);
    expect(h.desk.counters).toMatchObject({ reports: 1, badReports: 5 });
    // An oversize line from a registered node is dropped and counted; the registration stays.
    h.desk.oversize(conn.id);
    expect(conn.destroyed).toBe(false);
    expect(h.desk.counters.badReports).toBe(6);
    expect(h.directory.isRegistered('n1')).toBe(true);
  });

  it('takes at most MAX_REPORTS_PER_SECOND reports a second from a node, dropping the rest', () => {
    const { h, me, conn } = setup();
    for (let i = 0; i < 20; i++) conn.send(me.report(JSON.stringify({ ...REPORT, at: i }))!);
    expect(h.reports).toHaveLength(MAX_REPORTS_PER_SECOND);
    expect(h.desk.counters).toMatchObject({
      reports: MAX_REPORTS_PER_SECOND,
      reportsLimited: 20 - MAX_REPORTS_PER_SECOND,
    });
    h.clock.advance(1000);
    conn.send(me.report(JSON.stringify({ ...REPORT, at: 99 }))!);
    expect(h.reports).toHaveLength(MAX_REPORTS_PER_SECOND + 1);
  });

  it('a report before registering is refused like any unexpected message', () => {
    const h = new DeskHarness(SECRET);
    const me = new Registrant(SECRET, 7);
    me.prove({ name: 'n1', nonce: Buffer.alloc(32).toString('base64') });
    const c = h.connect(ADDRESS.n1);
    c.send(me.report(JSON.stringify(REPORT))!);
    expect(c.inbox[0]).toMatchObject({ type: 'error', reason: 'unexpected' });
    expect(h.reports).toHaveLength(0);
  });
});

describe('decodeTelemetryReport', () => {
  it('never throws: random text and random JSON are refused or decoded', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const d = decodeTelemetryReport(text);
        expect(typeof d.ok).toBe('boolean');
      }),
    );
    expect(decodeTelemetryReport(JSON.stringify({ ...REPORT, events: [{ kind: 'party', agoMs: 1 }] }))).toEqual({
      ok: false,
    });
    // Membership and failover events are the bootstrapper's to make, never a node's to report.
    for (const kind of ['registered', 'gone', 'failover'])
      expect(decodeTelemetryReport(JSON.stringify({ ...REPORT, events: [{ kind, agoMs: 1 }] }))).toEqual({ ok: false });
    // A node up for 30 days: its clock is past 2^31 ms, its reports still decode.
    expect(decodeTelemetryReport(JSON.stringify({ ...REPORT, at: 30 * 86_400_000 })).ok).toBe(true);
    expect(decodeTelemetryReport(JSON.stringify(REPORT))).toEqual({ ok: true, value: REPORT });
  });
});
