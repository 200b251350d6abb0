import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHeader,
  decodeOverlay,
  encodeData,
  encodeHeader,
  encodeOverlay,
  isAuthenticated,
  MAX_DATA_RTP_BYTES,
  MAX_NAME_BYTES,
  MAX_OVERLAY_DATAGRAM,
  MAX_PATH_LENGTH,
  MessageType,
  movieId,
  NONCE_BYTES,
  OVERLAY_MAGIC,
  OVERLAY_VERSION,
  OverlayEncodeError,
  TAG_BYTES,
  type WireMessage,
} from '../../../common/wire/overlay.ts';
import { isMovieName } from '../../../common/wire/names.ts';
import { encodeRtp } from '../../../common/wire/rtp.ts';

const rtp = encodeRtp({
  marker: true,
  payloadType: 26,
  sequenceNumber: 4242,
  timestamp: 3600 * 99,
  ssrc: 0xfeedface,
  csrcs: [],
  payload: Buffer.alloc(1000, 0xab),
});

/** A datagram with a hand-written header and body (and a zero nonce and tag where the type has them). */
function datagram(
  type: number,
  from: string,
  body: Buffer | string,
  magic = OVERLAY_MAGIC,
  version = OVERLAY_VERSION,
): Buffer {
  const name = Buffer.from(from);
  const auth = isAuthenticated(type);
  return Buffer.concat([
    Buffer.from([magic, version, type, name.length]),
    name,
    Buffer.alloc(auth ? NONCE_BYTES : 0),
    Buffer.from(body),
    Buffer.alloc(auth ? TAG_BYTES : 0),
  ]);
}

const nonce = { epoch: 1_764_000_000_123, counter: 77 };

const messages: WireMessage[] = [
  { type: 'data', movieId: movieId('bars.mjpeg'), rtp },
  { type: 'hello', seq: 17, sentAtUs: 0xfffffff0, echoSeq: 16, echoSentAtUs: 123456789, holdUs: 2500 },
  {
    type: 'routes',
    reset: true,
    routes: [{ server: 's1', seq: 9, latencyMs: 12.75, hops: 2, cv: 2 ** 48 - 1, path: ['r3', 's1'] }],
    withdrawn: ['s2'],
  },
  { type: 'routes', routes: [], withdrawn: [] },
  { type: 'routes-request' },
  { type: 'hello', seq: 1, sentAtUs: 2, echoSeq: 3, echoSentAtUs: 4, holdUs: 5, routeDigest: 0xffffffff },
  { type: 'catalogue-request', server: 's1', cv: 12345 },
  { type: 'catalogue-request', server: 's1', cv: 12345, parts: [0, 7, 9999] },
  {
    type: 'catalogue',
    server: 's1',
    cv: 0,
    part: 2,
    parts: 3,
    movies: [
      { name: 'bars', fps: 25, width: 320, height: 240, frames: 500 },
      { name: 'gradient', fps: 29.97, width: 640, height: 480, frames: 1800 },
    ],
  },
  { type: 'catalogue', server: 's1', cv: 77, part: 0, parts: 1, movies: [] },
  { type: 'repair', movie: 'bars', ssrc: 0xfeedface, after: 65535 },
  { type: 'repair', movie: 'bars', ssrc: 1, seqs: [0, 1, 65535] },
  { type: 'carrying', movies: ['bars'], roots: ['s1'], version: 3, part: 1, parts: 2 },
  { type: 'join', movie: 'bars', path: ['pop1', 'r2'] },
  { type: 'join', movie: 'bars', path: ['pop1'], server: 's2' },
  { type: 'join-ack', movie: 'bars', rootPath: ['s1', 'r3', 'r2'] },
  { type: 'nak', movie: 'nope', reason: 'unknown-movie', detail: 'no server has "nope"' },
  { type: 'leave', movie: 'bars' },
  { type: 'ping', id: 3, sentAt: 1712345678.5 },
  { type: 'pong', id: 3, sentAt: 1712345678.5, node: 'pop1' },
  { type: 'carrying', movies: ['bars', 'bounce'] },
];

