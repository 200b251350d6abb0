/** The bootstrapper's front desk in virtual time: logins, timeouts, caps and eviction, bad input. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_PENDING,
  MAX_PENDING_PER_ADDRESS,
  PENDING_TIMEOUT_MS,
  REFUSAL_LOG_INTERVAL_MS,
  WELCOME_CACHE_MS,
} from '../../../onode/core/bootstrap-desk.ts';
import { Registrant } from '../../../onode/core/registrant.ts';
import { ADDRESS, DeskHarness, signingKey } from './bootstrap-fixtures.ts';

const SECRET = Buffer.from('the overlay secret of this test run');

function setup(): DeskHarness {
  const h = new DeskHarness(SECRET);
  h.desk.registerSelf('b', signingKey());
  return h;
}

describe('bootstrap desk', () => {
  it('answers a login with the welcome and ends the connection', () => {
    const h = setup();
    const c = h.connect('10.9.100.20');
    c.send({ type: 'login' });
    expect(c.inbox).toHaveLength(1);
    expect(c.inbox[0]).toMatchObject({ type: 'welcome', pops: [{ name: 'p1', addresses: ['10.9.100.1'] }] });
    expect(c.inbox[0]?.type === 'welcome' && c.inbox[0].serverKeys.map((k) => k.server)).toEqual(['b']);
    expect(c.ended).toBe(true);
    // A second login on the same connection is not read.
    c.send({ type: 'login' });
    expect(c.inbox).toHaveLength(1);
    expect(h.desk.counters.logins).toBe(1);
  });

  it('builds the welcome at most once per WELCOME_CACHE_MS', () => {
    const h = setup();
    for (let i = 0; i < 5; i++) h.connect(`10.9.100.${i}`).send({ type: 'login' });
    expect(h.catalogueCalls).toBe(1);
    h.clock.advance(WELCOME_CACHE_MS);
    h.connect('10.9.100.9').send({ type: 'login' });
    expect(h.catalogueCalls).toBe(2);
  });

  it('closes a connection that neither registers nor logs in within the timeout; a registered one stays', () => {
    const h = setup();
    const idle = h.connect('10.9.50.1');
    const half = h.connect(ADDRESS.p1);
    half.send(new Registrant(SECRET, 1).register()); // challenged, never proves
    const node = h.register(ADDRESS.n1, new Registrant(SECRET, 2));
    h.clock.advance(PENDING_TIMEOUT_MS - 1);
    expect(idle.destroyed).toBe(false);
    h.clock.advance(1);
    expect(idle.destroyed).toBe(true);
    expect(half.destroyed).toBe(true);
    expect(h.directory.isRegistered('p1')).toBe(false);
    h.clock.advance(10 * PENDING_TIMEOUT_MS);
    expect(node.conn.destroyed).toBe(false);
    expect(h.desk.counters).toMatchObject({ timedOut: 2, pending: 0 });
  });

  it('caps pending connections per address: the oldest from that address makes room', () => {
    const h = setup();
    const other = h.connect('10.9.60.2');
    const flood = Array.from({ length: MAX_PENDING_PER_ADDRESS }, () => h.connect('10.9.60.1'));
    expect(flood.some((c) => c.destroyed)).toBe(false);
    const newest = h.connect('10.9.60.1');
    expect(flood[0]?.destroyed).toBe(true);
    expect(flood.slice(1).some((c) => c.destroyed)).toBe(false);
    expect(other.destroyed).toBe(false);
    expect(h.desk.counters).toMatchObject({ evicted: 1, pending: MAX_PENDING_PER_ADDRESS + 1 });
    newest.send({ type: 'login' });
    expect(newest.inbox[0]?.type).toBe('welcome');
  });

  it('caps pending connections in total: 3,000 idle connections never lock out a login or a registration', () => {
    const h = setup();
    const flood = Array.from({ length: 3000 }, (_, i) => h.connect(`10.8.${i >> 8}.${i & 255}`));
    expect(h.desk.counters.pending).toBe(MAX_PENDING);
    expect(h.desk.counters.evicted).toBe(3000 - MAX_PENDING);
    expect(flood.filter((c) => !c.destroyed)).toHaveLength(MAX_PENDING);
    // The survivors are the newest.
    expect(flood.slice(-MAX_PENDING).every((c) => !c.destroyed)).toBe(true);

    const client = h.connect('10.9.100.20');
    client.send({ type: 'login' });
    expect(client.inbox[0]?.type).toBe('welcome');
    const node = h.register(ADDRESS.n1, new Registrant(SECRET, 7));
    expect(node.registered?.type).toBe('registered');
    // A registered connection leaves the pending table (the login's stays until the client hangs up).
    expect(h.desk.counters.pending).toBe(MAX_PENDING - 1);
    for (let i = 0; i < MAX_PENDING * 2; i++) h.connect(`10.7.${i >> 8}.${i & 255}`);
    expect(node.conn.destroyed).toBe(false);
    expect(h.directory.connectionOf('n1')).toBe(node.conn.id);
  });

  it('at the total cap evicts from the address holding the most, never a topology node for a stranger', () => {
    const h = setup();
    // A node mid-registration (challenged, its proof still on the way) and a login still being served.
    const half = h.connect(ADDRESS.p1);
    half.send(new Registrant(SECRET, 3).register());
    const reading = h.connect('10.9.100.21');
    reading.send({ type: 'login' });
    // A flood from many addresses, each under the per-address cap, three times over the total.
    for (let i = 0; i < MAX_PENDING * 3; i++) h.connect(`10.6.${i % 64}.1`);
    expect(half.destroyed).toBe(false);
    expect(reading.destroyed).toBe(false);
    expect(h.desk.counters.pending).toBe(MAX_PENDING);
  });

  it('refuses what is not a bootstrap message, or not expected now', () => {
    const h = setup();
    const garbage = h.connect('10.9.70.1');
    garbage.line('GET / HTTP/1.1');
    const detail = 'expected one JSON bootstrap message per line';
    expect(garbage.inbox).toEqual([{ type: 'error', reason: 'malformed', detail }]);
    expect(garbage.ended).toBe(true);

    const banana = h.connect(ADDRESS.n1);
    banana.line('{"type":"register","pid":1,"nonce":"x","role":"banana"}');
    expect(banana.inbox[0]).toMatchObject({ type: 'error', reason: 'malformed' });

    const early = h.connect(ADDRESS.n1);
    early.send({ type: 'prove', mac: Buffer.alloc(32).toString('base64') });
    expect(early.inbox[0]).toMatchObject({ type: 'error', reason: 'unexpected' });

    const notices = h.connect(ADDRESS.n1);
    notices.send({ type: 'neighbour-down', name: 'p1' });
    expect(notices.inbox[0]).toMatchObject({ type: 'error', reason: 'unexpected' });

    const long = h.connect('10.9.70.2');
    long.line(`{"type":"login","pad":"${'x'.repeat(20_000)}"}`);
    expect(long.inbox[0]).toMatchObject({ type: 'error', reason: 'oversize' });
    expect(h.desk.counters.malformed).toBe(5);
    expect(h.directory.registered()).toEqual(['b']);
  });

  it('ignores (and counts) anything a registered node sends', () => {
    const h = setup();
    const node = h.register(ADDRESS.n1, new Registrant(SECRET, 1));
    node.conn.send({ type: 'login' });
    expect(node.conn.inbox.map((m) => m.type)).toEqual(['challenge', 'sealed']);
    expect(h.desk.counters.malformed).toBe(1);
  });

  it('logs refusals at most once per interval, saying how many it left out', () => {
    const h = setup();
    for (let i = 0; i < 50; i++) h.register(ADDRESS.n1, new Registrant(Buffer.from('a wrong secret, really wrong'), i));
    expect(h.logs.filter((l) => l.startsWith('warn:'))).toHaveLength(1);
    h.clock.advance(REFUSAL_LOG_INTERVAL_MS);
    h.register(ADDRESS.n1, new Registrant(Buffer.from('a wrong secret, really wrong'), 99));
    expect(h.logs.filter((l) => l.startsWith('warn:')).at(-1)).toMatch(/\(and 49 more refusals not logged\)$/);
    expect(h.desk.counters.badProof).toBe(51);
  });

  it('no sequence of messages without the secret registers a node or reveals a sealed answer', () => {
    const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64'));
    const step = fc.oneof(
      fc.record({ type: fc.constant('register' as const), pid: fc.nat(), nonce: b32 }),
      fc.record({ type: fc.constant('prove' as const), mac: b32 }),
      fc.record({ type: fc.constant('prove' as const), mac: b32, signingKey: b32 }),
      fc.constant({ type: 'login' as const }),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 8 }), (steps) => {
        const h = setup();
        const c = h.connect(ADDRESS.n1);
        for (const s of steps) {
          if (typeof s === 'string') c.line(s);
          else c.send(s);
        }
        expect(h.directory.isRegistered('n1')).toBe(false);
        expect(c.inbox.some((m) => m.type === 'sealed')).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('stop() cancels every timer', () => {
    const h = setup();
    for (let i = 0; i < 10; i++) h.connect(`10.9.80.${i}`);
    h.desk.stop();
    expect(h.clock.pending()).toBe(0);
    expect(h.desk.counters.pending).toBe(0);
  });
});
