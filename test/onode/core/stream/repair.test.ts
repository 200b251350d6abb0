import { describe, expect, it } from 'vitest';
import type { RepairMessage } from '../../../../common/wire/overlay.ts';
import { MAX_REPAIR_SEQS } from '../../../../common/wire/overlay-control.ts';
import { rtpSequence } from '../../../../common/wire/rtp.ts';
import { CACHE_PACKETS } from '../../../../onode/core/packet-cache.ts';
import { REPAIR_RETRY_MS, RepairLedger } from '../../../../onode/core/stream/repair.ts';
import { DEFAULT_TREE, type TreeOptions } from '../../../../onode/core/stream/tree-api.ts';
import { MOVIE, rtp, TreeHarness } from './tree-harness.ts';

describe('RepairLedger', () => {
  it('asks for what was not found, and the same number again only after REPAIR_RETRY_MS', () => {
    const l = new RepairLedger();
    expect(l.due([1, 2, 3], [rtp(2)], 0)).toEqual([1, 3]);
    expect(l.due([1, 3, 4], [], REPAIR_RETRY_MS - 1)).toEqual([4]);
    expect(l.due([1, 3, 4], [], REPAIR_RETRY_MS)).toEqual([1, 3]);
  });
});

/**
 * Relay n1 carries MOVIE from u to branch d; it got packets 0..`last` except 5..7 (lost above it),
 * and `missing` too.
 */
function relay(last = 19, missing: (seq: number) => boolean = () => false, options?: TreeOptions): TreeHarness {
  const h = new TreeHarness('n1', ['u', 'd'], options);
  h.route('s1', 'u', 10);
  h.join('d');
  h.ack('u', ['s1', 'u']);
  for (let seq = 0; seq <= last; seq++) if ((seq < 5 || seq > 7) && !missing(seq)) h.tree.onData('u', MOVIE, rtp(seq));
  h.take();
  h.data.length = 0;
  return h;
}

const repair = (seqs: number[]): RepairMessage => ({ type: 'repair', movie: MOVIE, ssrc: 7, seqs });
const asked = (h: TreeHarness): number[] =>
  h.take('u', 'repair').flatMap((s) => (s.msg.type === 'repair' ? [...(s.msg.seqs ?? [])] : []));

describe('repairs in a tree (virtual time)', () => {
  it('resends cached packets to the branch alone and asks upstream for the gap, once per REPAIR_RETRY_MS', () => {
    const h = relay();
    h.tree.onMessage('d', repair([3, 4, 5, 6, 7]));
    expect(h.data.map((d) => [d.to, rtpSequence(d.rtp)])).toEqual([
      [['d'], 3],
      [['d'], 4],
    ]);
    expect(asked(h)).toEqual([5, 6, 7]);
    h.clock.advance(REPAIR_RETRY_MS - 1);
    h.tree.onMessage('d', repair([5, 6, 7]));
    expect(asked(h)).toEqual([]);
    h.clock.advance(1);
    h.tree.onMessage('d', repair([5, 6, 7]));
    expect(asked(h)).toEqual([5, 6, 7]);
    expect(h.tree.counters).toMatchObject({ repairsServed: 3, repairsRequested: 2 });
    // The repaired packets come back as data and flow down as usual; a duplicate is dropped.
    h.data.length = 0;
    h.tree.onData('u', MOVIE, rtp(5));
    h.tree.onData('u', MOVIE, rtp(5));
    expect(h.data.map((d) => rtpSequence(d.rtp))).toEqual([5]);
    expect(h.stream()?.counters.duplicates).toBe(1);
  });

  it('never asks upstream for numbers it could not have lost: newer than its newest, or older than its cache', () => {
    const h = relay();
    h.tree.cached(MOVIE, 7, [6, 20, 21, 40_000, (19 - CACHE_PACKETS) & 0xffff]);
    expect(asked(h)).toEqual([6]);
  });

  it('asks for a long gap in several requests, each within the repair size limit', () => {
    const gap = Array.from({ length: 1000 }, (_, i) => 100 + i);
    const h = relay(1200, (seq) => seq >= 100 && seq < 1100, { ...DEFAULT_TREE, cachePackets: 2048 });
    h.tree.cached(MOVIE, 7, gap);
    const requests = h.take('u', 'repair').map((s) => s.msg as RepairMessage);
    expect(requests.length).toBeGreaterThan(1);
    for (const r of requests) expect(r.seqs!.length).toBeLessThanOrEqual(MAX_REPAIR_SEQS);
    expect(requests.flatMap((r) => r.seqs ?? [])).toEqual(gap);
  });

  it('gives a local viewer what the cache has and asks upstream for the rest', () => {
    const h = relay();
    expect(h.tree.cached(MOVIE, 7, [4, 5]).map(rtpSequence)).toEqual([4]);
    expect(asked(h)).toEqual([5]);
    expect(h.tree.cached(MOVIE, 8, [4])).toEqual([]); // another source: nothing
  });

  it('resends to a rerouted branch only what it missed before it attached', () => {
    const h = relay();
    h.join('e'); // attaches when n1's newest packet is 19
    h.alive.add('e');
    for (let seq = 20; seq < 25; seq++) h.tree.onData('u', MOVIE, rtp(seq));
    h.data.length = 0;
    h.tree.onMessage('e', { type: 'repair', movie: MOVIE, ssrc: 7, after: 15 });
    expect(h.data.map((d) => rtpSequence(d.rtp))).toEqual([16, 17, 18, 19]);
  });

  it('passes upstream the repair of a branch that attached before this node had packets', () => {
    const h = new TreeHarness('n1', ['u', 'b', 'd']);
    h.route('s1', 'u', 10);
    h.route('s1', 'b', 30);
    h.join('d');
    h.ack('u', ['s1', 'u']); // d attaches while n1 has no packet yet
    const ask = { type: 'repair', movie: MOVIE, ssrc: 7, after: 40 } as const;
    h.tree.onMessage('d', ask);
    expect(h.take('u', 'repair').map((s) => s.msg)).toEqual([ask]);
    // While n1 itself reroutes, the request waits for the new upstream's ack.
    h.alive.delete('u');
    h.tree.neighbourDown('u');
    h.tree.onMessage('d', ask);
    expect(h.take('b', 'repair')).toEqual([]);
    h.ack('b', ['s1', 'b']);
    expect(h.take('b', 'repair').map((s) => s.msg)).toEqual([ask]);
  });
});
