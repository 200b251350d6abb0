import fc from 'fast-check';
import jpegJs from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { encodeJpeg, type JpegEncodeOptions } from '../../../common/samples/jpeg-encoder.ts';
import { CHROMA_QUANT_K2, LUMA_QUANT_K1, ZIGZAG } from '../../../common/media/jpeg-tables.ts';
import { buildJpeg, type JpegImage, parseJpeg } from '../../../common/media/jpeg.ts';
import { renderPattern } from '../../../common/samples/test-pattern.ts';
import { decodeRtp, encodeRtp } from '../../../common/wire/rtp.ts';
import {
  assembleJpeg,
  decodeJpegFragment,
  DEFAULT_MAX_PAYLOAD,
  type JpegFragment,
  makeQuantTables,
  MAX_FRAME_BYTES,
  packetizeJpeg,
  Q_DYNAMIC_TABLES,
  RTP_JPEG_CLOCK_RATE,
  RTP_JPEG_PAYLOAD_TYPE,
  RtpJpegError,
} from '../../../common/wire/rtp-jpeg.ts';

function parsed(jpeg: Buffer): JpegImage {
  const r = parseJpeg(jpeg);
  if (!r.ok) throw new Error(`test frame does not parse: ${r.reason} ${r.detail}`);
  return r.value;
}

function fragments(payloads: readonly Buffer[]): JpegFragment[] {
  return payloads.map((p) => {
    const r = decodeJpegFragment(p);
    if (!r.ok) throw new Error(`fragment refused: ${r.reason}`);
    return r.value;
  });
}

const pixels = (jpeg: Buffer): Buffer => Buffer.from(jpegJs.decode(jpeg, { useTArray: true }).data);

function frame(width: number, height: number, options: JpegEncodeOptions = {}): Buffer {
  return encodeJpeg(renderPattern('bars', 42, width, height), { quality: 85, ...options });
}

describe('RTP/JPEG end to end', () => {
  it.each([
    ['4:2:0', 320, 240, {}, DEFAULT_MAX_PAYLOAD],
    ['4:2:2', 176, 144, { sampling: '422' as const }, 600],
    ['4:2:0 with restart markers', 160, 120, { restartInterval: 4 }, 300],
    ['4:2:2 with restart markers', 64, 64, { sampling: '422' as const, restartInterval: 1 }, 200],
  ])('packetizes, carries over RTP and rebuilds pixel-identical frames (%s)', (_name, w, h, options, maxPayload) => {
    const original = frame(w, h, options);
    const image = parsed(original);
    const payloads = packetizeJpeg(image, maxPayload);
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) expect(p.length).toBeLessThanOrEqual(maxPayload);

    // Through RTP and back, as a sender and receiver would.
    const timestamp = 7 * (RTP_JPEG_CLOCK_RATE / 25);
    const packets = payloads.map((payload, i) =>
      encodeRtp({
        marker: i === payloads.length - 1,
        payloadType: RTP_JPEG_PAYLOAD_TYPE,
        sequenceNumber: (65530 + i) & 0xffff,
        timestamp,
        ssrc: 0x0badcafe,
        csrcs: [],
        payload,
      }),
    );
    const received = packets.map((b) => {
      const r = decodeRtp(b);
      if (!r.ok) throw new Error(r.reason);
      return r.value;
    });
    expect(received.map((p) => p.marker).lastIndexOf(true)).toBe(received.length - 1);
    const frags = fragments(received.map((p) => p.payload));
    expect(frags[0]).toMatchObject({ fragmentOffset: 0, q: Q_DYNAMIC_TABLES, width: w, height: h, typeSpecific: 0 });
    expect(frags[0]?.quantTables).toEqual(image.quantTables);
    expect(frags.slice(1).every((f) => f.quantTables === undefined)).toBe(true);
    if (image.restartInterval > 0) {
      expect(frags.every((f) => f.type === image.type + 64 && f.restart?.interval === image.restartInterval)).toBe(
        true,
      );
    }

    const assembled = assembleJpeg(frags);
    expect(assembled).toEqual({ ok: true, value: image });
    if (!assembled.ok) return;
    const rebuilt = buildJpeg(assembled.value);
    expect(pixels(rebuilt).equals(pixels(original))).toBe(true);
  });

  it('fits a single-packet frame and the largest RFC 2435 size', () => {
    const tiny = parsed(frame(16, 16));
    const one = packetizeJpeg(tiny, 4000);
    expect(one).toHaveLength(1);
    expect(assembleJpeg(fragments(one))).toEqual({ ok: true, value: tiny });

    const wide = parsed(frame(2040, 16));
    const r = assembleJpeg(fragments(packetizeJpeg(wide)));
    expect(r.ok && [r.value.width, r.value.height]).toEqual([2040, 16]);
  });
});

