import fc from 'fast-check';
import { MAX_MOVIE_DIMENSION } from '../../../common/wire/movie-info-schema.ts';
import { describe, expect, it } from 'vitest';
import { isMovieName } from '../../../common/wire/names.ts';
import {
  CONTROL_SCHEMAS,
  decodeControlBody,
  MAX_CATALOGUE_PARTS,
  MAX_CONTROL_BODY_BYTES,
  MAX_DIGEST,
  MAX_MOVIES_PER_PART,
  MAX_NAK_DETAIL,
  MAX_PARTS_PER_REQUEST,
  MAX_REPAIR_SEQS,
} from '../../../common/wire/overlay-control.ts';
import {
  type ControlMessage,
  decodeOverlay,
  encodeOverlay,
  MAX_OVERLAY_DATAGRAM,
  MessageType,
  NONCE_BYTES,
  TAG_BYTES,
  OVERLAY_MAGIC,
  OVERLAY_VERSION,
  type OverlayMessage,
} from '../../../common/wire/overlay.ts';

/** A version-2 datagram from 'a' with a zero nonce and tag (decodeOverlay reads bodies; the tag is overlay-auth's). */
function datagram(type: number, body: string): Buffer {
  return Buffer.concat([
    Buffer.from([OVERLAY_MAGIC, OVERLAY_VERSION, type, 1, 0x61]),
    Buffer.alloc(NONCE_BYTES),
    Buffer.from(body),
    Buffer.alloc(TAG_BYTES),
  ]);
}

const decodeJson = (type: number, fields: unknown) => decodeOverlay(datagram(type, JSON.stringify(fields)));
const MALFORMED = { ok: false, reason: 'malformed' };
const EVIL = '../../etc/passwd';
const tuple = (name: string, fps = 25) => [name, fps, 320, 240, 10];

