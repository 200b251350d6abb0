import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chainHashesOf,
  decodeFrameAuth,
  encodeFrameAuth,
  FRAME_AUTH_CHAIN_SPAN,
  FRAME_HEAD_BYTES,
  FrameAuthError,
  frameAuthBytes,
  signedPayloadLimit,
} from '../../../common/wire/frame-auth.ts';
import { decodeRtp, encodeRtp, RTP_EXT_PROFILE_ONE_BYTE, RTP_EXT_PROFILE_TWO_BYTE } from '../../../common/wire/rtp.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const hash = (b: number): Buffer => Buffer.alloc(16, b);
const head = { keyId: hex('0102030405060708'), packetCount: 41, signature: Buffer.alloc(64, 0x55) };

describe('frame-signature extension format', () => {
  it('lays the head out as ID 1, 74 bytes: key id, packet count, signature; hashes follow as ID 2', () => {
    const ext = encodeFrameAuth({ head: { ...head, packetCount: 2 }, hashes: [hash(0xaa)] });
    expect(ext.profile).toBe(RTP_EXT_PROFILE_TWO_BYTE);
    expect(ext.data.subarray(0, 2 + 10)).toEqual(hex('01 4a 0102030405060708 0002'));
    expect(ext.data.subarray(12, 76)).toEqual(Buffer.alloc(64, 0x55));
    expect(ext.data.subarray(76, 78 + 16)).toEqual(Buffer.concat([hex('0210'), hash(0xaa)]));
    expect(ext.data.length).toBe(96); // 94 bytes of elements, zero-padded to 32 bits
    expect(frameAuthBytes(0, 2)).toBe(4 + ext.data.length);
  });

  it('round-trips a head with 40 hashes (three ID 2 elements) and a chain packet without head', () => {
    const hashes = Array.from({ length: FRAME_AUTH_CHAIN_SPAN }, (_, i) => hash(i));
    expect(decodeFrameAuth(encodeFrameAuth({ head, hashes }))).toEqual({ ok: true, value: { head, hashes } });
    expect(decodeFrameAuth(encodeFrameAuth({ head: null, hashes: hashes.slice(0, 3) }))).toEqual({
      ok: true,
      value: { head: null, hashes: hashes.slice(0, 3) },
    });
    expect(decodeFrameAuth(undefined)).toEqual({ ok: true, value: { head: null, hashes: [] } });
  });

  it('ignores elements with other IDs (RFC 8285: unknown elements are skipped)', () => {
    const ours = encodeFrameAuth({ head, hashes: [hash(1)] });
    const data = Buffer.concat([hex('0702abcd'), ours.data]);
    expect(decodeFrameAuth({ profile: RTP_EXT_PROFILE_TWO_BYTE, data })).toEqual({
      ok: true,
      value: { head, hashes: [hash(1)] },
    });
  });

  it('refuses heads and hash lists that are not well formed', () => {
    const two = RTP_EXT_PROFILE_TWO_BYTE;
    const headData = encodeFrameAuth({ head, hashes: [] }).data.subarray(0, 2 + FRAME_HEAD_BYTES);
    expect(decodeFrameAuth({ profile: two, data: hex('01 03 aabbcc 00 00 00') })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(decodeFrameAuth({ profile: two, data: Buffer.concat([headData, headData]) })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    const zeroCount = Buffer.from(headData);
    zeroCount.writeUInt16BE(0, 2 + 8);
    expect(decodeFrameAuth({ profile: two, data: zeroCount })).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeFrameAuth({ profile: two, data: hex('02 0f') })).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeFrameAuth({ profile: two, data: Buffer.concat([hex('02 11'), Buffer.alloc(17)]) })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(decodeFrameAuth({ profile: two, data: hex('02 00') })).toEqual({ ok: false, reason: 'malformed' });
    // 41 hashes in one packet, and a head of a 2-packet frame listing 2 hashes
    const tooMany = encodeFrameAuth({ head: null, hashes: Array.from({ length: 40 }, () => hash(1)) }).data;
    expect(decodeFrameAuth({ profile: two, data: Buffer.concat([tooMany, hex('0210'), hash(2)]) })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    const overlong = encodeFrameAuth({ head: { ...head, packetCount: 2 }, hashes: [hash(1), hash(2)] });
    expect(decodeFrameAuth(overlong)).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeFrameAuth({ profile: RTP_EXT_PROFILE_ONE_BYTE, data: hex('10aa0000') })).toEqual({
      ok: false,
      reason: 'unsupported',
    });
  });

  it('throws FrameAuthError for fields it cannot carry', () => {
    expect(() => encodeFrameAuth({ head: { ...head, keyId: Buffer.alloc(7) }, hashes: [] })).toThrow(FrameAuthError);
    expect(() => encodeFrameAuth({ head: { ...head, signature: Buffer.alloc(63) }, hashes: [] })).toThrow(
      FrameAuthError,
    );
    expect(() => encodeFrameAuth({ head: { ...head, packetCount: 0 }, hashes: [] })).toThrow(FrameAuthError);
    expect(() => encodeFrameAuth({ head: null, hashes: [Buffer.alloc(15)] })).toThrow(FrameAuthError);
    expect(() => encodeFrameAuth({ head: null, hashes: Array.from({ length: 41 }, () => hash(0)) })).toThrow(
      FrameAuthError,
    );
  });

  it('never throws on random extension bytes, inside random RTP packets too', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 800 }), (profile, bytes) => {
        const r = decodeFrameAuth({ profile, data: Buffer.from(bytes) });
        if (r.ok && r.value.head !== null) expect(r.value.head.signature.length).toBe(64);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 1500 }), (bytes) => {
        const b = Buffer.from(bytes);
        b[0] = 0x90 | (b[0]! & 0x2f); // V=2, X=1
        const rtp = decodeRtp(b);
        if (rtp.ok) decodeFrameAuth(rtp.value.extension);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the hash chain and packet budgets', () => {
  it('puts hashes in packet 0, then in every L-th packet, each covering the next L packets', () => {
    expect(chainHashesOf(0, 1)).toBeNull();
    expect(chainHashesOf(0, 2)).toEqual({ first: 1, count: 1 });
    expect(chainHashesOf(0, 41)).toEqual({ first: 1, count: 40 });
    expect(chainHashesOf(40, 41)).toBeNull();
    expect(chainHashesOf(0, 100)).toEqual({ first: 1, count: 40 });
    expect(chainHashesOf(40, 100)).toEqual({ first: 41, count: 40 });
    expect(chainHashesOf(80, 100)).toEqual({ first: 81, count: 19 });
    expect(chainHashesOf(5, 100)).toBeNull();
  });

  it('sizes the extension of every packet so that signed packets stay within the limit', () => {
    const limit = signedPayloadLimit(1368);
    expect(limit(0, 1)).toBe(1368 - 12 - (4 + 76));
    expect(limit(3, 6)).toBe(1368 - 12);
    // head + 40 hashes: 76 + 242 + 242 + 162 = 722 bytes of elements, padded to 724, plus 4
    expect(limit(0, 100)).toBe(1368 - 12 - 728);
    expect(limit(40, 100)).toBe(1368 - 12 - (4 + 644 + 2 + 2));
    const p = encodeRtp({
      marker: false,
      payloadType: 26,
      sequenceNumber: 1,
      timestamp: 2,
      ssrc: 3,
      csrcs: [],
      extension: encodeFrameAuth({ head, hashes: Array.from({ length: 40 }, () => hash(1)) }),
      payload: Buffer.alloc(limit(0, 100)),
    });
    expect(p.length).toBe(1368);
  });
});
