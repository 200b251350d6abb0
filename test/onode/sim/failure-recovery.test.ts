/**
 * Failures in a 50-node simulated overlay, in virtual time: a killed relay or a cut link on the
 * tree path is repaired from the new upstream's packet cache, so viewers lose nothing; the tree
 * stays loop-free at every step; partitions heal and restarted nodes serve again.
 */
import { describe, expect, it } from 'vitest';
import { randomOverlay, type RandomOverlay, shortestLatencies } from '../../../onode/sim/random-overlay.ts';
import { fakeMovie, SimNetwork, type Viewer } from '../../../onode/sim/sim-network.ts';
import { REROUTE_GRACE_MS } from '../../../onode/core/stream-tree.ts';
import { activeLoops, pathToRoot, sequenceNumbers, settledTree } from '../core/tree-invariants.ts';

const MOVIE = 'alpha.mjpeg';

function overlay(seed: number): RandomOverlay {
  const o = randomOverlay({ nodes: 50, servers: 3, pops: 10, seed });
  o.net.start();
  o.net.run(4000);
  return o;
}

/**
 * s1 feeds POP p through relay a (2 ms links) or relay b (`slowMs` links); p watches the movie.
 * With `aDown`, the a-p link starts cut, so the tree forms through b.
 */
function diamond(slowMs: number, opts: { aDown?: boolean } = {}): { net: SimNetwork; v: Viewer } {
  const net = new SimNetwork();
  net.addNode('s1', [fakeMovie(MOVIE)]);
  for (const n of ['a', 'b', 'p']) net.addNode(n);
  net.addLink('s1', 'a', 2);
  net.addLink('s1', 'b', slowMs);
  net.addLink('a', 'p', 2);
  net.addLink('b', 'p', slowMs);
  if (opts.aDown) net.link('a', 'p')!.up = false;
  net.start();
  net.run(3000);
  const v = net.watch('p', MOVIE);
  net.run(1000);
  return { net, v };
}

/**
 * Sequence numbers missing between the first and last received (by value, any order), counting
 * only the first source's packets: a switch to another server legitimately starts a new sequence.
 */
function missing(v: Viewer): number {
  const ssrcs = v.packets.map((p) => p.readUInt32BE(8));
  const seqs = sequenceNumbers(v).filter((_, i) => ssrcs[i] === ssrcs[0]);
  if (seqs.length === 0) return Infinity;
  const first = seqs[0]!;
  const offsets = new Set(seqs.map((s) => (s - first) & 0xffff));
  const span = Math.max(...offsets) + 1;
  return span - offsets.size;
}

/** Runs `ms` in 20 ms steps asserting loop-freedom; returns each viewer's longest gap between packets. */
function runChecked(net: SimNetwork, viewers: Viewer[], ms: number): Map<Viewer, number> {
  const last = new Map(viewers.map((v) => [v, net.clock.now()]));
  const counts = new Map(viewers.map((v) => [v, v.packets.length]));
  const stall = new Map(viewers.map((v) => [v, 0]));
  for (let t = 0; t < ms; t += 20) {
    net.run(20);
    expect(activeLoops(net, MOVIE)).toEqual([]);
    for (const v of viewers) {
      if (v.packets.length === counts.get(v)) continue;
      counts.set(v, v.packets.length);
      stall.set(v, Math.max(stall.get(v)!, net.clock.now() - last.get(v)!));
      last.set(v, net.clock.now());
    }
  }
  return stall;
}

