import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Bye,
  decodeRtcp,
  encodeRtcp,
  type GenericNack,
  ntpFromUnixMs,
  packNack,
  type ReceiverReport,
  type ReportBlock,
  RTCP_MAX_COMPOUND_BYTES,
  RTCP_MAX_NACK_ENTRIES,
  RTCP_MAX_REPORT_BLOCKS,
  RTCP_MAX_SOURCES,
  type RtcpPacket,
  RtcpEncodeError,
  type Sdes,
  type SenderReport,
  unpackNack,
} from '../../../common/wire/rtcp.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const block: ReportBlock = {
  ssrc: 0x01020304,
  fractionLost: 64,
  cumulativeLost: -2,
  highestSeq: 0x00010064,
  jitter: 32,
  lastSr: 0xb2c38000,
  delaySinceLastSr: 65536,
};

const sr: SenderReport = {
  type: 'sr',
  ssrc: 0xdeadbeef,
  ntpSec: 0xe8a1b2c3,
  ntpFrac: 0x80000000,
  rtpTimestamp: 90000,
  packetCount: 10,
  octetCount: 4000,
  reports: [block],
};
const rr: ReceiverReport = { type: 'rr', ssrc: 0xcafebabe, reports: [] };
const sdes: Sdes = { type: 'sdes', chunks: [{ ssrc: 0xdeadbeef, cname: 'user@host', items: [] }] };
const bye: Bye = { type: 'bye', ssrcs: [0xdeadbeef], reason: 'bye' };
const nack: GenericNack = { type: 'nack', senderSsrc: 0xcafebabe, mediaSsrc: 0xdeadbeef, lost: [100, 101, 105, 120] };

// Built field by field from the RFC 3550 / RFC 4585 diagrams.
const SR_HEX =
  '81 c8 000c deadbeef  e8a1b2c3 80000000 00015f90 0000000a 00000fa0' +
  '  01020304 40 fffffe 00010064 00000020 b2c38000 00010000';
const RR_HEX = '80 c9 0001 cafebabe';
const SDES_HEX = '81 ca 0004 deadbeef  01 09 7573657240686f7374 00';
const BYE_HEX = '81 cb 0002 deadbeef  03 627965';
const NACK_HEX = '81 cd 0004 cafebabe deadbeef  0064 0011  0078 0000';

describe('decodeRtcp against RFC vectors', () => {
  it('reads a sender report with one report block (RFC 3550 6.4.1)', () => {
    expect(decodeRtcp(hex(SR_HEX))).toEqual({ ok: true, value: [sr] });
  });

  it('reads an empty receiver report (RFC 3550 6.4.2)', () => {
    expect(decodeRtcp(hex(RR_HEX))).toEqual({ ok: true, value: [rr] });
  });

  it('reads an SDES CNAME chunk ended by a null octet (RFC 3550 6.5)', () => {
    expect(decodeRtcp(hex(SDES_HEX))).toEqual({ ok: true, value: [sdes] });
  });

  it('reads SDES chunks with several items, a full word of END padding and an empty chunk', () => {
    // chunk 1: CNAME "a", TOOL "x", NOTE "" = 8 bytes of items, END + 3 nulls; chunk 2: no items.
    const buf = hex('82 ca 0006  00000001 0101 61 0601 78 0700 00000000  00000002 00000000');
    expect(decodeRtcp(buf)).toEqual({
      ok: true,
      value: [
        {
          type: 'sdes',
          chunks: [
            {
              ssrc: 1,
              cname: 'a',
              items: [
                { type: 6, text: 'x' },
                { type: 7, text: '' },
              ],
            },
            { ssrc: 2, items: [] },
          ],
        },
      ],
    });
  });

  it('reads a BYE with a reason (RFC 3550 6.6) and without one', () => {
    expect(decodeRtcp(hex(BYE_HEX))).toEqual({ ok: true, value: [bye] });
    expect(decodeRtcp(hex('82 cb 0002 00000001 00000002'))).toEqual({
      ok: true,
      value: [{ type: 'bye', ssrcs: [1, 2] }],
    });
  });

  it('reads a generic NACK (RFC 4585 6.2.1) into sequence numbers', () => {
    expect(decodeRtcp(hex(NACK_HEX))).toEqual({ ok: true, value: [nack] });
  });

  it('reads a compound SR + SDES and strips padding from the last packet', () => {
    expect(decodeRtcp(hex(SR_HEX + SDES_HEX))).toEqual({ ok: true, value: [sr, sdes] });
    // RR with P=1 and 4 bytes of padding counted by its last octet.
    expect(decodeRtcp(hex('a0 c9 0002 cafebabe 00000004'))).toEqual({ ok: true, value: [rr] });
  });

  it('skips profile-specific extensions after the report blocks', () => {
    expect(decodeRtcp(hex('80 c9 0002 cafebabe 12345678'))).toEqual({ ok: true, value: [rr] });
  });

  it('keeps APP, other feedback and unknown types as opaque packets', () => {
    // APP subtype 3, name "TEST", one word of data; PSFB PLI (FMT 1); RTPFB FMT 3 (TMMBR).
    const app = hex('83 cc 0003 00000001 54455354 abcdef01');
    const pli = hex('81 ce 0002 00000001 00000002');
    const tmmbr = hex('83 cd 0002 00000001 00000000');
    expect(decodeRtcp(Buffer.concat([app, pli, tmmbr]))).toEqual({
      ok: true,
      value: [
        { type: 'other', packetType: 204, count: 3, data: hex('00000001 54455354 abcdef01') },
        { type: 'other', packetType: 206, count: 1, data: hex('00000001 00000002') },
        { type: 'other', packetType: 205, count: 3, data: hex('00000001 00000000') },
      ],
    });
  });
});