describe('assembleJpeg', () => {
  const image = parsed(frame(128, 96));
  const payloads = packetizeJpeg(image, 400);
  const frags = fragments(payloads);

  it('has enough fragments to lose one in the middle', () => {
    expect(frags.length).toBeGreaterThanOrEqual(4);
  });

  it("refuses a frame missing a middle fragment as 'incomplete'", () => {
    const lost = frags.filter((_, i) => i !== 2);
    expect(assembleJpeg(lost)).toEqual({ ok: false, reason: 'incomplete' });
  });

  it("refuses a frame missing its first fragment, or no fragments, as 'incomplete'", () => {
    expect(assembleJpeg(frags.slice(1))).toEqual({ ok: false, reason: 'incomplete' });
    expect(assembleJpeg([])).toEqual({ ok: false, reason: 'incomplete' });
  });

  it('places reordered fragments by their offset', () => {
    const shuffled = [frags[2], frags[0], frags[3], frags[1], ...frags.slice(4)].filter(
      (f): f is JpegFragment => f !== undefined,
    );
    expect(assembleJpeg(shuffled)).toEqual({ ok: true, value: image });
    expect(assembleJpeg([...frags].reverse())).toEqual({ ok: true, value: image });
  });

  it('uses a duplicated fragment once', () => {
    const f0 = frags[0];
    const f1 = frags[1];
    if (f0 === undefined || f1 === undefined) throw new Error('too few fragments');
    const dup = [f0, f0, f1, f1, ...frags.slice(1)];
    expect(assembleJpeg(dup)).toEqual({ ok: true, value: image });
  });

  it("refuses two different fragments at one offset, or overlapping fragments, as 'malformed'", () => {
    const f1 = frags[1];
    if (f1 === undefined) throw new Error('too few fragments');
    const corrupt: JpegFragment = { ...f1, data: Buffer.from(f1.data).fill(0) };
    expect(assembleJpeg([...frags, corrupt])).toEqual({ ok: false, reason: 'malformed' });
    const overlap: JpegFragment = { ...f1, fragmentOffset: f1.fragmentOffset - 1 };
    expect(assembleJpeg(frags.map((f) => (f === f1 ? overlap : f)))).toEqual({ ok: false, reason: 'malformed' });
  });

  it("refuses fragments whose headers disagree as 'malformed'", () => {
    const other = fragments(packetizeJpeg(parsed(frame(64, 96)), 400));
    expect(assembleJpeg([...frags.slice(0, 2), ...other.slice(2)])).toEqual({ ok: false, reason: 'malformed' });
    const f1 = frags[1];
    if (f1 === undefined) throw new Error('too few fragments');
    const wrongQ = frags.map((f) => (f === f1 ? { ...f, q: 80 } : f));
    expect(assembleJpeg(wrongQ)).toEqual({ ok: false, reason: 'malformed' });
  });

  it("refuses a frame over MAX_FRAME_BYTES as 'malformed'", () => {
    const head = frags[0];
    if (head === undefined) throw new Error('no fragments');
    const huge: JpegFragment = { ...head, fragmentOffset: head.data.length, data: Buffer.alloc(MAX_FRAME_BYTES) };
    expect(assembleJpeg([head, huge])).toEqual({ ok: false, reason: 'malformed' });
  });

  it("refuses interlaced fields and Q 128..254 without tables as 'unsupported'", () => {
    expect(assembleJpeg(frags.map((f) => ({ ...f, typeSpecific: 1 })))).toEqual({ ok: false, reason: 'unsupported' });
    const cached = frags.map(({ quantTables: _t, ...f }) => ({ ...f, q: 128 }));
    expect(assembleJpeg(cached)).toEqual({ ok: false, reason: 'unsupported' });
  });

  it('rebuilds Q 1..99 frames with the RFC 2435 Appendix A tables', () => {
    const withQ = fragments(payloads).map(({ quantTables: _t, ...f }) => ({ ...f, q: 50 }));
    const r = assembleJpeg(withQ);
    expect(r.ok && r.value.quantTables).toEqual(makeQuantTables(50));
  });
});