describe('failure recovery in a 50-node overlay', () => {
  it.each([1, 3, 8])(
    'a killed relay costs viewers no packet: the new upstream resends what they missed (seed %i)',
    (seed) => {
      const o = overlay(seed);
      const { net, edges } = o;
      const viewers = o.pops.slice(0, 6).map((p) => net.watch(p, MOVIE));
      net.run(2000);
      const victim = viewers
        .flatMap((v) => pathToRoot(net, MOVIE, v.pop).slice(1, -1))
        .filter((n) => n.startsWith('n'))
        .find((r) => {
          const rest = edges.filter(([a, b]) => a !== r && b !== r);
          // Only a failure another path survives, to the same server (a server switch restarts the sequence).
          return viewers.every((v) => {
            const root = pathToRoot(net, MOVIE, v.pop).at(-1)!;
            return shortestLatencies(rest, root).has(v.pop);
          });
        });
      expect(victim).toBeDefined();
      const affected = viewers.filter((v) => pathToRoot(net, MOVIE, v.pop).includes(victim!));
      const rootBefore = new Map(viewers.map((v) => [v, pathToRoot(net, MOVIE, v.pop).at(-1)]));
      net.kill(victim!, { bootstrapperNotices: true });
      const stall = runChecked(net, viewers, 3000);
      const sameRoot = viewers.filter((v) => pathToRoot(net, MOVIE, v.pop).at(-1) === rootBefore.get(v));
      for (const v of viewers) expect(v.failure, v.pop).toBeNull();
      for (const v of sameRoot) expect(missing(v), `${v.pop} missed packets`).toBe(0);
      // Detection (3 missed 100 ms hellos) plus the rejoin round trip.
      for (const v of affected) expect(stall.get(v), v.pop).toBeLessThan(1000);
      expect(net.duplicateDataPackets).toBe(0);
      // Nodes that rerouted onto a slower path may move to a better one (make-before-break) once its links prove
      // stable.
      net.run(12_000);
      net.resetCounters();
      net.run(1000);
      expect(settledTree(net, MOVIE).problems).toEqual([]);
    },
  );

  it('a relay failure with another path to the same server loses no packet (diamond)', () => {
    const { net, v } = diamond(5);
    expect(pathToRoot(net, MOVIE, 'p')).toEqual(['p', 'a', 's1']);
    net.kill('a', { bootstrapperNotices: true });
    const stall = runChecked(net, [v], 2000);
    expect(pathToRoot(net, MOVIE, 'p')).toEqual(['p', 'b', 's1']);
    expect(missing(v)).toBe(0);
    expect(v.failure).toBeNull();
    // The bootstrapper's notice is immediate: the rest is one rejoin round trip.
    expect(stall.get(v)).toBeLessThan(300);
    const repaired = ['s1', 'b'].map((n) => net.node(n).streams()[0]?.counters.repaired ?? 0);
    expect(repaired[0]! + repaired[1]!).toBeGreaterThan(0);
  });

  it('a cut link on the tree path is routed around without loss', () => {
    const o = overlay(5);
    const { net } = o;
    const v = net.watch(o.pops[0]!, MOVIE);
    net.run(2000);
    const path = pathToRoot(net, MOVIE, v.pop);
    const [below, above] = [path[0]!, path[1]!];
    const link = net.link(below, above)!;
    link.up = false;
    const stall = runChecked(net, [v], 3000);
    expect(pathToRoot(net, MOVIE, v.pop)[1]).not.toBe(above);
    // The data stopping starts the rejoin (make-before-break) before the hellos time out.
    expect(stall.get(v)).toBeLessThan(300);
    expect(missing(v)).toBe(0);
    expect(v.failure).toBeNull();
  });

  it('a clearly better path that appears is taken make-before-break, without loss or duplicates', () => {
    const { net, v } = diamond(15, { aDown: true });
    expect(pathToRoot(net, MOVIE, 'p')).toEqual(['p', 'b', 's1']);
    net.link('a', 'p')!.up = true;
    runChecked(net, [v], 12_000);
    expect(pathToRoot(net, MOVIE, 'p')).toEqual(['p', 'a', 's1']);
    expect(net.node('p').tree.counters.switches).toBe(1);
    expect(missing(v)).toBe(0);
    const seqs = sequenceNumbers(v);
    expect(new Set(seqs).size).toBe(seqs.length); // no packet delivered twice
    net.resetCounters();
    net.run(1000);
    expect(net.packetsOn('b', 'p', MOVIE)).toBe(0); // the old branch is gone
  });

  it('a flapping link does not flap the tree: it moves off once and stays', () => {
    const o = overlay(5);
    const { net } = o;
    const v = net.watch(o.pops[0]!, MOVIE);
    net.run(2000);
    const [below, above] = pathToRoot(net, MOVIE, v.pop);
    const link = net.link(below!, above!)!;
    const reroutesBefore = net.node(below!).tree.counters.reroutes;
    for (let i = 0; i < 12; i++) {
      link.up = !link.up;
      runChecked(net, [v], 400);
    }
    link.up = true;
    const pathAfterFlap = pathToRoot(net, MOVIE, v.pop);
    runChecked(net, [v], 3000);
    expect(net.node(below!).tree.counters.reroutes - reroutesBefore).toBeLessThanOrEqual(1);
    expect(pathToRoot(net, MOVIE, v.pop)).toEqual(pathAfterFlap);
    expect(pathAfterFlap[1]).not.toBe(above);
    expect(missing(v)).toBe(0);
    expect(v.failure).toBeNull();
  });

  it('a partition that cuts a POP off fails its viewer with no-route; after healing it plays again', () => {
    const o = overlay(2);
    const { net } = o;
    const pop = o.pops[1]!;
    const v = net.watch(pop, MOVIE);
    net.run(2000);
    const cut = net.neighboursOf(pop).map((n) => net.link(pop, n)!);
    for (const l of cut) l.up = false;
    // The POP keeps trying for the reroute grace (past the route TTL) before telling its viewer.
    runChecked(net, [v], REROUTE_GRACE_MS + 2000);
    expect(v.failure?.reason).toMatch(/no-route|timeout/);
    for (const l of cut) l.up = true;
    net.run(3000);
    const again = net.watch(pop, MOVIE, 'again');
    runChecked(net, [again], 2000);
    expect(again.failure).toBeNull();
    expect(again.packets.length).toBeGreaterThan(50);
  });

  it('a restarted relay rejoins and carries streams again', () => {
    const o = overlay(8);
    const { net } = o;
    const viewers = o.pops.slice(0, 6).map((p) => net.watch(p, MOVIE));
    net.run(2000);
    const relay = viewers.flatMap((v) => pathToRoot(net, MOVIE, v.pop).slice(1, -1)).find((n) => n.startsWith('n'))!;
    net.kill(relay);
    runChecked(net, viewers, 2000);
    net.restart(relay);
    net.run(3000);
    // It missed the probes that carry catalogues: it asked for them on seeing their digests.
    expect(
      net
        .node(relay)
        .catalogue()
        .map((m) => m.name),
    ).toContain(MOVIE);
    expect(net.node(relay).routing.counters.catalogueRequests).toBeGreaterThan(0);
    const near = o.pops.find((p) => net.neighboursOf(p).includes(relay));
    const probe = net.watch(near ?? viewers[0]!.pop, MOVIE, 'after-restart');
    runChecked(net, [...viewers, probe], 2000);
    for (const v of [...viewers, probe]) expect(v.failure, v.pop).toBeNull();
    net.resetCounters();
    net.run(1000);
    expect(settledTree(net, MOVIE).problems).toEqual([]);
  });

  it('a server failure moves the tree to another server with the movie within a second', () => {
    const o = overlay(3);
    const { net } = o;
    const viewers = o.pops.slice(0, 4).map((p) => net.watch(p, MOVIE));
    net.run(2000);
    const root = pathToRoot(net, MOVIE, viewers[0]!.pop).at(-1)!;
    net.kill(root);
    const stall = runChecked(net, viewers, 4000);
    for (const v of viewers) {
      expect(v.failure, v.pop).toBeNull();
      expect(pathToRoot(net, MOVIE, v.pop).at(-1)).not.toBe(root);
      expect(stall.get(v), v.pop).toBeLessThan(1000);
    }
  });
});
