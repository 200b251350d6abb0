import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { overlayMacKey } from '../../../common/security/overlay-keys.ts';
import { macKey, openOverlay, seal, sealOverlay, tag, verify } from '../../../common/wire/overlay-auth.ts';
import {
  encodeData,
  encodeHeader,
  encodeOverlay,
  MAX_OVERLAY_DATAGRAM,
  MessageType,
  movieId,
  NONCE_BYTES,
  OverlayEncodeError,
  TAG_BYTES,
  type DataFrame,
  type HelloMessage,
  type ControlMessage,
} from '../../../common/wire/overlay.ts';
import { encodeRtp } from '../../../common/wire/rtp.ts';

const key = macKey(overlayMacKey(Buffer.from('an overlay secret of the test')));
const otherKey = macKey(overlayMacKey(Buffer.from('another overlay secret, not ours')));
const nonce = { epoch: 1_764_000_000_123, counter: 41 };
const rtp = encodeRtp({
  marker: false,
  payloadType: 26,
  sequenceNumber: 9,
  timestamp: 90,
  ssrc: 0xabc,
  csrcs: [],
  payload: Buffer.alloc(900, 3),
});
const data: DataFrame = { type: 'data', movieId: movieId('bars.mjpeg'), rtp };

const control: (HelloMessage | ControlMessage)[] = [
  { type: 'hello', seq: 1, sentAtUs: 2, echoSeq: 3, echoSentAtUs: 4, holdUs: 5 },
  { type: 'hello', seq: 1, sentAtUs: 2, echoSeq: 3, echoSentAtUs: 4, holdUs: 5, routeDigest: 0xfedcba98 },
  { type: 'leave', movie: 'bars.mjpeg' },
  { type: 'join', movie: 'bars.mjpeg', path: ['o7', 'o5'], server: 's1' },
  {
    type: 'routes',
    routes: [{ server: 's1', seq: 3, latencyMs: 1.5, hops: 1, cv: 9, path: ['o4', 's1'] }],
    withdrawn: [],
  },
  { type: 'routes-request' },
  { type: 'carrying', movies: ['bars.mjpeg'] },
];

/** Valid sealed datagrams of every authenticated kind, for the mutation properties. */
const sealedSamples: { datagram: Buffer; recipient: string }[] = [
  { datagram: sealOverlay(key, 'o4', 'o5', nonce, data), recipient: 'o5' },
  ...control.map((m) => ({ datagram: sealOverlay(key, 'o4', 'o5', nonce, m), recipient: 'o5' })),
];

