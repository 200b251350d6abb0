import { describe, expect, it } from 'vitest';
import { MAX_REPAIR_SEQS } from '../../../common/wire/overlay-control.ts';
import { MAX_OVERLAY_DATAGRAM } from '../../../common/wire/overlay.ts';
import { DEFAULT_OVERLAY } from '../../../onode/core/overlay-node.ts';
import { fakeMovie, SimNetwork } from '../../../onode/sim/sim-network.ts';

const MOVIE = 'gap.mjpeg';
const GAP = 1000;

describe('repairing a long gap', () => {
  it(`asks for a ${GAP}-packet gap by itself, in several repair requests, and gets every packet back`, () => {
    // Caches big enough to hold the gap: repairs are bounded by the cache, not by a datagram.
    const net = new SimNetwork({ ...DEFAULT_OVERLAY, tree: { ...DEFAULT_OVERLAY.tree, cachePackets: 4096 } });
    net.addNode('s1', [fakeMovie(MOVIE, 25, 100, 20)]); // 500 packets a second
    net.addNode('n1');
    net.addNode('p1');
    net.addLink('s1', 'n1', 2);
    net.addLink('n1', 'p1', 3);
    net.start();
    net.run(3000);
    const viewer = net.watch('p1', MOVIE);
    net.run(1000);
    expect(viewer.packets.length).toBeGreaterThan(300);

    // The link from n1 to p1 loses the next GAP data packets (hellos still pass: the link stays up).
    const lost: number[] = [];
    net.dropRule = (from, to, msg) => {
      if (from !== 'n1' || to !== 'p1' || msg.type !== 'data' || lost.length >= GAP) return false;
      lost.push(msg.rtp.readUInt16BE(2));
      return true;
    };
    const repairs: number[][] = [];
    net.tap = (from, _to, msg) => {
      if (from === 'p1' && msg.type === 'repair') repairs.push([...(msg.seqs ?? [])]);
    };
    net.run(3000);
    expect(lost).toHaveLength(GAP);
    const got = new Set(viewer.packets.map((p) => p.readUInt16BE(2)));
    // p1's hole watch asked for the gap, no viewer NACK needed, in requests that each fit a datagram.
    expect(lost.filter((q) => !got.has(q))).toEqual([]);
    expect(repairs.length).toBeGreaterThanOrEqual(Math.ceil(GAP / MAX_REPAIR_SEQS));
    expect(new Set(repairs.flat())).toEqual(new Set(lost));
    expect(net.node('n1').streams()[0]?.counters.repaired).toBeGreaterThanOrEqual(GAP);
    expect(net.oversize).toBe(0);
    expect(net.largestDatagram).toBeLessThanOrEqual(MAX_OVERLAY_DATAGRAM);
  });
});
