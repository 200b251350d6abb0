import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import { catalogueParts } from '../../../common/wire/control-split.ts';
import type { CatalogueMessage, CatalogueRequestMessage, MovieInfo } from '../../../common/wire/overlay.ts';
import { catalogueDigest } from '../../../onode/core/catalogue-digest.ts';
import {
  CATALOGUE_MAX_STALLS,
  CATALOGUE_RETRY_MS,
  CATALOGUE_WINDOW,
  CatalogueSync,
  MAX_ASSEMBLY_BYTES,
  NO_CATALOGUE_COUNTERS,
} from '../../../onode/core/catalogue-sync.ts';
import { RouteTable } from '../../../onode/core/route-table.ts';

const RESTART_MS = 2000;
const RTT_MS = 2;

function movies(count: number, bytes: number): MovieInfo[] {
  return Array.from({ length: count }, (_, i) => {
    const head = `${String(i).padStart(5, '0')}-`;
    return { name: head + 'x'.repeat(bytes - head.length), fps: 25, width: 320, height: 240, frames: 100 };
  });
}

type Sent = { to: string; msg: CatalogueRequestMessage | CatalogueMessage; at: number };

function harness(own: readonly MovieInfo[] | null = null) {
  const clock = new VirtualClock();
  const routes = new RouteTable();
  const sent: Sent[] = [];
  const counters = { ...NO_CATALOGUE_COUNTERS };
  const sync = new CatalogueSync(
    {
      self: 'me',
      clock,
      routes,
      rttMs: () => RTT_MS,
      send: (to, msg) => sent.push({ to, msg, at: clock.now() }),
      ownCatalogue: () => own,
    },
    counters,
    RESTART_MS,
  );
  /** A probe from `via` announcing `cv` for `server`, and the fetch it starts. */
  const announce = (server: string, cv: number, via = 'n1', seq = 1): void => {
    routes.update({ server, via, latencyMs: 1, hops: 1, seq, updatedAt: clock.now() }, cv);
    sync.want(via, server, cv);
  };
  const requests = () =>
    sent.filter((s): s is Sent & { msg: CatalogueRequestMessage } => s.msg.type === 'catalogue-request');
  return { clock, routes, sent, counters, sync, announce, requests };
}