describe('decodeJpegFragment', () => {
  const header = (type: number, q: number, w = 40, h = 30, offset = 0): Buffer => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(offset, 0);
    b[4] = type;
    b[5] = q;
    b[6] = w;
    b[7] = h;
    return b;
  };
  const scan = Buffer.from([1, 2, 3, 4]);

  it('reads a Q 1..99 fragment with no extra headers', () => {
    expect(decodeJpegFragment(Buffer.concat([header(1, 75, 80, 60, 0x123456), scan]))).toEqual({
      ok: true,
      value: { typeSpecific: 0, fragmentOffset: 0x123456, type: 1, q: 75, width: 640, height: 480, data: scan },
    });
  });

  it('reads the restart marker header and in-band tables', () => {
    const restart = Buffer.from([0x00, 0x08, 0xbf, 0xff]); // interval 8, F=1, L=0, count 0x3fff
    const tables = Buffer.alloc(128, 9);
    const quant = Buffer.concat([Buffer.from([0, 0, 0, 128]), tables]);
    const r = decodeJpegFragment(Buffer.concat([header(65, 255), restart, quant, scan]));
    expect(r).toEqual({
      ok: true,
      value: {
        typeSpecific: 0,
        fragmentOffset: 0,
        type: 65,
        q: 255,
        width: 320,
        height: 240,
        restart: { interval: 8, first: true, last: false, count: 0x3fff },
        quantTables: tables,
        data: scan,
      },
    });
    // Only the first fragment carries tables.
    const later = decodeJpegFragment(Buffer.concat([header(1, 255, 40, 30, 1000), scan]));
    expect(later.ok && later.value.data).toEqual(scan);
  });

  it("refuses short headers as 'truncated'", () => {
    expect(decodeJpegFragment(Buffer.alloc(0))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeJpegFragment(header(1, 75).subarray(0, 7))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeJpegFragment(Buffer.concat([header(64, 75), Buffer.from([0, 8, 0xff])]))).toEqual({
      ok: false,
      reason: 'truncated',
    });
    expect(decodeJpegFragment(Buffer.concat([header(1, 255), Buffer.from([0, 0, 0])]))).toEqual({
      ok: false,
      reason: 'truncated',
    });
    expect(decodeJpegFragment(Buffer.concat([header(1, 255), Buffer.from([0, 0, 0, 128]), Buffer.alloc(127)]))).toEqual(
      {
        ok: false,
        reason: 'truncated',
      },
    );
  });

  it("refuses impossible values as 'malformed'", () => {
    expect(decodeJpegFragment(Buffer.concat([header(1, 0), scan]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeJpegFragment(Buffer.concat([header(1, 75, 0, 30), scan]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeJpegFragment(Buffer.concat([header(1, 75, 40, 0), scan]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeJpegFragment(Buffer.concat([header(64, 75), Buffer.from([0, 0, 0xff, 0xff]), scan]))).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(decodeJpegFragment(Buffer.concat([header(1, 255), Buffer.from([0, 0, 0, 0]), scan]))).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it("refuses types, Q values and tables we cannot rebuild as 'unsupported'", () => {
    for (const type of [2, 63, 66, 127, 128, 255]) {
      expect(decodeJpegFragment(Buffer.concat([header(type, 75), scan]))).toEqual({ ok: false, reason: 'unsupported' });
    }
    for (const q of [100, 127]) {
      expect(decodeJpegFragment(Buffer.concat([header(1, q), scan]))).toEqual({ ok: false, reason: 'unsupported' });
    }
    const sixteenBit = Buffer.concat([header(1, 255), Buffer.from([0, 3, 1, 0]), Buffer.alloc(256)]);
    expect(decodeJpegFragment(sixteenBit)).toEqual({ ok: false, reason: 'unsupported' });
    const oneTable = Buffer.concat([header(1, 255), Buffer.from([0, 0, 0, 64]), Buffer.alloc(64)]);
    expect(decodeJpegFragment(oneTable)).toEqual({ ok: false, reason: 'unsupported' });
  });

  it('never throws on random bytes, and assembly never throws on what it decodes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 180 }), { maxLength: 6 }), (payloads) => {
        const ok: JpegFragment[] = [];
        for (const p of payloads) {
          const r = decodeJpegFragment(Buffer.from(p));
          if (r.ok) ok.push(r.value);
        }
        assembleJpeg(ok);
      }),
      { numRuns: 2000 },
    );
    // Headers that mostly decode, to reach assembly's checks.
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.nat({ max: 300 }),
            fc.constantFrom(0, 1, 64, 65),
            fc.constantFrom(50, 128, 255),
            fc.uint8Array({ maxLength: 150 }),
          ),
          { maxLength: 6 },
        ),
        (parts) => {
          const frags: JpegFragment[] = [];
          for (const [offset, type, q, rest] of parts) {
            const h = Buffer.alloc(8);
            h.writeUInt32BE(offset, 0);
            h.set([type, q, 4, 4], 4);
            const r = decodeJpegFragment(Buffer.concat([h, Buffer.from(rest)]));
            if (r.ok) frags.push(r.value);
          }
          assembleJpeg(frags);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('packetizeJpeg', () => {
  const image = parsed(frame(64, 48));

  it('throws RtpJpegError for frames RTP/JPEG cannot express', () => {
    expect(() => packetizeJpeg({ ...image, width: 2048 })).toThrow(RtpJpegError);
    expect(() => packetizeJpeg({ ...image, height: 20 })).toThrow(RtpJpegError);
    expect(() => packetizeJpeg({ ...image, quantTables: Buffer.alloc(64) })).toThrow(RtpJpegError);
    expect(() => packetizeJpeg({ ...image, restartInterval: 65536 })).toThrow(RtpJpegError);
    expect(() => packetizeJpeg({ ...image, scan: Buffer.alloc(0) })).toThrow(RtpJpegError);
    expect(() => packetizeJpeg({ ...image, scan: Buffer.alloc(MAX_FRAME_BYTES + 1) })).toThrow(RtpJpegError);
    expect(() => packetizeJpeg(image, 140)).toThrow(RtpJpegError);
  });

  it('counts fragment offsets in scan bytes', () => {
    const frags = fragments(packetizeJpeg(image, 200));
    let offset = 0;
    for (const f of frags) {
      expect(f.fragmentOffset).toBe(offset);
      offset += f.data.length;
    }
    expect(offset).toBe(image.scan.length);
  });
});

describe('makeQuantTables', () => {
  it('gives the standard K.1/K.2 tables in zig-zag order for Q = 50', () => {
    const t = makeQuantTables(50);
    expect([...t.subarray(0, 64)]).toEqual(ZIGZAG.map((n) => LUMA_QUANT_K1[n]));
    expect([...t.subarray(64)]).toEqual(ZIGZAG.map((n) => CHROMA_QUANT_K2[n]));
  });

  it('scales as RFC 2435 Appendix A and clamps to 1..255', () => {
    expect(makeQuantTables(1)[0]).toBe(255); // 16 * 5000 / 100 clamped
    expect(makeQuantTables(99)[0]).toBe(1);
    expect(makeQuantTables(75)[0]).toBe(8); // (16 * 50 + 50) / 100
    expect(makeQuantTables(0)).toEqual(makeQuantTables(1));
    // Callers may not corrupt the cache through the returned buffer.
    makeQuantTables(60).fill(0);
    expect(makeQuantTables(60)[0]).not.toBe(0);
  });
});