describe('the MAC', () => {
  it('is SHA-256 of the key block, the length, the label and the datagram, truncated to 16 bytes', () => {
    const raw = overlayMacKey(Buffer.from('an overlay secret of the test'));
    const datagram = sealOverlay(key, 'o4', 'o5', nonce, { type: 'leave', movie: 'bars.mjpeg' });
    const end = datagram.length - TAG_BYTES;
    const label = Buffer.from([2, ...Buffer.from('o5')]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(label.length + end);
    const expected = createHash('sha256')
      .update(raw)
      .update(Buffer.alloc(32))
      .update(length)
      .update(label)
      .update(datagram.subarray(0, end))
      .digest();
    expect(Buffer.from(tag(key, label, datagram, end), 'latin1')).toEqual(expected);
    expect(datagram.subarray(end)).toEqual(expected.subarray(0, TAG_BYTES));
  });

  it('refuses to seal what cannot be a datagram', () => {
    expect(() => seal(key, 'o5', Buffer.alloc(TAG_BYTES - 1))).toThrow(OverlayEncodeError);
    expect(() => seal(key, 'o5', Buffer.alloc(MAX_OVERLAY_DATAGRAM + 1))).toThrow(OverlayEncodeError);
  });
});

describe('seal and open', () => {
  const cases = control.map((m) => [m.type, m] as const);
  it.each(cases)('round-trips %s for its recipient, with the nonce', (_, message) => {
    const datagram = sealOverlay(key, 'o4', 'o5', nonce, message);
    expect(openOverlay(key, 'o5', datagram)).toEqual({ ok: true, value: { from: 'o4', nonce, message } });
  });

  it('seals DATA for no one in particular: every neighbour accepts the same datagram', () => {
    const datagram = sealOverlay(key, 'o4', 'o5', nonce, data);
    expect(sealOverlay(key, 'o4', 'o6', nonce, data)).toEqual(datagram);
    for (const self of ['o5', 'o6', 'p1']) {
      expect(openOverlay(key, self, datagram)).toEqual({ ok: true, value: { from: 'o4', nonce, message: data } });
    }
  });

  it('seal() fills the tag of encodeData in place: the same bytes as sealOverlay', () => {
    const built = encodeData(encodeHeader(MessageType.data, 'o4'), nonce, data.movieId, rtp);
    expect(built.subarray(built.length - TAG_BYTES)).toEqual(Buffer.alloc(TAG_BYTES));
    expect(seal(key, '', built)).toBe(built);
    expect(built).toEqual(sealOverlay(key, 'o4', 'x', nonce, data));
    expect(built.subarray(built.length - TAG_BYTES)).not.toEqual(Buffer.alloc(TAG_BYTES));
  });

  it('leaves pings and pongs unauthenticated', () => {
    const ping = sealOverlay(key, 'client', 'o5', nonce, { type: 'ping', id: 4, sentAt: 12.5 });
    expect(ping).toEqual(encodeOverlay('client', { type: 'ping', id: 4, sentAt: 12.5 }));
    expect(openOverlay(otherKey, 'o5', ping)).toEqual({
      ok: true,
      value: { from: 'client', nonce: null, message: { type: 'ping', id: 4, sentAt: 12.5 } },
    });
  });

  it('refuses to seal for a recipient no datagram can name', () => {
    expect(() => sealOverlay(key, 'o4', '', nonce, { type: 'leave', movie: 'm' })).toThrow(OverlayEncodeError);
    const leave = { type: 'leave', movie: 'm' } as const;
    expect(() => sealOverlay(key, 'o4', 'x'.repeat(65), nonce, leave)).toThrow(OverlayEncodeError);
  });
});

describe('open rejections', () => {
  const leave = sealOverlay(key, 'o4', 'o5', nonce, { type: 'leave', movie: 'bars.mjpeg' });

  it("'truncated' short of a nonce and a tag, 'bad-mac' for any longer cut", () => {
    const headerEnd = 4 + 2;
    for (let cut = 0; cut < headerEnd + NONCE_BYTES + TAG_BYTES; cut++) {
      expect(openOverlay(key, 'o5', leave.subarray(0, cut))).toEqual({ ok: false, reason: 'truncated' });
    }
    for (let cut = headerEnd + NONCE_BYTES + TAG_BYTES; cut < leave.length; cut++) {
      expect(openOverlay(key, 'o5', leave.subarray(0, cut))).toEqual({ ok: false, reason: 'bad-mac' });
    }
  });

  it("'bad-mac' for a wrong tag, an all-zero tag, the wrong recipient or the wrong key", () => {
    const flipped = Buffer.from(leave);
    flipped[flipped.length - 1]! ^= 1;
    expect(openOverlay(key, 'o5', flipped)).toEqual({ ok: false, reason: 'bad-mac' });
    const unsealed = encodeOverlay('o4', { type: 'leave', movie: 'bars.mjpeg' }, nonce);
    expect(openOverlay(key, 'o5', unsealed)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(openOverlay(key, 'o6', leave)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(openOverlay(otherKey, 'o5', leave)).toEqual({ ok: false, reason: 'bad-mac' });
    const foreign = sealOverlay(otherKey, 'o4', 'o5', nonce, data);
    expect(openOverlay(key, 'o5', foreign)).toEqual({ ok: false, reason: 'bad-mac' });
  });

  it('verify() refuses what cannot hold a tag', () => {
    expect(verify(key, 'o5', Buffer.alloc(TAG_BYTES - 1))).toBe(false);
    expect(verify(key, 'o5', Buffer.alloc(MAX_OVERLAY_DATAGRAM + 1))).toBe(false);
  });

  it('reads no body before the tag is checked: a forged body with bad JSON is bad-mac, not malformed', () => {
    const forged = Buffer.concat([
      encodeHeader(MessageType.leave, 'o4'),
      Buffer.alloc(NONCE_BYTES),
      Buffer.from('{not json'),
      Buffer.alloc(TAG_BYTES),
    ]);
    expect(openOverlay(key, 'o5', forged)).toEqual({ ok: false, reason: 'bad-mac' });
  });
});

describe('the authenticated decoder under fuzzing', () => {
  /** Passing = accepted as authenticated; an unauthenticated ping/pong is not a pass. */
  const passes = (buf: Buffer, recipient: string): boolean => {
    const r = openOverlay(key, recipient, buf);
    return r.ok && r.value.nonce !== null;
  };

  it('random datagrams never throw and never pass', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), (b) => {
        expect(passes(Buffer.from(b), 'o5')).toBe(false);
      }),
      { numRuns: 3000 },
    );
    // Random bodies behind a well-formed header of every authenticated type, with a random tag.
    const types = Object.values(MessageType).filter((t) => t !== MessageType.ping && t !== MessageType.pong);
    const rests = fc.uint8Array({ minLength: NONCE_BYTES + TAG_BYTES, maxLength: 1400 });
    fc.assert(
      fc.property(fc.constantFrom(...types), rests, (type, rest) => {
        expect(passes(Buffer.concat([encodeHeader(type, 'o4'), Buffer.from(rest)]), 'o5')).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('valid datagrams with bits flipped anywhere never throw and never pass', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...sealedSamples),
        fc.uniqueArray(fc.nat(), { minLength: 1, maxLength: 8 }),
        ({ datagram, recipient }, bits) => {
          const mutated = Buffer.from(datagram);
          for (const b of bits) {
            const bit = b % (mutated.length * 8);
            mutated[bit >> 3]! ^= 1 << (bit & 7);
          }
          if (mutated.equals(datagram)) return; // flips that cancelled out
          expect(passes(mutated, recipient)).toBe(false);
          expect(openOverlay(key, recipient, mutated).ok).toBe(false);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('valid datagrams truncated or with bytes appended never throw and never pass', () => {
    fc.assert(
      fc.property(fc.constantFrom(...sealedSamples), fc.nat(), ({ datagram, recipient }, n) => {
        const cut = n % datagram.length;
        expect(openOverlay(key, recipient, datagram.subarray(0, cut)).ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
    const extras = fc.uint8Array({ minLength: 1, maxLength: 64 });
    fc.assert(
      fc.property(fc.constantFrom(...sealedSamples), extras, ({ datagram, recipient }, extra) => {
        expect(openOverlay(key, recipient, Buffer.concat([datagram, Buffer.from(extra)])).ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('every sample passes untouched (so the properties above test something)', () => {
    for (const { datagram, recipient } of sealedSamples) expect(passes(datagram, recipient)).toBe(true);
  });
});
