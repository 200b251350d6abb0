import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  carryingParts,
  catalogueParts,
  repairRequests,
  routeParts,
  sortCatalogue,
} from '../../../common/wire/control-split.ts';
import { MAX_CARRYING, MAX_CATALOGUE, MAX_CONTROL_BODY_BYTES } from '../../../common/wire/overlay-control.ts';
import {
  type ControlMessage,
  decodeOverlay,
  encodeOverlay,
  MAX_OVERLAY_DATAGRAM,
  type MovieInfo,
  type RouteAdvert,
  type RoutesMessage,
  NONCE_BYTES,
  OVERLAY_HEADER_BYTES,
  TAG_BYTES,
} from '../../../common/wire/overlay.ts';

/** The longest sender name there is: every datagram below is measured with it. */
const SENDER = 'n'.repeat(64);
/** Datagrams carry their nonce and tag already: what is left must stay free for nothing else. */
const HEADROOM = 0;

/** 10,000 distinct names of exactly 255 bytes, built from `fill` (an ASCII or multi-byte character). */
function catalogue(fill: string): MovieInfo[] {
  return Array.from({ length: MAX_CATALOGUE }, (_, i) => {
    const head = `${String(i).padStart(5, '0')}-`;
    const room = 255 - Buffer.byteLength(head);
    const unit = Buffer.byteLength(fill);
    const name = head + fill.repeat(Math.floor(room / unit)) + 'x'.repeat(room % unit);
    return { name, fps: 29.97, width: 4096, height: 2160, frames: 4_294_967_295 };
  });
}

/** Encodes every message with the longest sender; checks the budget and the round trip; returns the datagrams. */
function onTheWire(messages: readonly ControlMessage[]): Buffer[] {
  return messages.map((m) => {
    const d = encodeOverlay(SENDER, m);
    expect(d.length - OVERLAY_HEADER_BYTES - SENDER.length - NONCE_BYTES - TAG_BYTES).toBeLessThanOrEqual(
      MAX_CONTROL_BODY_BYTES,
    );
    expect(d.length).toBeLessThanOrEqual(MAX_OVERLAY_DATAGRAM - HEADROOM);
    expect(decodeOverlay(d)).toEqual({ ok: true, value: { from: SENDER, message: m } });
    return d;
  });
}

describe('catalogueParts', () => {
  it.each([
    ['ASCII', 'a'],
    ['3-byte UTF-8', '映'],
    ['quotes (escaped twice as long in JSON)', '"'],
  ])('cuts 10,000 movies with 255-byte names (%s) into parts that each fit the budget', (_label, fill) => {
    const movies = catalogue(fill);
    const parts = catalogueParts('server-'.padEnd(64, 's'), 2 ** 48 - 1, movies);
    const datagrams = onTheWire(parts);
    expect(parts.every((p, i) => p.part === i && p.parts === parts.length)).toBe(true);
    expect(parts.flatMap((p) => p.movies)).toEqual(sortCatalogue(movies));
    // Full parts: the greedy packing wastes less than one entry per datagram.
    const bytes = datagrams.reduce((n, d) => n + d.length, 0);
    expect(bytes / datagrams.length).toBeGreaterThan(MAX_CONTROL_BODY_BYTES - 600);
    const what = `catalogue of 10,000 x 255-byte names (${_label})`;
    process.stdout.write(`${what}: ${parts.length} datagrams, ${bytes} bytes\n`);
  });

  it('gives the same parts for the same catalogue in any order, and one empty part for an empty catalogue', () => {
    const movies = catalogue('b').slice(0, 500);
    expect(catalogueParts('s1', 7, [...movies].reverse())).toEqual(catalogueParts('s1', 7, movies));
    const empty = { type: 'catalogue', server: 's1', cv: 7, part: 0, parts: 1, movies: [] };
    expect(catalogueParts('s1', 7, [])).toEqual([empty]);
    expect(() => catalogueParts('s1', 7, [...movies, ...catalogue('c')])).toThrow(RangeError);
  });
});