describe('control bodies: one schema per type', () => {
  it('has a schema for every control type', () => {
    expect(Object.keys(CONTROL_SCHEMAS).sort()).toEqual([
      'carrying',
      'catalogue',
      'catalogue-request',
      'join',
      'join-ack',
      'leave',
      'nak',
      'ping',
      'pong',
      'repair',
      'routes',
      'routes-request',
    ]);
  });

  it('refuses movie names that are paths, directories or control characters, in every message that carries one', () => {
    for (const movie of [EVIL, '..', '.', 'a/b', 'a\\b', 'bell\u0007', 'x'.repeat(256)]) {
      expect(decodeJson(MessageType.leave, { movie }), movie).toEqual(MALFORMED);
      expect(decodeJson(MessageType.join, { movie, path: ['a'] })).toEqual(MALFORMED);
      expect(decodeJson(MessageType.joinAck, { movie, rootPath: ['s'] })).toEqual(MALFORMED);
      expect(decodeJson(MessageType.nak, { movie, reason: 'loop', detail: '' })).toEqual(MALFORMED);
      expect(decodeJson(MessageType.repair, { movie, ssrc: 1, after: 2 })).toEqual(MALFORMED);
      expect(decodeJson(MessageType.carrying, { movies: ['ok', movie] })).toEqual(MALFORMED);
      const part = { server: 's', cv: 1, part: 0, parts: 1, movies: [tuple('ok'), tuple(movie)] };
      expect(decodeJson(MessageType.catalogue, part)).toEqual(MALFORMED);
    }
  });

  it('routes: a digest of at most 48 bits is required; a catalogue in it is ignored', () => {
    const route = (cv: unknown, path: unknown = ['a', 's']) => ({ routes: [['s', 1, 1, 0, cv, path]], withdrawn: [] });
    expect(decodeJson(MessageType.routes, { routes: [['s', 1, 1, 0, ['s']]], withdrawn: [] })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.routes, route(MAX_DIGEST + 1))).toEqual(MALFORMED);
    expect(decodeJson(MessageType.routes, route(-1))).toEqual(MALFORMED);
    expect(decodeJson(MessageType.routes, route(1.5))).toEqual(MALFORMED);
    expect(decodeJson(MessageType.routes, route(1, ['x'.repeat(65)]))).toEqual(MALFORMED);
    expect(decodeJson(MessageType.routes, route(1, Array(65).fill('a')))).toEqual(MALFORMED);
    // A forged update with a catalogue in it is an update, nothing more.
    const forged = decodeJson(MessageType.routes, { ...route(MAX_DIGEST), catalogue: [{ name: 'pwned.mjpeg' }] });
    const advert = { server: 's', seq: 1, latencyMs: 1, hops: 0, cv: MAX_DIGEST, path: ['a', 's'] };
    expect(forged).toEqual({
      ok: true,
      value: { from: 'a', message: { type: 'routes', routes: [advert], withdrawn: [] } },
    });
  });

  it('routes: every field of a route is checked, and items after the sixth are ignored', () => {
    const routes = (r: unknown) => ({ routes: [r], withdrawn: [] });
    const good = ['s', 1, 2.5, 3, 4, ['a', 's']];
    for (const [i, bad] of [
      [0, ''],
      [0, 'x'.repeat(65)],
      [0, 7],
      [0, '\ud800'],
      [1, -1],
      [1, 2 ** 32],
      [1, 1.5],
      [2, -0.5],
      [2, '1'],
      [3, 0.5],
      [3, null],
      [5, []],
      [5, 'a,s'],
      [5, ['a', 5]],
      [5, ['a', '\udc00']],
    ] as const) {
      const r: unknown[] = [...good];
      r[i] = bad;
      expect(decodeJson(MessageType.routes, routes(r)), `${i}: ${JSON.stringify(bad)}`).toEqual(MALFORMED);
    }
    for (const bad of [null, 'route', { 0: 's' }, good.slice(0, 5)]) {
      expect(decodeJson(MessageType.routes, routes(bad))).toEqual(MALFORMED);
    }
    const later = decodeJson(MessageType.routes, routes([...good, 'a later field', { x: 1 }]));
    const advert = { server: 's', seq: 1, latencyMs: 2.5, hops: 3, cv: 4, path: ['a', 's'] };
    expect(later).toEqual({
      ok: true,
      value: { from: 'a', message: { type: 'routes', routes: [advert], withdrawn: [] } },
    });
  });

  it('catalogue-request: at most MAX_PARTS_PER_REQUEST part numbers below MAX_CATALOGUE_PARTS', () => {
    expect(decodeJson(MessageType.catalogueRequest, { server: 's' })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.catalogueRequest, { server: 's', cv: 1, parts: 3 })).toEqual(MALFORMED);
    const beyond = { server: 's', cv: 1, parts: [MAX_CATALOGUE_PARTS] };
    expect(decodeJson(MessageType.catalogueRequest, beyond)).toEqual(MALFORMED);
    expect(decodeJson(MessageType.catalogueRequest, { server: 's', cv: 1, parts: [-1] })).toEqual(MALFORMED);
    const many = Array.from({ length: MAX_PARTS_PER_REQUEST + 1 }, (_, i) => i);
    expect(decodeJson(MessageType.catalogueRequest, { server: 's', cv: 1, parts: many })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.catalogueRequest, { server: 's', cv: 1, parts: many.slice(1) }).ok).toBe(true);
  });

  it('catalogue: part below parts, at most MAX_MOVIES_PER_PART tuples of [name, fps>0, width, height, frames]', () => {
    const part = { server: 's', cv: 9, part: 0, parts: 1, movies: [tuple('m')] };
    expect(decodeJson(MessageType.catalogue, part).ok).toBe(true);
    expect(decodeJson(MessageType.catalogue, { ...part, part: 1 })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.catalogue, { ...part, parts: 0 })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.catalogue, { ...part, part: 0, parts: MAX_CATALOGUE_PARTS + 1 })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.catalogue, { ...part, cv: undefined })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.catalogue, { ...part, movies: [tuple('m', 0)] })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.catalogue, { ...part, movies: [['m', 25, 320, 240]] })).toEqual(MALFORMED);
    const objects = [{ name: 'm', fps: 25, width: 1, height: 1, frames: 1 }];
    expect(decodeJson(MessageType.catalogue, { ...part, movies: objects })).toEqual(MALFORMED);
    const many = Array.from({ length: MAX_MOVIES_PER_PART + 1 }, (_, i) => [`${i}`, 1, 1, 1, 1]);
    expect(decodeJson(MessageType.catalogue, { ...part, movies: many })).toEqual(MALFORMED);
  });

  it('repair: exactly one of after and seqs, at most MAX_REPAIR_SEQS 16-bit numbers', () => {
    expect(decodeJson(MessageType.repair, { movie: 'm', ssrc: 1 })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.repair, { movie: 'm', ssrc: 1, after: 1, seqs: [2] })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.repair, { movie: 'm', ssrc: 1, seqs: [65536] })).toEqual(MALFORMED);
    const seqs = new Array(MAX_REPAIR_SEQS + 1).fill(1);
    expect(decodeJson(MessageType.repair, { movie: 'm', ssrc: 1, seqs })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.repair, { movie: 'm', ssrc: 2 ** 32, after: 1 })).toEqual(MALFORMED);
  });

  it('carrying: roots match movies; a part number comes with the count and the announcement, or nothing does', () => {
    expect(decodeJson(MessageType.carrying, { movies: ['a', 'b'], roots: ['s'] })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.carrying, { movies: ['a'], part: 0 })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.carrying, { movies: ['a'], part: 0, parts: 2 })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.carrying, { movies: ['a'], version: 1, part: 2, parts: 2 })).toEqual(MALFORMED);
    expect(decodeJson(MessageType.carrying, { movies: ['a'], version: 1, part: 1, parts: 2 }).ok).toBe(true);
  });

  it("refuses a body over MAX_CONTROL_BODY_BYTES as 'oversize' although the datagram fits", () => {
    const body = `{"movie":"m"${' '.repeat(MAX_CONTROL_BODY_BYTES)}}`;
    expect(datagram(MessageType.leave, body).length).toBeLessThan(MAX_OVERLAY_DATAGRAM);
    expect(decodeOverlay(datagram(MessageType.leave, body))).toEqual({ ok: false, reason: 'oversize' });
    expect(decodeControlBody('leave', Buffer.from(body))).toEqual({ ok: false, reason: 'oversize' });
  });

  it("shortens a NAK's detail to fit, keeping it valid UTF-8", () => {
    const movie = 'ç'.repeat(127);
    const msg: ControlMessage = { type: 'nak', movie, reason: 'no-route', detail: `${'lost 😀 '.repeat(400)}` };
    const out = decodeOverlay(encodeOverlay('n'.repeat(64), msg));
    expect(out.ok).toBe(true);
    const detail = out.ok && out.value.message.type === 'nak' ? out.value.message.detail : '';
    expect(detail.length).toBeGreaterThan(100);
    expect(detail.length).toBeLessThanOrEqual(MAX_NAK_DETAIL);
    expect(msg.detail.startsWith(detail)).toBe(true);
    expect(/[\ud800-\udbff]$/.test(detail)).toBe(false);
  });

  it('never throws on random JSON behind any control type, and refuses what its schema does not allow', () => {
    const types = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
    const anyJson = fc.property(fc.constantFrom(...types), fc.json(), (type, json) => {
      decodeOverlay(datagram(type, json));
    });
    fc.assert(anyJson, { numRuns: 3000 });
    // Objects with the right keys and values of any shape.
    const anything = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.array(fc.oneof(fc.string(), fc.integer())),
    );
    const fields = fc.record(
      {
        server: anything,
        cv: anything,
        part: anything,
        parts: anything,
        movies: anything,
        movie: anything,
        seqs: anything,
        after: anything,
        ssrc: anything,
        roots: anything,
        version: anything,
        seq: anything,
        visited: anything,
        path: anything,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.constantFrom(...types), fields, (type, f) => {
        const out = decodeJson(type, f);
        expect(out.ok || out.reason === 'malformed' || out.reason === 'oversize').toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('round-trips arbitrary catalogue parts', () => {
    const name = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter(isMovieName);
    const movie = fc.record({
      name,
      fps: fc.double({ min: 0.001, max: 1000, noNaN: true }),
      width: fc.nat({ max: MAX_MOVIE_DIMENSION }),
      height: fc.nat({ max: MAX_MOVIE_DIMENSION }),
      frames: fc.nat({ max: 0xffffffff }),
    });
    fc.assert(
      fc.property(fc.array(movie, { maxLength: 8 }), fc.nat({ max: MAX_DIGEST }), (movies, cv) => {
        const message: OverlayMessage = { type: 'catalogue', server: 's1', cv, part: 0, parts: 1, movies };
        expect(decodeOverlay(encodeOverlay('n1', message))).toEqual({ ok: true, value: { from: 'n1', message } });
      }),
      { numRuns: 500 },
    );
  });
});
