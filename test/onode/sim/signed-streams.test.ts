/**
 * Signed streams in the simulator: servers sign every frame, POPs verify before the tree takes a
 * packet; a relay that corrupts or forges what it forwards is routed around, and nothing it
 * altered reaches a viewer.
 */
import { describe, expect, it } from 'vitest';
import { verifyFrame } from '../../../common/security/frame-signature.ts';
import type { OverlayMessage } from '../../../common/wire/overlay.ts';
import { FAULTY_UPSTREAM_MS } from '../../../onode/core/stream-tree.ts';
import { fakeMovie, SimNetwork, type SimSigning, type Viewer } from '../../../onode/sim/sim-network.ts';

const MOVIE = 'alpha.mjpeg';

/**
 * s1 feeds POP p through relay a (2 ms links) or relay b (10 ms links); p watches the movie. As in
 * the daemons, the POP verifies and the relays pass data on unchecked.
 */
function diamond(signing: SimSigning = {}): { net: SimNetwork; v: Viewer } {
  const net = new SimNetwork(undefined, 1, { verifies: (n) => n === 'p', ...signing });
  net.addNode('s1', [fakeMovie(MOVIE, 25, 50, 3)]);
  for (const n of ['a', 'b', 'p']) net.addNode(n);
  net.addLink('s1', 'a', 2);
  net.addLink('s1', 'b', 10);
  net.addLink('a', 'p', 2);
  net.addLink('b', 'p', 10);
  net.start();
  net.run(3000);
  const v = net.watch('p', MOVIE);
  net.run(1000);
  return { net, v };
}

/** Every complete frame (by timestamp) a viewer got verifies with the network's keys. */
function framesVerify(net: SimNetwork, v: Viewer): { frames: number; bad: number } {
  const byTs = new Map<number, Map<number, Buffer>>();
  for (const p of v.packets) {
    const ts = p.readUInt32BE(4);
    if (!byTs.has(ts)) byTs.set(ts, new Map());
    byTs.get(ts)!.set(p.readUInt16BE(2), p);
  }
  let frames = 0;
  let bad = 0;
  for (const packets of byTs.values()) {
    if (packets.size !== 3) continue; // the partial frames at the edges
    const ordered = [...packets.entries()].sort((x, y) => ((x[0] - y[0] + 0x8000) & 0xffff) - 0x8000).map(([, b]) => b);
    frames++;
    if (!verifyFrame(ordered, MOVIE, (id) => net.keyring.byKeyId(id)?.key).ok) bad++;
  }
  return { frames, bad };
}

