/** Time requests at the bootstrapper's desk: a registered node's, answered sealed with the reference clock. */
import { describe, expect, it } from 'vitest';
import { MAX_TIME_REQUESTS, TIME_REQUEST_WINDOW_MS } from '../../../onode/core/bootstrap-desk.ts';
import { Registrant } from '../../../onode/core/registrant.ts';
import { ADDRESS, DeskHarness, signingKey } from './bootstrap-fixtures.ts';

const SECRET = Buffer.from('the overlay secret of this test run');

function setup(referenceNow?: () => number) {
  const h = new DeskHarness(SECRET, undefined, referenceNow);
  h.desk.registerSelf('b', signingKey());
  const me = new Registrant(SECRET, 7, signingKey());
  const node = h.register(ADDRESS.s2, me);
  return { h, me, conn: node.conn };
}

describe('bootstrap desk: time', () => {
  it('answers a registered node sealed, echoing id and t0, with the injected reference clock', () => {
    const { h, me, conn } = setup(() => 1_764_000_000_000.5);
    h.clock.advance(30);
    conn.send({ type: 'time', id: 1, t0: 12.25 });
    expect(conn.notices(me)).toEqual([{ type: 'time', id: 1, t0: 12.25, at: 1_764_000_000_000.5 }]);
    expect(h.desk.counters).toMatchObject({ timeAnswered: 1, timeLimited: 0, malformed: 0 });
    expect(conn.destroyed || conn.ended).toBe(false);
  });

  it('the reference defaults to the desk’s clock', () => {
    const { h, me, conn } = setup();
    h.clock.advance(1234);
    conn.send({ type: 'time', id: 9, t0: -5 });
    expect(conn.notices(me)).toEqual([{ type: 'time', id: 9, t0: -5, at: 1234 }]);
  });

  it(`answers ${MAX_TIME_REQUESTS} per ${TIME_REQUEST_WINDOW_MS} ms at most, drops the rest, stays connected`, () => {
    const { h, me, conn } = setup();
    for (let id = 1; id <= MAX_TIME_REQUESTS + 5; id++) {
      conn.send({ type: 'time', id, t0: id });
      h.clock.advance(100); // within the line budget: only the time budget limits
    }
    expect(h.desk.counters).toMatchObject({ timeAnswered: MAX_TIME_REQUESTS, timeLimited: 5 });
    expect(conn.destroyed || conn.ended).toBe(false);
    h.clock.advance(TIME_REQUEST_WINDOW_MS);
    conn.send({ type: 'time', id: 100, t0: 100 });
    // (notices() opens every answer once: the Registrant refuses a replay.)
    const answers = conn.notices(me);
    expect(answers).toHaveLength(MAX_TIME_REQUESTS + 1);
    expect(answers.at(-1)).toMatchObject({ type: 'time', id: 100 });
  });

  it('a time request before registering is refused like any unexpected message', () => {
    const h = new DeskHarness(SECRET);
    const c = h.connect(ADDRESS.n1);
    c.send({ type: 'time', id: 1, t0: 1 });
    expect(c.inbox[0]).toMatchObject({ type: 'error', reason: 'unexpected' });
    expect(h.desk.counters.timeAnswered).toBe(0);
  });

  it('a forged time answer in a seal that is not the bootstrapper’s is refused by the node', () => {
    const { me } = setup();
    const opened = me.open({
      seq: 1,
      body: JSON.stringify({ type: 'time', id: 1, t0: 1, at: 99 }),
      mac: `${'x'.repeat(43)}=`,
    });
    expect(opened).toEqual({ ok: false, reason: 'bad-mac' });
  });
});