describe('carryingParts', () => {
  it('sends a short list as one plain message', () => {
    const plain = { type: 'carrying', movies: ['a', 'b'], roots: ['s1', 's2'] };
    expect(carryingParts(4, ['a', 'b'], ['s1', 's2'])).toEqual([plain]);
  });

  it('cuts a long list into numbered parts of one announcement, each within the budget', () => {
    const movies = catalogue('é')
      .slice(0, 300)
      .map((m) => m.name);
    const roots = movies.map((_, i) => `server-${i % 7}`.padEnd(64, '.'));
    const parts = carryingParts(9, movies, roots);
    onTheWire(parts);
    expect(parts.length).toBeGreaterThanOrEqual(100);
    expect(parts.every((p, i) => p.version === 9 && p.part === i && p.parts === parts.length)).toBe(true);
    expect(parts.flatMap((p) => p.movies)).toEqual(movies);
    expect(parts.flatMap((p) => p.roots ?? [])).toEqual(roots);
  });

  it('announces at most MAX_CARRYING movies', () => {
    const movies = Array.from({ length: MAX_CARRYING + 5 }, (_, i) => `m${i}`);
    const parts = carryingParts(
      1,
      movies,
      movies.map(() => 's'),
    );
    expect(parts.flatMap((p) => p.movies)).toEqual(movies.slice(0, MAX_CARRYING));
  });
});

describe('repairRequests', () => {
  it('asks for a gap of any size in as many requests as it takes, each within the budget', () => {
    const seqs = Array.from({ length: 1000 }, (_, i) => (65000 + i) & 0xffff);
    const movie = 'ç'.repeat(127);
    const requests = repairRequests(movie, 0xffffffff, seqs);
    onTheWire(requests);
    expect(requests.flatMap((r) => r.seqs ?? [])).toEqual(seqs);
    expect(requests.length).toBeGreaterThanOrEqual(Math.ceil(1000 / 256));
    expect(repairRequests('m', 1, [])).toEqual([]);
  });

  it('loses and invents no sequence number, for any list', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 0xffff }), { maxLength: 3000 }), (seqs) => {
        const requests = repairRequests('movie.mjpeg', 5, seqs);
        expect(requests.flatMap((r) => r.seqs ?? [])).toEqual(seqs);
        for (const r of requests) {
          expect(encodeOverlay(SENDER, r).length).toBeLessThanOrEqual(MAX_OVERLAY_DATAGRAM - HEADROOM);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('routeParts', () => {
  const name = fc.oneof(
    fc.constantFrom('a"b', 'back\\slash', 'ç'.repeat(32), 'n'.repeat(64), '\u0001ctl', '日本', 'x'),
    fc.stringMatching(/^[a-z0-9-]{1,12}$/),
  );
  const advert: fc.Arbitrary<RouteAdvert> = fc.record({
    server: name,
    seq: fc.nat(),
    latencyMs: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 5000 })),
    hops: fc.nat({ max: 64 }),
    cv: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    path: fc.array(name, { minLength: 1, maxLength: 12 }),
  });

  it('sends a short update as one message, as it is', () => {
    const r: RouteAdvert = { server: 's1', seq: 3, latencyMs: 12.5, hops: 2, cv: 7, path: ['a', 'b', 's1'] };
    expect(routeParts(false, [r], ['s2'])).toEqual([{ type: 'routes', routes: [r], withdrawn: ['s2'] }]);
    expect(routeParts(true, [], [])).toEqual([{ type: 'routes', reset: true, routes: [], withdrawn: [] }]);
    expect(routeParts(false, [], [])).toEqual([]);
  });

  it('cuts any update into parts within the budget that lose, invent and reorder nothing', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(advert, { maxLength: 300 }),
        fc.array(name, { maxLength: 300 }),
        fc.array(fc.record({ server: name, seq: fc.nat() }), { maxLength: 20 }),
        (reset, routes, withdrawn, gone) => {
          const parts = routeParts(reset, routes, withdrawn, gone);
          onTheWire(parts);
          expect(parts.flatMap((p) => p.routes)).toEqual(routes);
          expect(parts.flatMap((p) => p.withdrawn)).toEqual(withdrawn);
          expect(parts.flatMap((p: RoutesMessage) => p.gone ?? [])).toEqual(gone);
          expect(parts.map((p) => p.reset === true)).toEqual(parts.map((_, i) => reset && i === 0));
        },
      ),
      { numRuns: 60 },
    );
  });
});
