import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeExtensionElements,
  decodeRtp,
  encodeExtensionElements,
  encodeRtp,
  extensionElementsBytes,
  RTP_EXT_PROFILE_ONE_BYTE,
  RTP_EXT_PROFILE_TWO_BYTE,
  RTP_MAX_PACKET_BYTES,
  RtpEncodeError,
  type RtpPacket,
  rtpHasExtension,
  rtpMarker,
  rtpSequence,
  rtpSsrc,
  rtpTimestamp,
  seqDiff,
  seqNewer,
} from '../../../common/wire/rtp.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('decodeRtp against RFC 3550 header vectors', () => {
  it('reads the fixed header (V=2, no CSRC, no extension, no padding)', () => {
    // V=2 P=0 X=0 CC=0 | M=1 PT=26 | seq 0x1234 | ts 90000 | SSRC 0xdeadbeef | payload
    const buf = hex('80 9a 1234 00015f90 deadbeef 0102 0304');
    expect(decodeRtp(buf)).toEqual({
      ok: true,
      value: {
        marker: true,
        payloadType: 26,
        sequenceNumber: 0x1234,
        timestamp: 90000,
        ssrc: 0xdeadbeef,
        csrcs: [],
        payload: hex('01020304'),
      },
    });
  });

  it('reads CSRCs at offset 12 + 4i (rtp-parser reads them at 9 + 4i)', () => {
    const buf = hex('83 1a 0001 00000000 11111111 aaaaaaaa bbbbbbbb cccccccc ff');
    const r = decodeRtp(buf);
    expect(r.ok && r.value.csrcs).toEqual([0xaaaaaaaa, 0xbbbbbbbb, 0xcccccccc]);
    expect(r.ok && r.value.payload).toEqual(hex('ff'));
    expect(r.ok && r.value.ssrc).toBe(0x11111111);
  });

  it('reads the header extension after the CSRCs and before the payload', () => {
    // X=1, CC=1, profile 0xBEDE (RFC 8285 one-byte), length 2 words
    const buf = hex('91 60 ffff ffffffff 00000001 00000002 bede0002 10aa0000 20bbcc00 c0ffee');
    const r = decodeRtp(buf);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.marker).toBe(false);
    expect(r.value.payloadType).toBe(96);
    expect(r.value.sequenceNumber).toBe(0xffff);
    expect(r.value.timestamp).toBe(0xffffffff);
    expect(r.value.csrcs).toEqual([2]);
    expect(r.value.extension).toEqual({ profile: 0xbede, data: hex('10aa0000 20bbcc00') });
    expect(r.value.payload).toEqual(hex('c0ffee'));
  });

  it('strips padding whose last octet counts itself', () => {
    const buf = hex('a0 1a 0007 00000064 00000005 01020304 05 000000 04');
    // 5 bytes of payload, then 4 bytes of padding ending in the count 4... P=1, last byte 4
    const r = decodeRtp(buf);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.payload).toEqual(hex('0102030405'));
    expect(r.value.paddingBytes).toBe(4);
  });

  it('accepts padding that is the whole payload, and extension + CSRCs + padding together', () => {
    expect(decodeRtp(hex('a0 1a 0000 00000000 00000000 00000004'))).toMatchObject({
      ok: true,
      value: { payload: Buffer.alloc(0), paddingBytes: 4 },
    });
    const all = hex('b2 9a 0102 03040506 0708090a 0000000b 0000000c 1000 0001 deadbeef 5a5a 0003');
    expect(decodeRtp(all)).toEqual({
      ok: true,
      value: {
        marker: true,
        payloadType: 26,
        sequenceNumber: 0x0102,
        timestamp: 0x03040506,
        ssrc: 0x0708090a,
        csrcs: [11, 12],
        extension: { profile: 0x1000, data: hex('deadbeef') },
        payload: hex('5a'),
        paddingBytes: 3,
      },
    });
  });
});

