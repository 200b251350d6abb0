import { describe, expect, it } from 'vitest';
import {
  avcDecoderConfig,
  element,
  MAX_CLUSTER_BYTES,
  MatroskaClusters,
  matroskaHeader,
  trackNumbers,
} from '../../../oclient/core/matroska-mux.ts';

const SPS = Buffer.from([0x67, 0x64, 0x00, 0x0d, 0xac]);
const PPS = Buffer.from([0x68, 0xef, 0x8f]);

/** Reads a cluster back: its timestamp and each SimpleBlock's track, offset and flags. */
function readCluster(buf: Buffer): { time: number; blocks: { track: number; offset: number; flags: number }[] } {
  expect(buf.readUInt32BE(0)).toBe(0x1f43b675);
  let pos = 4;
  const vint = (): number => {
    const first = buf[pos] ?? 0;
    const n = Math.clz32(first) - 23;
    let v = first & (0xff >> n);
    for (let i = 1; i < n; i++) v = v * 256 + (buf[pos + i] ?? 0);
    pos += n;
    return v;
  };
  const size = vint();
  expect(pos + size).toBe(buf.length);
  let time = -1;
  const blocks: { track: number; offset: number; flags: number }[] = [];
  while (pos < buf.length) {
    const id = buf[pos++];
    const len = vint();
    if (id === 0xe7) time = buf.readUIntBE(pos, len);
    if (id === 0xa3)
      blocks.push({ track: (buf[pos] ?? 0) & 0x7f, offset: buf.readInt16BE(pos + 1), flags: buf[pos + 3] ?? 0 });
    pos += len;
  }
  return { time, blocks };
}

describe('Matroska writer', () => {
  it('writes element sizes as EBML variable-length integers', () => {
    expect(element(0xa3, Buffer.alloc(3))).toEqual(Buffer.from([0xa3, 0x83, 0, 0, 0]));
    // 127 is all ones in one byte (reserved): two bytes.
    expect(element(0xa3, Buffer.alloc(127)).subarray(0, 3)).toEqual(Buffer.from([0xa3, 0x40, 0x7f]));
    expect(element(0x1f43b675, Buffer.alloc(20000)).subarray(0, 7)).toEqual(
      Buffer.from([0x1f, 0x43, 0xb6, 0x75, 0x20, 0x4e, 0x20]),
    );
  });

  it('builds the avcC record from the parameter sets', () => {
    expect(avcDecoderConfig([SPS], [PPS])).toEqual(
      Buffer.from([1, 0x64, 0x00, 0x0d, 0xff, 0xe1, 0, 5, ...SPS, 1, 0, 3, ...PPS]),
    );
    expect(avcDecoderConfig([], [PPS])).toBeUndefined();
  });

  it('numbers the tracks and opens an unknown-size segment', () => {
    const audio = { sampleRate: 48000, channels: 2, config: Buffer.from([0x11, 0x90]) };
    expect(trackNumbers({ video: { sps: [SPS], pps: [PPS] }, audio })).toEqual({ video: 1, audio: 2 });
    expect(trackNumbers({ audio })).toEqual({ audio: 1 });
    const header = matroskaHeader({ audio }, undefined, 'test');
    expect(header.readUInt32BE(0)).toBe(0x1a45dfa3);
    expect(header.includes(Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff]))).toBe(true);
    expect(header.includes(Buffer.from('A_AAC'))).toBe(true);
  });

  it('starts a cluster at a keyframe, past an int16 offset, and past its byte limit', () => {
    const c = new MatroskaClusters();
    expect(c.add(1, 100_000, true, Buffer.alloc(10), true)).toBeUndefined();
    expect(c.add(2, 121_333.4, true, Buffer.alloc(10))).toBeUndefined();
    // A B-frame shown before the cluster's keyframe: a negative offset.
    expect(c.add(1, 80_000, false, Buffer.alloc(10))).toBeUndefined();
    const first = c.add(1, 140_000, true, Buffer.alloc(10), true);
    expect(readCluster(first ?? Buffer.alloc(0))).toEqual({
      time: 100_000,
      blocks: [
        { track: 1, offset: 0, flags: 0x80 },
        { track: 2, offset: 21_333, flags: 0x80 },
        { track: 1, offset: -20_000, flags: 0 },
      ],
    });
    // 40 ms on is beyond an int16 of µs.
    const second = c.add(2, 180_000, true, Buffer.alloc(10));
    expect(readCluster(second ?? Buffer.alloc(0))).toMatchObject({ time: 140_000, blocks: [{ offset: 0 }] });
    const third = c.add(2, 180_001, true, Buffer.alloc(MAX_CLUSTER_BYTES));
    expect(readCluster(third ?? Buffer.alloc(0))).toMatchObject({ time: 180_000 });
    expect(readCluster(c.flush() ?? Buffer.alloc(0)).blocks.length).toBe(1);
    expect(c.flush()).toBeUndefined();
  });
});