describe('decodeRtcp rejections', () => {
  it('refuses empty and partial headers as truncated', () => {
    expect(decodeRtcp(Buffer.alloc(0))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeRtcp(hex('80 c9 00'))).toEqual({ ok: false, reason: 'truncated' });
  });

  it('refuses a length field that runs past the end as truncated', () => {
    expect(decodeRtcp(hex('80 c9 0002 cafebabe'))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeRtcp(hex(SR_HEX).subarray(0, 40))).toEqual({ ok: false, reason: 'truncated' });
  });

  it('refuses a compound with stray bytes after the last packet', () => {
    expect(decodeRtcp(hex(`${RR_HEX}00`))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeRtcp(hex(`${RR_HEX}8000`))).toEqual({ ok: false, reason: 'truncated' });
  });

  it('refuses versions other than 2 anywhere in the compound as unsupported', () => {
    expect(decodeRtcp(hex('40 c9 0001 cafebabe'))).toEqual({ ok: false, reason: 'unsupported' });
    expect(decodeRtcp(hex(`${RR_HEX}00 c9 0001 cafebabe`))).toEqual({ ok: false, reason: 'unsupported' });
  });

  it('refuses packet types outside the RTCP range (RTP on the wrong port)', () => {
    expect(decodeRtcp(hex('80 1a 0001 00000000'))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRtcp(hex('80 e0 0001 00000000'))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses padding anywhere but on the last packet', () => {
    const paddedFirst = hex(`a0 c9 0002 cafebabe 00000004${RR_HEX}`);
    expect(decodeRtcp(paddedFirst)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a zero padding count or one larger than the packet body', () => {
    expect(decodeRtcp(hex('a0 c9 0002 cafebabe 00000000'))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRtcp(hex('a0 c9 0002 cafebabe 00000009'))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses report counts the packet is too short to hold', () => {
    expect(decodeRtcp(hex('81 c9 0001 cafebabe'))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRtcp(hex('80 c8 0001 deadbeef'))).toEqual({ ok: false, reason: 'malformed' });
    // Padding that eats into the report block leaves too little behind.
    expect(decodeRtcp(hex('a1 c9 0007 cafebabe 01020304 40fffffe 00010064 00000020 b2c38000 00000008'))).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('refuses SDES chunks that overrun, lack END, repeat CNAME or leave stray words', () => {
    const overrun = hex('81 ca 0002 00000001 01 09 616200');
    const noEnd = hex('81 ca 0002 00000001 0102 6162');
    const twoCnames = hex('81 ca 0003 00000001 0101 61 0101 62 0000');
    const stray = hex('81 ca 0003 00000001 0101 61 00 00000000');
    const missingChunk = hex('82 ca 0002 00000001 0101 61 00');
    for (const buf of [overrun, noEnd, twoCnames, stray, missingChunk]) {
      expect(decodeRtcp(buf)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('refuses a BYE whose sources or reason overrun the packet', () => {
    expect(decodeRtcp(hex('82 cb 0001 00000001'))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRtcp(hex('81 cb 0002 00000001 05 616263'))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a NACK without a PID+BLP word', () => {
    expect(decodeRtcp(hex('81 cd 0002 cafebabe deadbeef'))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRtcp(hex('81 cd 0001 cafebabe'))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a compound larger than the limit as oversize', () => {
    const words = RTCP_MAX_COMPOUND_BYTES / 4;
    const max = Buffer.alloc(RTCP_MAX_COMPOUND_BYTES);
    max.write('80cc', 'hex');
    max.writeUInt16BE(words - 1, 2);
    expect(decodeRtcp(max).ok).toBe(true);
    const over = Buffer.concat([max, hex(RR_HEX)]);
    expect(decodeRtcp(over)).toEqual({ ok: false, reason: 'oversize' });
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        decodeRtcp(Buffer.from(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on random bodies behind valid headers of every type', () => {
    const piece = fc
      .record({
        padding: fc.boolean(),
        count: fc.integer({ min: 0, max: 31 }),
        packetType: fc.integer({ min: 198, max: 207 }),
        body: fc
          .integer({ min: 0, max: 20 })
          .chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 })),
      })
      .map(({ padding, count, packetType, body }) => {
        const buf = Buffer.alloc(4 + body.length);
        buf[0] = 0x80 | (padding ? 0x20 : 0) | count;
        buf[1] = packetType;
        buf.writeUInt16BE(body.length / 4, 2);
        Buffer.from(body).copy(buf, 4);
        return buf;
      });
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 4 }), (pieces) => {
        const r = decodeRtcp(Buffer.concat(pieces));
        if (r.ok) expect(r.value).toHaveLength(pieces.length);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('encodeRtcp', () => {
  it('writes each RFC vector byte for byte', () => {
    expect(encodeRtcp([sr])).toEqual(hex(SR_HEX));
    expect(encodeRtcp([rr])).toEqual(hex(RR_HEX));
    expect(encodeRtcp([sdes])).toEqual(hex(SDES_HEX));
    expect(encodeRtcp([bye])).toEqual(hex(BYE_HEX));
    expect(encodeRtcp([nack])).toEqual(hex(NACK_HEX));
  });

  it('round-trips each packet type', () => {
    const packets: RtcpPacket[] = [
      sr,
      { ...sr, reports: [] },
      { ...rr, reports: Array.from({ length: RTCP_MAX_REPORT_BLOCKS }, (_, i) => ({ ...block, ssrc: i })) },
      {
        ...rr,
        reports: [
          { ...block, cumulativeLost: -0x800000 },
          { ...block, cumulativeLost: 0x7fffff },
        ],
      },
      sdes,
      {
        type: 'sdes',
        chunks: [
          {
            ssrc: 1,
            cname: 'π@例え.jp',
            items: [
              { type: 2, text: 'Émile' },
              { type: 6, text: 'onode' },
            ],
          },
          { ssrc: 2, items: [{ type: 8, text: '\u0003abcvalue' }] },
          { ssrc: 3, items: [] },
        ],
      },
      { type: 'sdes', chunks: [] },
      bye,
      { type: 'bye', ssrcs: [] },
      { type: 'bye', ssrcs: [1, 2, 3], reason: '' },
      nack,
      { type: 'other', packetType: 204, count: 0, data: hex('00000001 4f4e4f44') },
    ];
    for (const p of packets) expect(decodeRtcp(encodeRtcp([p]))).toEqual({ ok: true, value: [p] });
  });

  it('round-trips the compounds a sender and a receiver send', () => {
    const senderCompound: RtcpPacket[] = [sr, sdes];
    const receiverLeaving: RtcpPacket[] = [{ ...rr, reports: [block] }, sdes, bye];
    expect(decodeRtcp(encodeRtcp(senderCompound))).toEqual({ ok: true, value: senderCompound });
    expect(decodeRtcp(encodeRtcp(receiverLeaving))).toEqual({ ok: true, value: receiverLeaving });
    expect(encodeRtcp(receiverLeaving)).toHaveLength(8 + 24 + 20 + 12);
  });

  it('throws RtcpEncodeError for values RTCP cannot represent', () => {
    const bad: RtcpPacket[][] = [
      [],
      [{ ...sr, ssrc: -1 }],
      [{ ...sr, ntpFrac: 2 ** 32 }],
      [{ ...rr, reports: [{ ...block, fractionLost: 256 }] }],
      [{ ...rr, reports: [{ ...block, cumulativeLost: 0x800000 }] }],
      [{ ...rr, reports: [{ ...block, cumulativeLost: -0x800001 }] }],
      [{ ...rr, reports: [{ ...block, jitter: 1.5 }] }],
      [{ ...rr, reports: new Array<ReportBlock>(RTCP_MAX_REPORT_BLOCKS + 1).fill(block) }],
      [{ type: 'sdes', chunks: Array.from({ length: RTCP_MAX_SOURCES + 1 }, () => ({ ssrc: 1, items: [] })) }],
      [{ type: 'sdes', chunks: [{ ssrc: 1, cname: 'x'.repeat(256), items: [] }] }],
      [{ type: 'sdes', chunks: [{ ssrc: 1, items: [{ type: 2, text: 'é'.repeat(128) }] }] }],
      [{ type: 'sdes', chunks: [{ ssrc: 1, items: [{ type: 1, text: 'cname' }] }] }],
      [{ type: 'sdes', chunks: [{ ssrc: 1, items: [{ type: 0, text: '' }] }] }],
      [{ type: 'bye', ssrcs: new Array<number>(RTCP_MAX_SOURCES + 1).fill(1) }],
      [{ type: 'bye', ssrcs: [1], reason: 'x'.repeat(256) }],
      [{ ...nack, lost: [] }],
      [{ ...nack, lost: [65536] }],
      [{ ...nack, mediaSsrc: 2 ** 32 }],
      [{ type: 'other', packetType: 200, count: 0, data: Buffer.alloc(0) }],
      [{ type: 'other', packetType: 205, count: 1, data: Buffer.alloc(8) }],
      [{ type: 'other', packetType: 96, count: 0, data: Buffer.alloc(0) }],
      [{ type: 'other', packetType: 204, count: 32, data: Buffer.alloc(0) }],
      [{ type: 'other', packetType: 204, count: 0, data: Buffer.alloc(3) }],
      [{ type: 'other', packetType: 204, count: 0, data: Buffer.alloc(RTCP_MAX_COMPOUND_BYTES) }],
    ];
    for (const packets of bad) expect(() => encodeRtcp(packets)).toThrow(RtcpEncodeError);
  });

  it('caps a NACK at the entries a compound can hold', () => {
    const lost = (n: number): number[] => Array.from({ length: n }, (_, i) => i * 17);
    expect(decodeRtcp(encodeRtcp([{ ...nack, lost: lost(RTCP_MAX_NACK_ENTRIES) }])).ok).toBe(true);
    expect(() => encodeRtcp([{ ...nack, lost: lost(RTCP_MAX_NACK_ENTRIES + 1) }])).toThrow(RtcpEncodeError);
  });

  it('round-trips arbitrary compounds', () => {
    const u32 = fc.nat({ max: 0xffffffff });
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const reportBlock = fc.record({
      ssrc: u32,
      fractionLost: fc.integer({ min: 0, max: 255 }),
      cumulativeLost: fc.integer({ min: -0x800000, max: 0x7fffff }),
      highestSeq: u32,
      jitter: u32,
      lastSr: u32,
      delaySinceLastSr: u32,
    });
    const reports = fc.array(reportBlock, { maxLength: 4 });
    const packet: fc.Arbitrary<RtcpPacket> = fc.oneof(
      fc.record({
        type: fc.constant('sr' as const),
        ssrc: u32,
        ntpSec: u32,
        ntpFrac: u32,
        rtpTimestamp: u32,
        packetCount: u32,
        octetCount: u32,
        reports,
      }),
      fc.record({ type: fc.constant('rr' as const), ssrc: u32, reports }),
      fc.record({
        type: fc.constant('sdes' as const),
        chunks: fc.array(
          fc.record(
            {
              ssrc: u32,
              cname: text,
              items: fc.array(fc.record({ type: fc.integer({ min: 2, max: 255 }), text }), { maxLength: 3 }),
            },
            { requiredKeys: ['ssrc', 'items'] },
          ),
          { maxLength: 3 },
        ),
      }),
      fc.record(
        { type: fc.constant('bye' as const), ssrcs: fc.array(u32, { maxLength: 5 }), reason: text },
        { requiredKeys: ['type', 'ssrcs'] },
      ),
      fc.record({
        type: fc.constant('nack' as const),
        senderSsrc: u32,
        mediaSsrc: u32,
        lost: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 40 }),
      }),
      fc.record({
        type: fc.constant('other' as const),
        packetType: fc.constantFrom(192, 204, 206, 207, 223),
        count: fc.integer({ min: 0, max: 31 }),
        data: fc
          .integer({ min: 0, max: 8 })
          .chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w }).map((b) => Buffer.from(b))),
      }),
    );
    // A decoded NACK lists its losses once each, in send order: what unpack(pack(x)) gives.
    const expected = (p: RtcpPacket): RtcpPacket =>
      p.type === 'nack' ? { ...p, lost: unpackNack(packNack(p.lost)) } : p;
    fc.assert(
      fc.property(fc.array(packet, { minLength: 1, maxLength: 4 }), (packets) => {
        const buf = encodeRtcp(packets);
        expect(buf.length % 4).toBe(0);
        expect(decodeRtcp(buf)).toEqual({ ok: true, value: packets.map(expected) });
      }),
      { numRuns: 500 },
    );
  });
});

describe('generic NACK packing', () => {
  it('packs lost [100, 101, 105, 120] into two PID+BLP words', () => {
    expect(packNack([100, 101, 105, 120])).toEqual([
      { pid: 100, blp: 0b0000_0000_0001_0001 },
      { pid: 120, blp: 0 },
    ]);
    expect(
      unpackNack([
        { pid: 100, blp: 0x0011 },
        { pid: 120, blp: 0 },
      ]),
    ).toEqual([100, 101, 105, 120]);
  });

  it('covers exactly the 16 numbers after the PID', () => {
    expect(packNack([10, 26])).toEqual([{ pid: 10, blp: 0x8000 }]);
    expect(packNack([10, 27])).toEqual([
      { pid: 10, blp: 0 },
      { pid: 27, blp: 0 },
    ]);
    expect(unpackNack([{ pid: 0, blp: 0xffff }])).toEqual(Array.from({ length: 17 }, (_, i) => i));
  });

  it('keeps a loss burst across the 65535 -> 0 wrap in one word, whatever the input order', () => {
    expect(packNack([5, 1, 65535, 0, 1])).toEqual([{ pid: 65535, blp: 0b10_0011 }]);
    expect(unpackNack([{ pid: 65535, blp: 0b10_0011 }])).toEqual([65535, 0, 1, 5]);
  });

  it('deduplicates overlapping words when unpacking', () => {
    expect(
      unpackNack([
        { pid: 7, blp: 1 },
        { pid: 8, blp: 0 },
        { pid: 7, blp: 0 },
      ]),
    ).toEqual([7, 8]);
  });

  it('loses and invents nothing, and is stable once packed', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 200 }), (lost) => {
        const entries = packNack(lost);
        const back = unpackNack(entries);
        expect([...back].sort((a, b) => a - b)).toEqual([...new Set(lost)].sort((a, b) => a - b));
        expect(entries.length).toBeLessThanOrEqual(new Set(lost).size);
        expect(packNack(back)).toEqual(entries);
        expect(unpackNack(packNack(back))).toEqual(back);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects sequence numbers that are not 16-bit', () => {
    expect(() => packNack([-1])).toThrow(RtcpEncodeError);
    expect(() => packNack([1.5])).toThrow(RtcpEncodeError);
  });
});

describe('NTP timestamps', () => {
  it('converts Unix milliseconds to NTP seconds and binary fraction', () => {
    expect(ntpFromUnixMs(0)).toEqual({ ntpSec: 2_208_988_800, ntpFrac: 0 });
    expect(ntpFromUnixMs(1500)).toEqual({ ntpSec: 2_208_988_801, ntpFrac: 0x80000000 });
    expect(ntpFromUnixMs(250.5)).toEqual({ ntpSec: 2_208_988_800, ntpFrac: Math.floor((250.5 / 1000) * 2 ** 32) });
  });

  it('wraps into the next NTP era on 2036-02-07T06:28:16Z', () => {
    const rollover = Date.UTC(2036, 1, 7, 6, 28, 16);
    expect(ntpFromUnixMs(rollover - 1000).ntpSec).toBe(0xffffffff);
    expect(ntpFromUnixMs(rollover)).toEqual({ ntpSec: 0, ntpFrac: 0 });
  });

  it('keeps the fraction in 32 bits for any time', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 4e12, noNaN: true }), (ms) => {
        const { ntpSec, ntpFrac } = ntpFromUnixMs(ms);
        expect(ntpSec).toBeGreaterThanOrEqual(0);
        expect(ntpSec).toBeLessThanOrEqual(0xffffffff);
        expect(ntpFrac).toBeGreaterThanOrEqual(0);
        expect(ntpFrac).toBeLessThanOrEqual(0xffffffff);
      }),
    );
  });
});