describe('overlay codec round trips', () => {
  it.each(messages.map((m) => [m.type, m] as const))('%s', (_type, message) => {
    const decoded = decodeOverlay(encodeOverlay('relay-7', message, nonce));
    expect(decoded).toEqual({ ok: true, value: { from: 'relay-7', message } });
  });

  it('writes the header, nonce, body and (zero) tag as the diagram says', () => {
    const buf = encodeOverlay('n1', { type: 'leave', movie: 'm' }, { epoch: 2 ** 40 + 5, counter: 0xfffffffe });
    expect([...buf.subarray(0, 6)]).toEqual([0x4f, OVERLAY_VERSION, MessageType.leave, 2, 0x6e, 0x31]);
    expect([...buf.subarray(6, 18)]).toEqual([0, 0, 1, 0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xfe]);
    expect(buf.subarray(18, buf.length - TAG_BYTES).toString()).toBe('{"movie":"m"}');
    expect(buf.subarray(buf.length - TAG_BYTES)).toEqual(Buffer.alloc(TAG_BYTES));
  });

  it('pings and pongs carry no nonce and no tag', () => {
    const buf = encodeOverlay('client', { type: 'ping', id: 1, sentAt: 2 });
    expect(buf.subarray(10).toString()).toBe('{"id":1,"sentAt":2}');
    expect(decodeHeader(buf)).toMatchObject({ ok: true, value: { from: 'client', nonce: null } });
  });

  it('decodeHeader reads the nonce, and where the body is', () => {
    for (const n of [{ epoch: 0, counter: 0 }, nonce, { epoch: Number.MAX_SAFE_INTEGER, counter: 0xffffffff }]) {
      const buf = encodeOverlay('relay-7', { type: 'leave', movie: 'm' }, n);
      expect(decodeHeader(buf)).toEqual({
        ok: true,
        value: {
          type: MessageType.leave,
          from: 'relay-7',
          nonce: n,
          bodyStart: 11 + NONCE_BYTES,
          bodyEnd: buf.length - TAG_BYTES,
        },
      });
    }
  });

  it('DATA names its movie by the first 8 bytes of SHA-256 of the name, and carries the RTP packet untouched', () => {
    expect(movieId('bars.mjpeg')).toEqual(createHash('sha256').update('bars.mjpeg').digest().subarray(0, 8));
    const data = encodeData(encodeHeader(MessageType.data, 'relay-7'), nonce, movieId('bars.mjpeg'), rtp);
    expect(data).toEqual(encodeOverlay('relay-7', { type: 'data', movie: 'bars.mjpeg', rtp }, nonce));
    expect(data.subarray(11 + NONCE_BYTES, 11 + NONCE_BYTES + 8)).toEqual(movieId('bars.mjpeg'));
    expect(data.subarray(data.length - TAG_BYTES - rtp.length, data.length - TAG_BYTES)).toEqual(rtp);
  });

  it('MAX_DATA_RTP_BYTES fills a datagram exactly with a 64-byte sender name', () => {
    const rtpMax = Buffer.concat([rtp.subarray(0, 12), Buffer.alloc(MAX_DATA_RTP_BYTES - 12, 7)]);
    const full = encodeData(encodeHeader(MessageType.data, 'n'.repeat(MAX_NAME_BYTES)), nonce, movieId('m'), rtpMax);
    expect(full.length).toBe(MAX_OVERLAY_DATAGRAM);
    expect(decodeOverlay(full)).toMatchObject({ ok: true, value: { message: { type: 'data', rtp: rtpMax } } });
    const head = encodeHeader(MessageType.data, 'n'.repeat(MAX_NAME_BYTES));
    const tooBig = Buffer.alloc(MAX_DATA_RTP_BYTES + 1);
    expect(() => encodeData(head, nonce, movieId('m'), tooBig)).toThrow(OverlayEncodeError);
  });

  it('keeps non-ASCII names intact, and wraps hello fields to 32 bits', () => {
    const message: WireMessage = { type: 'join', movie: 'filme-ação', path: ['nó-1'] };
    expect(decodeOverlay(encodeOverlay('nó-1', message))).toEqual({ ok: true, value: { from: 'nó-1', message } });
    const hello = decodeOverlay(
      encodeOverlay('a', { type: 'hello', seq: 2 ** 32 + 5, sentAtUs: 0, echoSeq: 0, echoSentAtUs: 0, holdUs: 0 }),
    );
    expect(hello.ok && hello.value.message).toMatchObject({ seq: 5 });
  });

  it('round-trips arbitrary hello and join messages', () => {
    const name = fc.string({ minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(name, fc.array(fc.nat({ max: 0xffffffff }), { minLength: 5, maxLength: 5 }), (from, n) => {
        const message: WireMessage = {
          type: 'hello',
          seq: n[0]!,
          sentAtUs: n[1]!,
          echoSeq: n[2]!,
          echoSentAtUs: n[3]!,
          holdUs: n[4]!,
        };
        expect(decodeOverlay(encodeOverlay(from, message))).toEqual({ ok: true, value: { from, message } });
      }),
    );
    // Movie names are one path segment ('/', '\\', '.', '..' and control characters are refused: names.test.ts).
    const movieName = name.filter(isMovieName);
    fc.assert(
      fc.property(name, movieName, fc.array(name, { minLength: 1, maxLength: 10 }), (from, movie, path) => {
        const message: WireMessage = { type: 'join', movie, path };
        expect(decodeOverlay(encodeOverlay(from, message))).toEqual({ ok: true, value: { from, message } });
      }),
    );
  });
});

describe('overlay encoder errors', () => {
  it('throws OverlayEncodeError (a RangeError) for bad names', () => {
    expect(() => encodeOverlay('', { type: 'leave', movie: 'm' })).toThrow(OverlayEncodeError);
    expect(() => encodeOverlay('x'.repeat(MAX_NAME_BYTES + 1), { type: 'leave', movie: 'm' })).toThrow(RangeError);
    expect(() => movieId('')).toThrow(OverlayEncodeError);
    expect(() => movieId('m'.repeat(256))).toThrow(OverlayEncodeError);
    expect(movieId('m'.repeat(255))).toHaveLength(8);
  });

  it('throws for a bad nonce, movie id or RTP packet', () => {
    const head = encodeHeader(MessageType.data, 'a');
    expect(() => encodeData(head, { epoch: -1, counter: 0 }, movieId('m'), rtp)).toThrow(OverlayEncodeError);
    expect(() => encodeData(head, { epoch: 0, counter: 2 ** 32 }, movieId('m'), rtp)).toThrow(OverlayEncodeError);
    expect(() => encodeData(head, { epoch: 2 ** 53, counter: 0 }, movieId('m'), rtp)).toThrow(OverlayEncodeError);
    expect(() => encodeData(head, nonce, Buffer.alloc(7), rtp)).toThrow(OverlayEncodeError);
    expect(() => encodeData(head, nonce, movieId('m'), Buffer.alloc(11))).toThrow(OverlayEncodeError);
  });

  it('refuses to build a datagram the receiver would drop as oversize', () => {
    const head = encodeHeader(MessageType.data, 'a');
    expect(() => encodeData(head, nonce, movieId('m'), Buffer.alloc(MAX_OVERLAY_DATAGRAM))).toThrow(OverlayEncodeError);
    // A control body over the budget is refused with the cause and the fix.
    const path = Array.from({ length: MAX_PATH_LENGTH }, (_, i) => `node-with-a-rather-long-name-${i}`);
    expect(() => encodeOverlay('s1', { type: 'join', movie: 'm', path })).toThrow(
      /^join body of \d+ bytes exceeds the 1200-byte budget: the join's path is too long for its node names; shorten/,
    );
    const route = { server: 's1', seq: 1, latencyMs: 0, hops: 0, cv: 1, path };
    const routes = { type: 'routes', routes: [route, route], withdrawn: [] } as const;
    expect(() => encodeOverlay('s1', routes)).toThrow(OverlayEncodeError);
    // The largest data packet that fits still goes through.
    const room = MAX_OVERLAY_DATAGRAM - 4 - 1 - NONCE_BYTES - 8 - TAG_BYTES;
    const fits = encodeData(head, nonce, movieId('m'), Buffer.alloc(room, 1));
    expect(fits.length).toBe(MAX_OVERLAY_DATAGRAM);
    expect(decodeOverlay(fits).ok).toBe(true);
  });
});

describe('decodeOverlay rejections', () => {
  it("'truncated' for short headers, names and bodies", () => {
    expect(decodeOverlay(Buffer.alloc(0))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeOverlay(Buffer.from([OVERLAY_MAGIC, OVERLAY_VERSION, 2]))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeOverlay(Buffer.from([OVERLAY_MAGIC, OVERLAY_VERSION, 2, 5, 0x61]))).toEqual({
      ok: false,
      reason: 'truncated',
    });
    expect(decodeOverlay(datagram(MessageType.hello, 'a', Buffer.alloc(19)))).toEqual({
      ok: false,
      reason: 'truncated',
    });
    expect(decodeOverlay(datagram(MessageType.data, 'a', ''))).toEqual({ ok: false, reason: 'truncated' });
    // Movie id present but fewer than 12 bytes of RTP header after it.
    const shortRtp = datagram(MessageType.data, 'a', Buffer.alloc(8 + 11));
    expect(decodeOverlay(shortRtp)).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeOverlay(datagram(MessageType.data, 'a', Buffer.alloc(8 + 12)))).toMatchObject({ ok: true });
    expect(decodeOverlay(datagram(MessageType.leave, 'a', ''))).toEqual({ ok: false, reason: 'truncated' });
    const full = encodeOverlay('relay-7', messages[0]!, nonce);
    // Inside the header, the name, the nonce, or short of the tag.
    for (const cut of [3, 6, 11, 20, 11 + NONCE_BYTES + TAG_BYTES - 1]) {
      expect(decodeOverlay(full.subarray(0, cut))).toEqual({ ok: false, reason: 'truncated' });
    }
  });

  it("'malformed' for a bad magic, name length, invalid UTF-8 names, bad JSON or fields", () => {
    expect(decodeOverlay(datagram(MessageType.leave, 'a', '{"movie":"m"}', 0x50))).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(decodeOverlay(Buffer.from([OVERLAY_MAGIC, OVERLAY_VERSION, MessageType.leave, 0, 0x7b, 0x7d]))).toEqual({
      ok: false,
      reason: 'malformed',
    });
    const long = Buffer.concat([
      Buffer.from([OVERLAY_MAGIC, OVERLAY_VERSION, MessageType.leave, 65]),
      Buffer.alloc(80, 0x61),
    ]);
    expect(decodeOverlay(long)).toEqual({ ok: false, reason: 'malformed' });
    const badUtf8 = Buffer.concat([
      Buffer.from([OVERLAY_MAGIC, OVERLAY_VERSION, MessageType.leave, 2, 0xc3, 0x28]),
      Buffer.from('{"movie":"m"}'),
    ]);
    expect(decodeOverlay(badUtf8)).toEqual({ ok: false, reason: 'malformed' });
    // An epoch beyond 2^53 ms cannot be a real one (nor survive a JS number).
    const farEpoch = datagram(MessageType.leave, 'a', '{"movie":"m"}');
    farEpoch.writeUInt32BE(0x00200000, 5);
    expect(decodeOverlay(farEpoch)).toEqual({ ok: false, reason: 'malformed' });
    const bad: [number, string][] = [
      [MessageType.leave, '{"movie":'],
      [MessageType.leave, '[1,2]'],
      [MessageType.leave, 'null'],
      [MessageType.leave, '{"movie":""}'],
      [MessageType.leave, '{"movie":42}'],
      [MessageType.join, '{"movie":"m","path":[]}'],
      [MessageType.join, JSON.stringify({ movie: 'm', path: new Array(MAX_PATH_LENGTH + 1).fill('n') })],
      [MessageType.joinAck, JSON.stringify({ movie: 'm', rootPath: ['x'.repeat(MAX_NAME_BYTES + 1)] })],
      [MessageType.nak, '{"movie":"m","reason":"bored","detail":""}'],
      [MessageType.nak, JSON.stringify({ movie: 'm', reason: 'loop', detail: 'd'.repeat(513) })],
      [MessageType.ping, '{"id":-1,"sentAt":0}'],
      [MessageType.ping, '{"id":1.5,"sentAt":0}'],
      [MessageType.pong, '{"id":1,"sentAt":0}'],
      [MessageType.routes, '{"routes":[["s",1,-1,0,1,["s"]]],"withdrawn":[]}'],
      [MessageType.routes, '{"routes":[["s",1,1,0,["s"]]],"withdrawn":[]}'],
      [MessageType.routes, '{"routes":[["s",1,1,0,281474976710656,["s"]]],"withdrawn":[]}'],
      [MessageType.routes, '{"routes":[["s",1,1,0,1,[]]],"withdrawn":[]}'],
      [MessageType.routes, '{"routes":[]}'],
      [MessageType.catalogue, '{"server":"s","cv":1,"part":0,"parts":1,"movies":[["m",0,1,1,1]]}'],
      [MessageType.carrying, '{"movies":"bars"}'],
      [MessageType.carrying, '{"movies":"bars"}'],
    ];
    for (const [type, body] of bad) {
      const buf = datagram(type, 'a', body);
      if (buf.length > MAX_OVERLAY_DATAGRAM) expect(decodeOverlay(buf)).toEqual({ ok: false, reason: 'oversize' });
      else expect(decodeOverlay(buf), body).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it("'unsupported' for another version or an unknown type", () => {
    expect(decodeOverlay(datagram(MessageType.leave, 'a', '{"movie":"m"}', OVERLAY_MAGIC, 1))).toEqual({
      ok: false,
      reason: 'unsupported',
    });
    expect(decodeOverlay(datagram(99, 'a', '{}'))).toEqual({ ok: false, reason: 'unsupported' });
    expect(decodeOverlay(datagram(0, 'a', '{}'))).toEqual({ ok: false, reason: 'unsupported' });
  });

  it("'oversize' above MAX_OVERLAY_DATAGRAM, before anything else is read", () => {
    expect(decodeOverlay(Buffer.alloc(MAX_OVERLAY_DATAGRAM + 1))).toEqual({ ok: false, reason: 'oversize' });
    const data = encodeOverlay('a', { type: 'data', movie: 'm', rtp });
    const big = Buffer.concat([data, Buffer.alloc(MAX_OVERLAY_DATAGRAM)]);
    expect(decodeOverlay(big)).toEqual({ ok: false, reason: 'oversize' });
  });

  it('never throws on random bytes, or on random bodies behind a valid header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), (b) => void decodeOverlay(Buffer.from(b))),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.uint8Array({ maxLength: 300 }), (type, body) => {
        decodeOverlay(datagram(type, 'node', Buffer.from(body)));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.constantFrom(10, 11, 12, 13, 14, 15, 16, 17), fc.json(), (type, json) => {
        decodeOverlay(datagram(type, 'node', json));
      }),
      { numRuns: 2000 },
    );
  });
});