describe('decodeRtp rejections', () => {
  it('refuses a packet shorter than the fixed header', () => {
    expect(decodeRtp(Buffer.alloc(0))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeRtp(hex('80 1a 0001 00000000 000000'))).toEqual({ ok: false, reason: 'truncated' });
  });

  it('refuses CSRCs or an extension that run past the end', () => {
    expect(decodeRtp(hex('82 1a 0001 00000000 00000000 00000001'))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeRtp(hex('90 1a 0001 00000000 00000000 bede'))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeRtp(hex('90 1a 0001 00000000 00000000 bede0002 00000000'))).toEqual({
      ok: false,
      reason: 'truncated',
    });
  });

  it('refuses a padding count of zero or one that eats into the header', () => {
    expect(decodeRtp(hex('a0 1a 0001 00000000 00000000 010200'))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRtp(hex('a0 1a 0001 00000000 00000000 0105'))).toEqual({ ok: false, reason: 'malformed' });
    // Padding may not reach back into the extension either.
    expect(decodeRtp(hex('b0 1a 0001 00000000 00000000 bede0001 00000000 09'))).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('refuses versions other than 2', () => {
    for (const first of [0x00, 0x40, 0xc0]) {
      const buf = hex('00 1a 0001 00000000 00000000 00');
      buf[0] = first;
      expect(decodeRtp(buf)).toEqual({ ok: false, reason: 'unsupported' });
    }
  });

  it('refuses a packet larger than any transport can carry', () => {
    const big = Buffer.alloc(RTP_MAX_PACKET_BYTES + 1);
    big[0] = 0x80;
    expect(decodeRtp(big)).toEqual({ ok: false, reason: 'oversize' });
    big[0] = 0x80;
    expect(decodeRtp(big.subarray(0, RTP_MAX_PACKET_BYTES)).ok).toBe(true);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodeRtp(Buffer.from(bytes));
        if (r.ok) expect(r.value.payload.length).toBeLessThanOrEqual(bytes.length - 12);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on random bytes that start like RTP', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x3f }), fc.uint8Array({ maxLength: 120 }), (low, rest) => {
        decodeRtp(Buffer.concat([Buffer.from([0x80 | low]), Buffer.from(rest)]));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('encodeRtp', () => {
  const base: RtpPacket = {
    marker: false,
    payloadType: 26,
    sequenceNumber: 65535,
    timestamp: 4294967295,
    ssrc: 0x12345678,
    csrcs: [],
    payload: Buffer.from('scan bytes'),
  };

  it('writes the RFC 3550 layout byte for byte', () => {
    const buf = encodeRtp({
      ...base,
      marker: true,
      csrcs: [0xaaaaaaaa],
      extension: { profile: 0xbede, data: hex('01020304') },
      payload: hex('ee'),
      paddingBytes: 3,
    });
    expect(buf).toEqual(hex('b1 9a ffff ffffffff 12345678 aaaaaaaa bede0001 01020304 ee 0000 03'));
  });

  it('round-trips realistic packets', () => {
    const packets: RtpPacket[] = [
      base,
      { ...base, marker: true, sequenceNumber: 0, timestamp: 3600 * 25, payload: Buffer.alloc(1400, 7) },
      { ...base, csrcs: Array.from({ length: 15 }, (_, i) => i * 0x01010101) },
      { ...base, extension: { profile: 0x1000, data: Buffer.alloc(0) } },
      { ...base, payload: Buffer.alloc(0), paddingBytes: 255 },
    ];
    for (const p of packets) expect(decodeRtp(encodeRtp(p))).toEqual({ ok: true, value: p });
  });

  it('round-trips arbitrary valid packets', () => {
    const packet = fc.record(
      {
        marker: fc.boolean(),
        payloadType: fc.integer({ min: 0, max: 127 }),
        sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
        timestamp: fc.nat({ max: 0xffffffff }),
        ssrc: fc.nat({ max: 0xffffffff }),
        csrcs: fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 15 }),
        extension: fc.record({
          profile: fc.integer({ min: 0, max: 0xffff }),
          data: fc
            .integer({ min: 0, max: 8 })
            .chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }).map((b) => Buffer.from(b))),
        }),
        payload: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
        paddingBytes: fc.integer({ min: 1, max: 255 }),
      },
      { requiredKeys: ['marker', 'payloadType', 'sequenceNumber', 'timestamp', 'ssrc', 'csrcs', 'payload'] },
    );
    fc.assert(
      fc.property(packet, (p) => {
        expect(decodeRtp(encodeRtp(p))).toEqual({ ok: true, value: p });
      }),
      { numRuns: 500 },
    );
  });

  it('throws RtpEncodeError for fields RTP cannot represent', () => {
    expect(() => encodeRtp({ ...base, payloadType: 128 })).toThrow(RtpEncodeError);
    expect(() => encodeRtp({ ...base, sequenceNumber: 65536 })).toThrow(RtpEncodeError);
    expect(() => encodeRtp({ ...base, timestamp: -1 })).toThrow(RtpEncodeError);
    expect(() => encodeRtp({ ...base, ssrc: 1.5 })).toThrow(RtpEncodeError);
    expect(() => encodeRtp({ ...base, csrcs: new Array<number>(16).fill(0) })).toThrow(RtpEncodeError);
    expect(() => encodeRtp({ ...base, extension: { profile: 0, data: Buffer.alloc(3) } })).toThrow(RtpEncodeError);
    expect(() => encodeRtp({ ...base, paddingBytes: 256 })).toThrow(RtpEncodeError);
    expect(() => encodeRtp({ ...base, payload: Buffer.alloc(RTP_MAX_PACKET_BYTES) })).toThrow(RtpEncodeError);
  });
});

describe('header field accessors', () => {
  it('read the fields decodeRtp reads, from the encoded bytes', () => {
    const packets = [
      hex('80 9a 1234 00015f90 deadbeef 0102 0304'),
      hex('82 1a ffff ffffffff 00000001 0000000a 0000000b 0506'),
      hex('90 1a 0001 00000002 00000003 bede0001 10ff0000 07'),
    ];
    for (const buf of packets) {
      const d = decodeRtp(buf);
      if (!d.ok) throw new Error(d.reason);
      expect(rtpMarker(buf)).toBe(d.value.marker);
      expect(rtpHasExtension(buf)).toBe(d.value.extension !== undefined);
      expect(rtpSequence(buf)).toBe(d.value.sequenceNumber);
      expect(rtpTimestamp(buf)).toBe(d.value.timestamp);
      expect(rtpSsrc(buf)).toBe(d.value.ssrc);
    }
  });

  it('read a buffer shorter than the fixed header as 0 and false, never throwing', () => {
    for (const buf of [Buffer.alloc(0), hex('90 9a 1234 00015f90 deadbe')]) {
      expect(rtpMarker(buf)).toBe(false);
      expect(rtpHasExtension(buf)).toBe(false);
      expect(rtpSequence(buf)).toBe(0);
      expect(rtpTimestamp(buf)).toBe(0);
      expect(rtpSsrc(buf)).toBe(0);
    }
  });

  it('never throw on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const buf = Buffer.from(bytes);
        rtpMarker(buf);
        rtpHasExtension(buf);
        rtpSequence(buf);
        rtpTimestamp(buf);
        rtpSsrc(buf);
      }),
    );
  });
});

