import { describe, expect, it } from 'vitest';
import { encodeJpeg } from '../../../common/samples/jpeg-encoder.ts';
import { buildJpeg, parseJpeg, type JpegImage } from '../../../common/media/jpeg.ts';
import { renderPattern } from '../../../common/samples/test-pattern.ts';
import { encodeRtp } from '../../../common/wire/rtp.ts';
import { packetizeJpeg, RTP_JPEG_PAYLOAD_TYPE } from '../../../common/wire/rtp-jpeg.ts';
import { FrameAssembler } from '../../../oclient/core/frame-assembler.ts';
import { ReorderBuffer } from '../../../oclient/core/reorder-buffer.ts';

/** RTP packets of `count` frames, 3+ packets each, sequence numbers from seq0 (wrapping). */
function stream(count: number, seq0 = 65530): { packets: { seq: number; buf: Buffer }[]; frames: Buffer[] } {
  const packets: { seq: number; buf: Buffer }[] = [];
  const frames: Buffer[] = [];
  let seq = seq0;
  for (let f = 0; f < count; f++) {
    const parsed = parseJpeg(encodeJpeg(renderPattern('bars', f, 64, 48)));
    if (!parsed.ok) throw new Error(parsed.detail);
    frames.push(buildJpeg(parsed.value));
    const payloads = packetizeJpeg(parsed.value, 300);
    payloads.forEach((payload, i) => {
      packets.push({
        seq,
        buf: encodeRtp({
          marker: i === payloads.length - 1,
          payloadType: RTP_JPEG_PAYLOAD_TYPE,
          sequenceNumber: seq,
          timestamp: 3600 * f,
          ssrc: 7,
          csrcs: [],
          payload,
        }),
      });
      seq = (seq + 1) & 0xffff;
    });
  }
  return { packets, frames };
}

function collect(): { asm: FrameAssembler; got: Buffer[] } {
  const got: Buffer[] = [];
  const asm = new FrameAssembler((img: JpegImage) => got.push(buildJpeg(img)));
  return { asm, got };
}

describe('FrameAssembler', () => {
  it('rebuilds every frame in order across a sequence wrap', () => {
    const { packets, frames } = stream(5);
    const { asm, got } = collect();
    for (const p of packets) asm.push(p.buf, 0);
    expect(got).toEqual(frames);
    expect(asm.stats).toMatchObject({ framesReceived: 5, framesLost: 0, packetsLost: 0 });
  });

  it('drops a frame with a lost packet, counts it, and shows the next ones', () => {
    const { packets, frames } = stream(4);
    const { asm, got } = collect();
    for (const p of packets.filter((_, i) => i !== 5)) asm.push(p.buf, 0);
    expect(asm.stats.packetsLost).toBe(1);
    expect(asm.stats.framesLost).toBe(1);
    expect(got).toHaveLength(3);
    for (const g of got) expect(frames).toContainEqual(g);
  });

  it('handles reordering within a frame and ignores duplicates', () => {
    const { packets, frames } = stream(3);
    const { asm, got } = collect();
    const shuffled = [packets[1], packets[0], ...packets.slice(2)].filter((p) => p !== undefined);
    for (const p of shuffled) asm.push(p.buf, 0);
    for (const p of packets.slice(0, 3)) asm.push(p.buf, 0);
    expect(got).toEqual(frames);
    expect(asm.stats.packetsDuplicate).toBe(3);
  });

  it('counts garbage as malformed', () => {
    const { asm } = collect();
    asm.push(Buffer.from('not rtp'), 0);
    expect(asm.stats.packetsMalformed).toBe(1);
  });

  it('does not count the partial frame it joined in the middle of', () => {
    const { packets } = stream(3);
    const { asm, got } = collect();
    for (const p of packets.slice(2)) asm.push(p.buf, 0);
    expect(got.length).toBe(2);
    expect(asm.stats.framesLost).toBe(0);
  });
});

describe('ReorderBuffer', () => {
  it('passes packets in order at once and puts reordered ones back in order', () => {
    const out: number[] = [];
    const rb = new ReorderBuffer((seq) => out.push(seq), 200);
    for (const s of [1, 2, 4, 3, 5]) rb.push(s, Buffer.alloc(0), 0);
    expect(out).toEqual([1, 2, 3, 4, 5]);
    expect(rb.counters.reordered).toBe(1);
  });

  it('waits holdMs for a missing packet, then skips it', () => {
    const out: number[] = [];
    const rb = new ReorderBuffer((seq) => out.push(seq), 200);
    rb.push(10, Buffer.alloc(0), 0);
    rb.push(12, Buffer.alloc(0), 10);
    rb.push(13, Buffer.alloc(0), 20);
    rb.tick(150);
    expect(out).toEqual([10]);
    rb.tick(210);
    expect(out).toEqual([10, 12, 13]);
    expect(rb.counters.skipped).toBe(1);
    rb.push(11, Buffer.alloc(0), 220);
    expect(rb.counters.late).toBe(1);
  });

  it('drops duplicates and survives a sender restart', () => {
    const out: number[] = [];
    const rb = new ReorderBuffer((seq) => out.push(seq), 200);
    rb.push(100, Buffer.alloc(0), 0);
    rb.push(102, Buffer.alloc(0), 0);
    rb.push(102, Buffer.alloc(0), 0);
    expect(rb.counters.duplicates).toBe(1);
    rb.push(40000, Buffer.alloc(0), 0); // far away: the stream restarted
    expect(out).toContain(40000);
  });
});

describe('ReorderBuffer loss reports', () => {
  it('reports each missing sequence number once, when the gap opens', () => {
    const reported: number[][] = [];
    const rb = new ReorderBuffer(() => {}, 200);
    rb.events.on('missing', (s) => reported.push(s));
    rb.push(10, Buffer.alloc(0), 0);
    rb.push(13, Buffer.alloc(0), 0);
    rb.push(14, Buffer.alloc(0), 0);
    rb.push(11, Buffer.alloc(0), 0);
    rb.push(17, Buffer.alloc(0), 0);
    expect(reported).toEqual([
      [11, 12],
      [15, 16],
    ]);
  });

  it('asks again every RENACK_MS for what an open gap still lacks, until the hold gives up', () => {
    const reported: [number, number[]][] = [];
    const out: number[] = [];
    let now = 0;
    const rb = new ReorderBuffer((seq) => out.push(seq), 400);
    rb.events.on('missing', (s) => reported.push([now, s]));
    rb.push(10, Buffer.alloc(0), now);
    rb.push(14, Buffer.alloc(0), now);
    for (now = 20; now <= 80; now += 20) rb.tick(now);
    rb.push(12, Buffer.alloc(0), 90);
    for (now = 100; now <= 420; now += 20) rb.tick(now);
    expect(reported).toEqual([
      [0, [11, 12, 13]],
      [100, [11, 13]],
      [200, [11, 13]],
      [300, [11, 13]],
      [400, [13]], // 11 given up: 12 delivered, and 13's gap waits on
    ]);
    expect(out).toEqual([10, 12]);
  });
});
