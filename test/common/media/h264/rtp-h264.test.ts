import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { H264Depacketizer } from '../../../../common/media/h264/h264-depacketizer.ts';
import {
  DEFAULT_MAX_PAYLOAD,
  decodeH264Payload,
  h264PayloadHasKeyframe,
  packetizeH264,
  packetizeH264Fitted,
  RtpH264Error,
} from '../../../../common/media/h264/rtp-h264.ts';
import type { RtpPacket } from '../../../../common/wire/rtp.ts';

const sps = Buffer.from('674d400deca0a0fd80880000030008000003019078a14cb0', 'hex');
const pps = Buffer.from('68ebecb22c', 'hex');

function nal(header: number, bytes: number, seed = 1): Buffer {
  const b = Buffer.alloc(bytes);
  b[0] = header;
  for (let i = 1; i < bytes; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Payloads of consecutive access units as RTP packets, marker on each unit's last. */
function packets(units: readonly (readonly Buffer[])[], maxPayload = DEFAULT_MAX_PAYLOAD, firstSeq = 65530) {
  const out: RtpPacket[] = [];
  let seq = firstSeq;
  units.forEach((nals, i) => {
    const payloads = packetizeH264(nals, maxPayload);
    payloads.forEach((payload, j) => {
      out.push({
        marker: j === payloads.length - 1,
        payloadType: 96,
        sequenceNumber: seq,
        timestamp: 3000 * i,
        ssrc: 1,
        csrcs: [],
        payload,
      });
      seq = (seq + 1) & 0xffff;
    });
  });
  return out;
}

describe('packetizeH264', () => {
  it('sends a lone unit that fits as a single NAL unit packet', () => {
    const slice = nal(0x41, 1000);
    expect(packetizeH264([slice])).toEqual([slice]);
  });

  it('aggregates SPS, PPS and a small slice into one STAP-A with the highest NRI', () => {
    const idr = nal(0x25, 100);
    const [stap, ...rest] = packetizeH264([sps, pps, idr]);
    expect(rest).toEqual([]);
    expect(stap?.[0]).toBe(0x60 | 24); // NRI 3 (from the SPS), type 24
    expect(decodeH264Payload(stap ?? Buffer.alloc(0))).toEqual({
      ok: true,
      value: { kind: 'stap-a', nals: [sps, pps, idr] },
    });
  });

  it('fragments a large unit into FU-As within the payload size, S on the first and E on the last', () => {
    const idr = nal(0x65, 5000);
    const payloads = packetizeH264([sps, pps, idr], 1200);
    expect(payloads.length).toBe(6); // STAP-A + ceil(4999 / 1198) = 5 fragments
    expect(payloads.every((p) => p.length <= 1200)).toBe(true);
    const fus = payloads.slice(1).map((p) => decodeH264Payload(p));
    const values = fus.map((r) => (r.ok && r.value.kind === 'fu-a' ? r.value : undefined));
    expect(values.map((v) => [v?.start, v?.end, v?.nalHeader])).toEqual([
      [true, false, 0x65],
      [false, false, 0x65],
      [false, false, 0x65],
      [false, false, 0x65],
      [false, true, 0x65],
    ]);
    expect(Buffer.concat([Buffer.from([0x65]), ...values.map((v) => v?.data ?? Buffer.alloc(0))])).toEqual(idr);
  });

  it('starts a new packet when the next unit does not fit the STAP-A', () => {
    const a = nal(0x41, 600);
    const b = nal(0x41, 600, 2);
    const c = nal(0x41, 600, 3);
    expect(packetizeH264([a, b, c], 1300).map((p) => p.length)).toEqual([1 + 2 * 602, 600]);
  });

  it('keeps each packet within its own budget, and fits budgets that shrink with the count', () => {
    const units = [sps, pps, nal(0x65, 5000), nal(0x06, 30)];
    const budget = (i: number) => (i === 0 ? 40 : 700);
    const payloads = packetizeH264(units, budget);
    expect(payloads.every((p, i) => p.length <= budget(i))).toBe(true);
    const fitted = (i: number, n: number) => 1000 - 40 * n - (i === 0 ? 60 : 0);
    const fit = packetizeH264Fitted(units, fitted);
    expect(fit.every((p, i) => p.length <= fitted(i, fit.length))).toBe(true);
    for (const ps of [payloads, fit]) {
      const d = new H264Depacketizer();
      const out = ps.flatMap((payload, i) =>
        d.push({
          marker: i === ps.length - 1,
          payloadType: 96,
          sequenceNumber: i,
          timestamp: 0,
          ssrc: 1,
          csrcs: [],
          payload,
        }),
      );
      expect(out.map((au) => au.nals)).toEqual([units]);
    }
    expect(() => packetizeH264Fitted(units, (_, n) => (n > 2 ? 2 : 1400))).toThrow(RtpH264Error);
  });

  it('throws for empty input, packetization NAL types and impossible sizes', () => {
    expect(() => packetizeH264([])).toThrow(RtpH264Error);
    expect(() => packetizeH264([Buffer.alloc(0)])).toThrow(RtpH264Error);
    expect(() => packetizeH264([nal(0x7c, 10)])).toThrow(RtpH264Error);
    expect(() => packetizeH264([nal(0x41, 10)], 2)).toThrow(RtpH264Error);
    expect(() => packetizeH264([nal(0x41, 10)], 70000)).toThrow(RtpH264Error);
  });
});

describe('decodeH264Payload', () => {
  it('refuses each malformed shape', () => {
    expect(decodeH264Payload(Buffer.alloc(0))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeH264Payload(Buffer.from([0xc1, 1]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeH264Payload(Buffer.from([24]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeH264Payload(Buffer.from([24, 0]))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeH264Payload(Buffer.from([24, 0, 5, 0x41]))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeH264Payload(Buffer.from([24, 0, 0]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeH264Payload(Buffer.from([28]))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeH264Payload(Buffer.from([28, 0xc5, 1]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeH264Payload(Buffer.from([28, 0x85]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeH264Payload(Buffer.from([25, 0, 1]))).toEqual({ ok: false, reason: 'unsupported' });
    expect(decodeH264Payload(Buffer.from([29, 0x85, 1]))).toEqual({ ok: false, reason: 'unsupported' });
    expect(decodeH264Payload(Buffer.from([0, 1]))).toEqual({ ok: false, reason: 'unsupported' });
  });
});

describe('h264PayloadHasKeyframe', () => {
  it('finds an SPS or the start of an IDR slice in any packet shape', () => {
    const idr = nal(0x65, 3000);
    const [stap] = packetizeH264([sps, pps, nal(0x06, 10)]);
    const fus = packetizeH264([idr], 1000);
    expect(h264PayloadHasKeyframe(stap ?? Buffer.alloc(0))).toBe(true);
    expect(fus.map(h264PayloadHasKeyframe)).toEqual([true, false, false, false]);
    expect(h264PayloadHasKeyframe(nal(0x65, 20))).toBe(true);
    expect(h264PayloadHasKeyframe(nal(0x41, 20))).toBe(false);
    expect(packetizeH264([nal(0x41, 3000)], 1000).some(h264PayloadHasKeyframe)).toBe(false);
    expect(h264PayloadHasKeyframe(Buffer.from([24, 0, 9]))).toBe(false);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => void h264PayloadHasKeyframe(Buffer.from(b))));
  });
});

describe('H264Depacketizer', () => {
  const units = [
    [sps, pps, nal(0x65, 4000)],
    [nal(0x41, 300), nal(0x41, 900, 2)],
    [nal(0x01, 20)],
    [nal(0x41, 2500, 3)],
  ];

  it('rebuilds every access unit byte for byte, across a sequence wrap', () => {
    for (const max of [40, 100, 1400]) {
      const d = new H264Depacketizer();
      const out = packets(units, max).flatMap((p) => d.push(p));
      expect(out.map((au) => au.nals)).toEqual(units);
      expect(out.every((au) => au.complete && au.marked)).toBe(true);
      expect(out.map((au) => au.timestamp)).toEqual([0, 3000, 6000, 9000]);
      expect(d.counters).toMatchObject({ lost: 0, malformed: 0, brokenFragments: 0, complete: 4, incomplete: 0 });
    }
  });

  it('marks the access unit that lost a packet, and the next ones stay whole', () => {
    const all = packets(units, 1000);
    const lostIndex = 2; // a middle FU-A of the IDR
    const d = new H264Depacketizer();
    const out = all.filter((_, i) => i !== lostIndex).flatMap((p) => d.push(p));
    expect(out.map((au) => au.complete)).toEqual([false, true, true, true]);
    expect(out[0]?.nals).toEqual([sps, pps]); // the broken IDR slice is not handed on
    expect(d.counters.lost).toBe(1);
    expect(d.counters.brokenFragments).toBeGreaterThan(0);
  });

  it('sees a lost marker packet when the timestamp changes, and a lost first packet of a unit', () => {
    const all = packets(units, 1000);
    const firstOfSecond = all.findIndex((p) => p.timestamp === 3000);
    const d = new H264Depacketizer();
    const out = all.filter((_, i) => i !== firstOfSecond - 1).flatMap((p) => d.push(p));
    expect(out.map((au) => [au.timestamp, au.complete, au.marked])).toEqual([
      [0, false, false],
      [3000, false, true], // lost packets might have been its own
      [6000, true, true],
      [9000, true, true],
    ]);
  });

  it('ends access units at timestamp changes for a sender that sets no marker', () => {
    const d = new H264Depacketizer();
    const out = packets(units, 1000).flatMap((p) => d.push({ ...p, marker: false }));
    const last = d.flush();
    expect(out.map((au) => [au.nals, au.complete, au.marked])).toEqual(units.slice(0, 3).map((u) => [u, true, false]));
    expect(last?.nals).toEqual(units[3]);
  });

  it('counts duplicates and late packets without using them', () => {
    const all = packets(units, 1000);
    const d = new H264Depacketizer();
    const first = all[0];
    const second = all[1];
    if (first === undefined || second === undefined) throw new Error('too few packets');
    d.push(first);
    d.push(first);
    d.push(second);
    d.push(first);
    expect(d.counters).toMatchObject({ duplicates: 1, late: 1 });
    const out = all.slice(2).flatMap((p) => d.push(p));
    expect(out.map((au) => au.nals)).toEqual(units);
  });

  it('never throws on random payloads and sequence numbers, and keeps its counts consistent', () => {
    const arbPacket = fc.record({
      marker: fc.boolean(),
      payloadType: fc.constant(96),
      sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
      timestamp: fc.integer({ min: 0, max: 5 }),
      ssrc: fc.constant(1),
      csrcs: fc.constant([]),
      payload: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    });
    fc.assert(
      fc.property(fc.array(arbPacket, { maxLength: 60 }), (ps) => {
        const d = new H264Depacketizer();
        const out = ps.flatMap((p) => d.push(p));
        const last = d.flush();
        const total = out.length + (last === undefined ? 0 : 1);
        expect(d.counters.complete + d.counters.incomplete).toBe(total);
        for (const au of out) if (au.complete) expect(au.nals.length).toBeGreaterThan(0);
      }),
    );
  });
});