describe('sequence number arithmetic', () => {
  it('compares modulo 2^16', () => {
    expect(seqDiff(5, 3)).toBe(2);
    expect(seqDiff(0, 65535)).toBe(1);
    expect(seqDiff(65535, 0)).toBe(-1);
    expect(seqDiff(32768, 0)).toBe(-32768);
    expect(seqNewer(1, 65000)).toBe(true);
    expect(seqNewer(65000, 1)).toBe(false);
    expect(seqNewer(7, 7)).toBe(false);
  });
});

describe('RTP header extension elements (RFC 8285)', () => {
  const base: RtpPacket = {
    marker: false,
    payloadType: 26,
    sequenceNumber: 7,
    timestamp: 9,
    ssrc: 11,
    csrcs: [],
    payload: hex('c0ffee'),
  };

  it('reads the one-byte form of RFC 8285 section 4.2, skipping padding and stopping at ID 15', () => {
    // ID 1 L=0 (1 byte), padding, ID 2 L=1 (2 bytes), ID 15: the rest is ignored
    const ext = { profile: RTP_EXT_PROFILE_ONE_BYTE, data: hex('10aa 00 21bbcc f0 ffff') };
    expect(decodeExtensionElements(ext)).toEqual({
      ok: true,
      value: [
        { id: 1, data: hex('aa') },
        { id: 2, data: hex('bbcc') },
      ],
    });
  });

  it('reads the two-byte form of RFC 8285 section 4.3, with a zero-length element and padding', () => {
    const ext = { profile: 0x1003, data: hex('0100 00 0203aabbcc 00 00 ff01dd 000000') };
    expect(decodeExtensionElements(ext)).toEqual({
      ok: true,
      value: [
        { id: 1, data: Buffer.alloc(0) },
        { id: 2, data: hex('aabbcc') },
        { id: 255, data: hex('dd') },
      ],
    });
  });

  it('writes the two-byte form byte for byte, zero-padded to 32 bits', () => {
    const ext = encodeExtensionElements([
      { id: 1, data: hex('aabbcc') },
      { id: 200, data: Buffer.alloc(0) },
    ]);
    expect(ext).toEqual({ profile: RTP_EXT_PROFILE_TWO_BYTE, data: hex('0103aabbcc c800 00') });
    expect(extensionElementsBytes([3, 0])).toBe(4 + ext.data.length);
    expect(extensionElementsBytes([])).toBe(0);
  });

  it('round-trips through a whole RTP packet', () => {
    const elements = [
      { id: 1, data: Buffer.alloc(74, 1) },
      { id: 2, data: Buffer.alloc(240, 2) },
      { id: 2, data: Buffer.alloc(16, 3) },
    ];
    const buf = encodeRtp({ ...base, extension: encodeExtensionElements(elements) });
    const r = decodeRtp(buf);
    expect(r.ok && r.value.extension !== undefined && decodeExtensionElements(r.value.extension)).toEqual({
      ok: true,
      value: elements,
    });
    expect(r.ok && r.value.payload).toEqual(base.payload);
  });

  it('refuses elements that run past the extension, and foreign profiles', () => {
    expect(decodeExtensionElements({ profile: RTP_EXT_PROFILE_TWO_BYTE, data: hex('0105aabbcc00') })).toEqual({
      ok: false,
      reason: 'truncated',
    });
    expect(decodeExtensionElements({ profile: RTP_EXT_PROFILE_TWO_BYTE, data: hex('000001') })).toEqual({
      ok: false,
      reason: 'truncated',
    });
    expect(decodeExtensionElements({ profile: RTP_EXT_PROFILE_ONE_BYTE, data: hex('13aabb') })).toEqual({
      ok: false,
      reason: 'truncated',
    });
    expect(decodeExtensionElements({ profile: 0xabcd, data: hex('00000000') })).toEqual({
      ok: false,
      reason: 'unsupported',
    });
  });

  it('throws RtpEncodeError for elements the two-byte form cannot carry', () => {
    expect(() => encodeExtensionElements([{ id: 0, data: Buffer.alloc(1) }])).toThrow(RtpEncodeError);
    expect(() => encodeExtensionElements([{ id: 256, data: Buffer.alloc(1) }])).toThrow(RtpEncodeError);
    expect(() => encodeExtensionElements([{ id: 1, data: Buffer.alloc(256) }])).toThrow(RtpEncodeError);
  });

  it('never throws on random extension bytes in either form', () => {
    const profiles = fc.constantFrom(RTP_EXT_PROFILE_ONE_BYTE, RTP_EXT_PROFILE_TWO_BYTE, 0x100f, 0);
    fc.assert(
      fc.property(profiles, fc.uint8Array({ maxLength: 600 }), (profile, bytes) => {
        const r = decodeExtensionElements({ profile, data: Buffer.from(bytes) });
        if (r.ok) for (const e of r.value) expect(e.id).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});
