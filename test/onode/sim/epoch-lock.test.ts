/**
 * Epoch-locked channels in virtual time: servers of a movie emit the same packets at the same
 * moments, so a tree that moves from a failed server to another one delivers every packet once.
 */
import { describe, expect, it } from 'vitest';
import { DriftClock } from '../../../common/core/clock.ts';
import { TimeSync } from '../../../onode/core/time-sync.ts';
import { rtpSequence, rtpSsrc, rtpTimestamp, seqDiff } from '../../../common/wire/rtp.ts';
import { randomOverlay } from '../../../onode/sim/random-overlay.ts';
import { fakeMovie, SimNetwork, type Viewer } from '../../../onode/sim/sim-network.ts';
import { pathToRoot } from '../core/tree-invariants.ts';

const MOVIE = 'alpha.mjpeg';

/** Packets received twice, and sequence numbers missing between the first and the last. */
function exactlyOnce(v: Viewer): { repeated: number; missing: number; sources: number } {
  const seqs = v.packets.map(rtpSequence);
  const first = seqs[0] ?? 0;
  const offsets = seqs.map((s) => (s - first) & 0xffff);
  const distinct = new Set(offsets);
  const span = Math.max(...offsets) + 1;
  return {
    repeated: seqs.length - distinct.size,
    missing: span - distinct.size,
    sources: new Set(v.packets.map(rtpSsrc)).size,
  };
}

describe('epoch-locked channels', () => {
  it('two servers of a movie emit identical packets at the same moments', () => {
    const net = new SimNetwork();
    for (const s of ['s1', 's2']) net.addNode(s, [fakeMovie(MOVIE)]);
    for (const p of ['p1', 'p2']) net.addNode(p);
    net.addLink('s1', 'p1', 5);
    net.addLink('s2', 'p2', 5);
    net.start();
    net.run(3000);
    const a = net.watch('p1', MOVIE);
    net.run(1300);
    const b = net.watch('p2', MOVIE);
    net.run(2000);
    const common = b.packets.filter((p) => a.packets.some((q) => q.equals(p)));
    // Everything p2 got after its first frame, p1 got byte for byte (the first may be a fast start).
    expect(common.length).toBeGreaterThanOrEqual(b.packets.length - 4);
    expect(rtpSsrc(a.packets[0]!)).toBe(rtpSsrc(b.packets[0]!));
  });

  it('servers with clocks 5 s apart and drifting 100 ppm stay frame-locked once synchronised', () => {
    const net = new SimNetwork();
    const servers = [
      { name: 's1', offsetMs: 5000, ppm: 100 },
      { name: 's2', offsetMs: -5000, ppm: -100 },
    ];
    for (const s of servers) {
      net.addNode(s.name, [fakeMovie(MOVIE)], s.offsetMs);
      // Its time sync to the bootstrapper (whose clock is the network's), 6 ms there and 2 ms back.
      const sync = new TimeSync(new DriftClock(net.clock, s.offsetMs, s.ppm), (req) =>
        net.clock.setTimer(6, () => {
          const at = net.clock.now();
          net.clock.setTimer(2, () => sync.reply(req.id, req.t0, at));
        }),
      );
      sync.start();
      net.setReference(s.name, () => sync.now());
    }
    for (const p of ['p1', 'p2']) net.addNode(p);
    net.addLink('s1', 'p1', 5);
    net.addLink('s2', 'p2', 5);
    net.start();
    net.run(3000);
    // When each server sent each packet, by sequence number.
    const sentAt = new Map<string, Map<number, { at: number; rtp: Buffer }>>([
      ['s1', new Map()],
      ['s2', new Map()],
    ]);
    net.tap = (from, _to, msg) => {
      if (msg.type === 'data') sentAt.get(from)?.set(rtpSequence(msg.rtp), { at: net.clock.now(), rtp: msg.rtp });
    };
    net.watch('p1', MOVIE);
    net.watch('p2', MOVIE);
    net.run(300_000); // five minutes: the clocks drift 30 ms apart unless tracked
    const a = sentAt.get('s1')!;
    const b = sentAt.get('s2')!;
    let worst = 0;
    let compared = 0;
    for (const [seq, x] of a) {
      const y = b.get(seq);
      if (y === undefined) continue;
      compared++;
      worst = Math.max(worst, Math.abs(x.at - y.at));
      expect(x.rtp.equals(y.rtp), `packet ${seq}`).toBe(true);
    }
    expect(compared).toBeGreaterThan(0.95 * a.size);
    // Frame n leaves both servers at the same moment, well within one frame interval (40 ms).
    expect(worst).toBeLessThan(5);
  });

  it.each([1, 3, 8])('a server failure moves the tree to another server: every packet once (seed %i)', (seed) => {
    const o = randomOverlay({ nodes: 50, servers: 3, pops: 10, seed });
    const { net } = o;
    net.start();
    net.run(4000);
    const viewers = o.pops.slice(0, 4).map((p) => net.watch(p, MOVIE));
    net.run(2000);
    const root = pathToRoot(net, MOVIE, viewers[0]!.pop).at(-1)!;
    net.kill(root);
    net.run(4000);
    for (const v of viewers) {
      expect(v.failure, v.pop).toBeNull();
      expect(pathToRoot(net, MOVIE, v.pop).at(-1), v.pop).not.toBe(root);
      expect(exactlyOnce(v), v.pop).toEqual({ repeated: 0, missing: 0, sources: 1 });
      // And the timeline moved on one frame at a time: no timestamp jumps back or skips.
      const first = rtpSequence(v.packets[0]!);
      const inOrder = [...v.packets].sort((x, y) => seqDiff(rtpSequence(x), first) - seqDiff(rtpSequence(y), first));
      const stamps = [...new Set(inOrder.map(rtpTimestamp))];
      for (let i = 1; i < stamps.length; i++) expect((stamps[i]! - stamps[i - 1]!) >>> 0).toBe(3600);
    }
  });
});