describe('signed streams in a simulated overlay', () => {
  it('delivers verified frames through a verifying POP', () => {
    const { net, v } = diamond();
    net.run(2000);
    expect(v.failure).toBeNull();
    const { frames, bad } = framesVerify(net, v);
    expect(frames).toBeGreaterThan(60);
    expect(bad).toBe(0);
    expect(net.node('p').verifier?.counters).toMatchObject({ rejected: 0, unknownKey: 0 });
    expect(net.node('p').verifier?.counters.verified).toBeGreaterThan(200);
    expect(net.node('a').verifier).toBeNull();
  });

  it('routes around a relay that corrupts the stream; nothing it altered reaches the viewer', () => {
    const { net, v } = diamond();
    expect(net.node('p').streams()[0]?.upstream).toBe('a');
    const altered = new Set<Buffer>();
    net.tamper = (from, to, msg): OverlayMessage => {
      if (from !== 'a' || to !== 'p' || msg.type !== 'data') return msg;
      const rtp = Buffer.from(msg.rtp);
      rtp[rtp.length - 1]! ^= 0x01; // one bit of payload
      altered.add(rtp);
      return { ...msg, rtp };
    };
    const before = v.packets.length;
    net.run(1000);
    const p = net.node('p');
    expect(p.streams()[0]?.upstream).toBe('b');
    expect(p.verifier?.counters.rejected).toBeGreaterThan(0);
    expect(p.verifier?.counters.faulty).toBeGreaterThan(0);
    // Make before break: the same server's channel goes on, and b resends what p dropped.
    expect(p.tree.counters.switches).toBe(1);
    expect(new Set(v.packets.map((b) => b.readUInt32BE(8))).size).toBe(1);
    const seqs = new Set(v.packets.map((b) => b.readUInt16BE(2)));
    const first = v.packets[0]!.readUInt16BE(2);
    const span = Math.max(...[...seqs].map((q) => (q - first) & 0xffff)) + 1;
    expect(span - seqs.size).toBe(0); // no packet missing
    expect(v.packets.some((b) => altered.has(b))).toBe(false);
    expect(v.packets.length).toBeGreaterThan(before + 40);
    // What the POP keeps for fast starts and NACKs passed the check too.
    const cachedNow = p.tree.latestFrame(MOVIE);
    expect(cachedNow.length).toBeGreaterThan(0);
    const alteredSeqs = [...altered].map((b) => b.readUInt16BE(2));
    const resent = p.tree.cached(MOVIE, cachedNow[0]!.readUInt32BE(8), alteredSeqs);
    expect(resent.length).toBeGreaterThan(0); // the genuine copies, repaired through b
    for (const b of [...cachedNow, ...resent]) expect(altered.has(b)).toBe(false);
    // a stays faster but is not taken back while it is distrusted.
    net.run(FAULTY_UPSTREAM_MS - 2000);
    expect(p.streams()[0]?.upstream).toBe('b');
    expect(v.packets.some((b) => altered.has(b))).toBe(false);
    expect(framesVerify(net, v).bad).toBe(0);
  });

  it('with no other way to the server, stops taking the stream from a corrupting relay and says why', () => {
    const net = new SimNetwork(undefined, 1, { verifies: (n) => n === 'p' });
    net.addNode('s1', [fakeMovie(MOVIE, 25, 50, 3)]);
    for (const n of ['a', 'p']) net.addNode(n);
    net.addLink('s1', 'a', 2);
    net.addLink('a', 'p', 2);
    net.start();
    net.run(3000);
    const v = net.watch('p', MOVIE);
    net.run(1000);
    const altered = new Set<Buffer>();
    net.tamper = (from, _to, msg): OverlayMessage => {
      if (from !== 'a' || msg.type !== 'data') return msg;
      const rtp = Buffer.from(msg.rtp);
      rtp[rtp.length - 1]! ^= 0x04;
      altered.add(rtp);
      return { ...msg, rtp };
    };
    net.run(12_000);
    expect(altered.size).toBeGreaterThan(0);
    expect(v.packets.some((b) => altered.has(b))).toBe(false);
    expect(v.failure?.reason).toBe('no-route');
    expect(v.failure?.detail).toContain('fails verification');
  });

  it('routes around a relay that forges frames of its own, signed with a key nobody trusts', () => {
    const { net, v } = diamond();
    const liar = new SimNetwork(undefined, 2, { known: () => false });
    // Other frames under the same name (so another RTP source: the same content would share s1's timeline).
    liar.addNode('x', [fakeMovie(MOVIE, 25, 50, 4)]);
    liar.addNode('y');
    liar.addLink('x', 'y', 1);
    liar.start();
    liar.run(3000);
    const forged: Buffer[] = [];
    liar.watch('y', MOVIE);
    liar.tap = (_f, _t, msg) => {
      if (msg.type === 'data') forged.push(msg.rtp);
    };
    liar.run(200);
    // a replaces every packet it sends p by one of the forger's (same movie name, a valid signature of another key).
    let i = 0;
    net.tamper = (from, to, msg): OverlayMessage =>
      from === 'a' && to === 'p' && msg.type === 'data' ? { ...msg, rtp: forged[i++ % forged.length]! } : msg;
    net.run(2000);
    const p = net.node('p');
    expect(v.packets.some((b) => forged.includes(b))).toBe(false);
    // An unknown key proves nothing against a: its frames wait, then are dropped, and the stream stalls
    // until the silence watch moves to b.
    expect(p.verifier?.counters.unknownKey).toBeGreaterThan(0);
    expect(p.streams()[0]?.upstream).toBe('b');
    expect(framesVerify(net, v).bad).toBe(0);
  });

  it('delivers nothing from a server whose key the POP does not know, and blames no neighbour', () => {
    const { net, v } = diamond({ known: () => false });
    net.run(2000);
    expect(v.packets).toEqual([]);
    const p = net.node('p');
    expect(p.verifier?.counters.unknownKey).toBeGreaterThan(20);
    expect(p.verifier?.counters.rejected).toBe(0);
    expect(p.verifier?.counters.verified).toBe(0);
  });
});
