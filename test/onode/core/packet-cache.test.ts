import { describe, expect, it } from 'vitest';
import { PacketCache } from '../../../onode/core/packet-cache.ts';
import { rtp as pkt } from './stream/tree-harness.ts';

const seqs = (list: Buffer[]): number[] => list.map((b) => b.readUInt16BE(2));

describe('PacketCache', () => {
  it('drops duplicates and resends what came after a sequence number, in order, across a wrap', () => {
    const c = new PacketCache(64);
    for (const s of [65533, 65534, 65535, 0, 1]) expect(c.add(pkt(s, 0))).toBe(true);
    expect(c.add(pkt(0, 0))).toBe(false);
    expect(seqs(c.after(7, 65534))).toEqual([65535, 0, 1]);
    expect(seqs(c.after(7, 65534, 0))).toEqual([65535, 0]);
    expect(c.after(8, 65534)).toEqual([]);
    expect(seqs(c.pick(7, [1, 2, 65533]))).toEqual([1, 65533]);
  });

  it('says beforehand whether add() would drop a packet as a duplicate', () => {
    const c = new PacketCache(64);
    for (const s of [10, 11, 100]) c.add(pkt(s, 0));
    for (const s of [10, 11, 100, 12, 101, 36, 30]) expect(c.has(pkt(s, 0)), `seq ${s}`).toBe(!c.add(pkt(s, 0)));
    expect(c.has(pkt(200, 0, false, 8))).toBe(false); // another source: new to the cache
  });

  it('forgets everything when the source changes', () => {
    const c = new PacketCache(64);
    c.add(pkt(10, 0, false, 1));
    c.add(pkt(10, 0, false, 2));
    expect(c.source).toBe(2);
    expect(c.pick(1, [10])).toEqual([]);
  });

  it('passes a packet shorter than an RTP header without caching it, and never throws on one', () => {
    const c = new PacketCache(64);
    c.add(pkt(10, 0));
    for (const short of [Buffer.alloc(0), Buffer.alloc(3), Buffer.alloc(11, 0xff)]) {
      expect(c.has(short)).toBe(false);
      expect(c.add(short)).toBe(true);
    }
    expect(c.source).toBe(7);
    expect(c.highestSeq).toBe(10);
  });

  it('gives the newest whole frame, skipping one with a hole', () => {
    const c = new PacketCache(64);
    for (const p of [pkt(1, 100), pkt(2, 100), pkt(3, 100, true), pkt(4, 200), pkt(5, 200, true), pkt(7, 300, true)]) {
      c.add(p);
    }
    expect(seqs(c.lastFrame())).toEqual([4, 5, 7]);
    c.add(pkt(6, 300));
    expect(seqs(c.lastFrame())).toEqual([6, 7]);
  });
});
