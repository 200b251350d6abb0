import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AacDepacketizer } from '../../../../common/media/aac/aac-depacketizer.ts';
import {
  type AacFrame,
  type AacRtpPayload,
  decodeAacPayload,
  MAX_AAC_FRAME_BYTES,
  packetizeAac,
  RtpAacError,
} from '../../../../common/media/aac/rtp-aac.ts';
import type { RtpPacket } from '../../../../common/wire/rtp.ts';

function frame(timestamp: number, bytes: number): AacFrame {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 7 + timestamp) & 0xff;
  return { timestamp, data };
}

function rtp(payloads: readonly AacRtpPayload[], firstSeq = 65534): RtpPacket[] {
  return payloads.map((p, i) => ({
    marker: p.marker,
    payloadType: 97,
    sequenceNumber: (firstSeq + i) & 0xffff,
    timestamp: p.timestamp,
    ssrc: 2,
    csrcs: [],
    payload: p.payload,
  }));
}

const frames = [frame(0, 200), frame(1024, 300), frame(2048, 250), frame(3072, 9), frame(4096, 2500), frame(5120, 10)];

describe('packetizeAac', () => {
  it('aggregates consecutive frames, with one 13+3-bit header each', () => {
    const [p, ...rest] = packetizeAac(frames.slice(0, 3), { maxFramesPerPacket: 8 });
    expect(rest).toEqual([]);
    expect(p?.timestamp).toBe(0);
    expect(p?.marker).toBe(true);
    expect(p?.payload.subarray(0, 8).toString('hex')).toBe(`0030${(200 << 3).toString(16).padStart(4, '0')}096007d0`);
    expect(decodeAacPayload(p?.payload ?? Buffer.alloc(0))).toEqual({
      ok: true,
      value: { kind: 'frames', frames: frames.slice(0, 3).map((f) => f.data) },
    });
  });

  it('respects the frame count, the payload size and timestamp gaps', () => {
    expect(packetizeAac(frames.slice(0, 4), { maxFramesPerPacket: 2 }).map((p) => p.timestamp)).toEqual([0, 2048]);
    expect(packetizeAac(frames.slice(0, 3), { maxPayload: 600 }).map((p) => p.timestamp)).toEqual([0, 2048]);
    const gap = [frame(0, 10), frame(5000, 10)];
    expect(packetizeAac(gap).map((p) => p.timestamp)).toEqual([0, 5000]);
  });

  it('fragments a frame larger than a packet, marker on the last piece only', () => {
    const out = packetizeAac([frame(4096, 2500)], { maxPayload: 1000 });
    expect(out.map((p) => [p.payload.length, p.timestamp, p.marker])).toEqual([
      [1000, 4096, false],
      [1000, 4096, false],
      [4 + 2500 - 2 * 996, 4096, true],
    ]);
    expect(out.every((p) => p.payload.readUInt16BE(2) >> 3 === 2500)).toBe(true);
  });

  it('throws for frames and sizes it cannot send', () => {
    expect(() => packetizeAac([frame(0, 0)])).toThrow(RtpAacError);
    expect(() => packetizeAac([frame(0, MAX_AAC_FRAME_BYTES + 1)])).toThrow(RtpAacError);
    expect(() => packetizeAac([frame(0, 5)], { maxPayload: 4 })).toThrow(RtpAacError);
    expect(() => packetizeAac([frame(0, 5)], { maxFramesPerPacket: 0 })).toThrow(RtpAacError);
  });
});

describe('decodeAacPayload', () => {
  it('refuses each malformed shape', () => {
    expect(decodeAacPayload(Buffer.from([0]))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeAacPayload(Buffer.from([0, 0]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeAacPayload(Buffer.from([0, 15, 0, 8]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeAacPayload(Buffer.from([0, 32, 0, 8]))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeAacPayload(Buffer.from([0, 16, 0, 0, 1]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeAacPayload(Buffer.from([0, 16, 0, 9, 1]))).toEqual({ ok: false, reason: 'unsupported' });
    expect(decodeAacPayload(Buffer.from([0, 16, 0, 8, 1, 2]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeAacPayload(Buffer.from([0, 32, 0, 8, 0, 16, 1, 2]))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeAacPayload(Buffer.from([0, 16, 0, 16]))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeAacPayload(Buffer.from([0, 16, 0, 16, 1]))).toEqual({
      ok: true,
      value: { kind: 'fragment', auSize: 2, data: Buffer.from([1]) },
    });
  });
});

describe('AacDepacketizer', () => {
  it('rebuilds every frame with its timestamp, fragments included, across a sequence wrap', () => {
    for (const maxPayload of [50, 600, 1400]) {
      const d = new AacDepacketizer();
      const out = rtp(packetizeAac(frames, { maxPayload })).flatMap((p) => d.push(p));
      expect(out).toEqual(frames);
      expect(d.counters).toMatchObject({ lost: 0, malformed: 0, brokenFragments: 0, frames: frames.length });
    }
  });

  it('drops a fragmented frame that lost a piece, and keeps the frames around it', () => {
    const packets = rtp(packetizeAac(frames, { maxPayload: 1000 }));
    const pieces = packets.map((p, i) => [i, p.timestamp] as const).filter(([, ts]) => ts === 4096);
    const lost = pieces[1]?.[0];
    const d = new AacDepacketizer();
    const out = packets.filter((_, i) => i !== lost).flatMap((p) => d.push(p));
    expect(out.map((f) => f.timestamp)).toEqual([0, 1024, 2048, 3072, 5120]);
    expect(d.counters).toMatchObject({ lost: 1, brokenFragments: 1 });
  });

  it('counts duplicates and late packets', () => {
    const packets = rtp(packetizeAac(frames, { maxFramesPerPacket: 1 }));
    const d = new AacDepacketizer();
    const [a, b] = packets;
    if (a === undefined || b === undefined) throw new Error('too few packets');
    expect(d.push(a)).toHaveLength(1);
    expect(d.push(a)).toEqual([]);
    expect(d.push(b)).toHaveLength(1);
    expect(d.push(a)).toEqual([]);
    expect(d.counters).toMatchObject({ duplicates: 1, late: 1, frames: 2 });
  });

  it('never throws on random payloads', () => {
    const arbPacket = fc.record({
      marker: fc.boolean(),
      payloadType: fc.constant(97),
      sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
      timestamp: fc.integer({ min: 0, max: 3 }),
      ssrc: fc.constant(2),
      csrcs: fc.constant([]),
      payload: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    });
    fc.assert(
      fc.property(fc.array(arbPacket, { maxLength: 50 }), (ps) => {
        const d = new AacDepacketizer();
        const out = ps.flatMap((p) => d.push(p));
        expect(out.every((f) => f.data.length > 0 && f.data.length <= MAX_AAC_FRAME_BYTES)).toBe(true);
      }),
    );
  });
});