describe('CatalogueSync: fetching', () => {
  it('asks a window at a time, again only for what is missing, and installs the whole once its digest matches', () => {
    const h = harness();
    const catalogue = movies(2000, 100);
    const cv = catalogueDigest(catalogue);
    const parts = catalogueParts('s1', cv, catalogue);
    expect(parts.length).toBeGreaterThan(CATALOGUE_WINDOW);
    h.announce('s1', cv);
    expect(h.requests().map((r) => r.msg)).toEqual([{ type: 'catalogue-request', server: 's1', cv }]);
    // The first window arrives but for part 5, lost.
    for (const p of parts.slice(0, CATALOGUE_WINDOW)) if (p.part !== 5) h.sync.onCatalogue('n1', p);
    expect(h.requests()).toHaveLength(1); // part 5 still outstanding: wait for it
    h.clock.advance(CATALOGUE_RETRY_MS + 2 * RTT_MS);
    const second = h.requests()[1]!.msg;
    expect(second.parts).toEqual([5, ...Array.from({ length: CATALOGUE_WINDOW - 1 }, (_, i) => CATALOGUE_WINDOW + i)]);
    // Each round that is in gets the next one asked at once, not after the retry delay.
    for (let round = 1; h.routes.catalogueOf('s1') === undefined; round++) {
      expect(h.requests()).toHaveLength(round + 1);
      for (const i of h.requests()[round]!.msg.parts!) h.sync.onCatalogue('n1', parts[i]!);
    }
    // No time passed in the loop: every round after the lost part was asked as the one before completed.
    expect(
      h
        .requests()
        .slice(1)
        .every((r) => r.at === CATALOGUE_RETRY_MS + 2 * RTT_MS),
    ).toBe(true);
    expect(h.routes.catalogueOf('s1')?.movies).toEqual(catalogue);
    expect(h.counters).toMatchObject({ cataloguesInstalled: 1, catalogueRejected: 0, cataloguePartsIn: parts.length });
    expect(h.sync.pending()).toEqual([]);
    expect(h.sync.pendingBytes).toBe(0);
  });

  it('gives up after CATALOGUE_MAX_STALLS silent rounds, paced, and starts over on a later probe', () => {
    const h = harness();
    h.announce('s1', 42);
    h.clock.advance(10_000);
    const times = h.requests().map((r) => r.at);
    expect(times).toHaveLength(CATALOGUE_MAX_STALLS + 1);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(CATALOGUE_RETRY_MS + 2 * RTT_MS);
    expect(h.counters.catalogueAbandoned).toBe(1);
    expect(h.sync.pending()).toEqual([]);
    h.sync.want('n2', 's1', 42);
    expect(h.requests().at(-1)).toMatchObject({ to: 'n2', msg: { type: 'catalogue-request', server: 's1', cv: 42 } });
  });

  it('starts over at most once per probe interval, however many probes show the digest', () => {
    const h = harness();
    h.announce('s1', 42);
    h.clock.advance(10_000); // given up
    h.sync.want('n1', 's1', 42);
    h.sync.want('n1', 's1', 42);
    h.clock.advance(100);
    h.sync.want('n2', 's1', 42);
    expect(h.requests().filter((r) => r.at >= 10_000)).toHaveLength(1);
  });

  it('keeps one assembly per server: a new digest replaces the fetch of the old one', () => {
    const h = harness();
    const a = movies(10, 20);
    const b = movies(12, 20);
    h.announce('s1', catalogueDigest(a));
    h.clock.advance(RESTART_MS);
    h.announce('s1', catalogueDigest(b), 'n1', 2);
    expect(h.sync.pending()).toEqual(['s1']);
    for (const p of catalogueParts('s1', catalogueDigest(a), a)) h.sync.onCatalogue('n1', p);
    expect(h.counters.catalogueUnsolicited).toBe(1);
    for (const p of catalogueParts('s1', catalogueDigest(b), b)) h.sync.onCatalogue('n1', p);
    expect(h.routes.catalogueOf('s1')?.movies).toEqual(b);
  });

  it('drops parts nobody asked for, from another neighbour or of another part count; refuses a forged whole', () => {
    const h = harness();
    const genuine = movies(5, 20);
    const cv = catalogueDigest(genuine);
    const forged: MovieInfo[] = [{ name: 'pwned.mjpeg', fps: 25, width: 1, height: 1, frames: 1 }];
    const part = (fields: Partial<CatalogueMessage>): CatalogueMessage => ({
      type: 'catalogue',
      server: 's1',
      cv,
      part: 0,
      parts: 1,
      movies: forged,
      ...fields,
    });
    h.sync.onCatalogue('n1', part({})); // nothing asked
    h.announce('s1', cv);
    h.sync.onCatalogue('n2', part({})); // not asked of n2
    h.sync.onCatalogue('n1', part({ cv: cv + 1 })); // another digest
    expect(h.counters.catalogueUnsolicited).toBe(3);
    h.sync.onCatalogue('n1', part({ parts: 2 }));
    h.sync.onCatalogue('n1', part({ movies: genuine })); // another part count
    expect(h.counters.catalogueUnsolicited).toBe(4);
    h.sync.onCatalogue('n1', part({ part: 1, parts: 2, movies: [] }));
    // Complete, but its digest is not the announced one: refused, and nothing installed.
    expect(h.counters.catalogueRejected).toBe(1);
    expect(h.routes.catalogueOf('s1')).toBeUndefined();
    // Repeated names are refused even with the right digest of what arrived.
    const twice = [...genuine, genuine[0]!];
    const h2 = harness();
    h2.announce('s1', catalogueDigest(twice));
    h2.sync.onCatalogue('n1', part({ cv: catalogueDigest(twice), movies: twice }));
    expect(h2.counters.catalogueRejected).toBe(1);
    expect(h2.routes.catalogueOf('s1')).toBeUndefined();
  });

  it(`holds at most MAX_ASSEMBLY_BYTES (${MAX_ASSEMBLY_BYTES / 2 ** 20} MiB) in partial assemblies`, () => {
    const h = harness();
    const big = movies(10_000, 255);
    const cv = catalogueDigest(big);
    let highest = 0;
    const servers = Array.from({ length: 8 }, (_, i) => `s${i}`);
    for (const server of servers) {
      h.announce(server, cv);
      const parts = catalogueParts(server, cv, big);
      for (const p of parts.slice(0, -1)) {
        h.sync.onCatalogue('n1', p);
        highest = Math.max(highest, h.sync.pendingBytes);
      }
    }
    expect(highest).toBeLessThanOrEqual(MAX_ASSEMBLY_BYTES);
    expect(highest).toBeGreaterThan(MAX_ASSEMBLY_BYTES * 0.8);
    expect(h.counters.catalogueAbandoned).toBeGreaterThan(0);
    // Those past the cap were given up (a later probe asks again), the others are still in flight.
    expect(h.sync.pending().length).toBeLessThan(servers.length);
    expect(h.sync.pending().length + h.counters.catalogueAbandoned).toBe(servers.length);
  }, 60_000);
});

describe('CatalogueSync: serving', () => {
  it('serves its own catalogue: the first window without part numbers, exactly the parts asked for with them', () => {
    const own = movies(1000, 100);
    const cv = catalogueDigest(own);
    const parts = catalogueParts('me', cv, own);
    const h = harness(own);
    h.sync.onRequest('n1', { type: 'catalogue-request', server: 'me', cv });
    expect(h.sent.map((s) => s.msg)).toEqual(parts.slice(0, CATALOGUE_WINDOW));
    h.sent.length = 0;
    const some = [3, parts.length - 1, parts.length + 5];
    h.sync.onRequest('n1', { type: 'catalogue-request', server: 'me', cv, parts: some });
    expect(h.sent.map((s) => s.msg)).toEqual([parts[3], parts.at(-1)]);
    h.sent.length = 0;
    h.sync.onRequest('n1', { type: 'catalogue-request', server: 'me', cv: cv + 1 }); // a digest it does not have
    h.sync.onRequest('n1', { type: 'catalogue-request', server: 'other', cv });
    expect(h.sent).toEqual([]);
  });

  it('passes on the parts of a catalogue it is still assembling, and the missing ones as they arrive', () => {
    const catalogue = movies(300, 100);
    const cv = catalogueDigest(catalogue);
    const parts = catalogueParts('s1', cv, catalogue);
    const h = harness();
    h.announce('s1', cv);
    h.sync.onCatalogue('n1', parts[0]!);
    h.sync.onCatalogue('n1', parts[2]!);
    h.sent.length = 0;
    h.sync.onRequest('p1', { type: 'catalogue-request', server: 's1', cv, parts: [0, 1, 2] });
    expect(h.sent.map((s) => [s.to, s.msg])).toEqual([
      ['p1', parts[0]],
      ['p1', parts[2]],
    ]);
    h.sent.length = 0;
    h.sync.onCatalogue('n1', parts[1]!);
    expect(h.sent.filter((s) => s.to === 'p1').map((s) => s.msg)).toEqual([parts[1]]);
  });
});
