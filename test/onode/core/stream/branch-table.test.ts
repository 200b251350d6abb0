import { describe, expect, it } from 'vitest';
import { BranchTable } from '../../../../onode/core/stream/branch-table.ts';
import { DEFAULT_TREE } from '../../../../onode/core/stream/tree-api.ts';
import { MOVIE, TreeHarness } from './tree-harness.ts';

const LIFETIME = DEFAULT_TREE.branchExpiryMs;

describe('BranchTable', () => {
  it('lists acked branches as forwarding targets in attach order; waiting joins are not targets', () => {
    const t = new BranchTable();
    t.wait('c', ['x', 'c']);
    t.attach('a', ['a'], 0, null);
    t.attach('b', ['b'], 0, 5);
    expect(t.targets).toEqual(['a', 'b']);
    expect([...t.waiters.keys()]).toEqual(['c']);
    expect(t.has('c') && t.has('a')).toBe(true);
    // Acking a waiting join moves it to the branches.
    t.attach('c', ['x', 'c'], 0, 5);
    expect(t.targets).toEqual(['a', 'b', 'c']);
    expect(t.waiters.size).toBe(0);
    expect(t.downstream.get('b')?.attachedAtSeq).toBe(5);
  });

  it('keeps the same targets array while only refreshes happen (the forwarding path allocates nothing)', () => {
    const t = new BranchTable();
    t.attach('a', ['a'], 0, null);
    const targets = t.targets;
    expect(t.refresh('a', 100)).toBe(true);
    t.attach('a', ['y', 'a'], 200, 9);
    expect(t.targets).toBe(targets);
    expect(t.downstream.get('a')).toEqual({ path: ['y', 'a'], refreshedAt: 200, attachedAtSeq: null });
    expect(t.refresh('nobody', 100)).toBe(false);
  });

  it('expires a branch only after its soft-state lifetime without a refresh', () => {
    const t = new BranchTable();
    t.attach('a', ['a'], 0, null);
    t.attach('b', ['b'], 0, null);
    t.refresh('b', 3000);
    expect(t.expire(LIFETIME, LIFETIME)).toBe(false); // exactly the lifetime: still alive
    expect(t.expire(LIFETIME + 1, LIFETIME)).toBe(true);
    expect(t.targets).toEqual(['b']);
    expect(t.expire(3000 + LIFETIME + 1, LIFETIME)).toBe(true);
    expect(t.empty).toBe(true);
  });

  it('drops a neighbour as branch and as waiting join, and clears everyone', () => {
    const t = new BranchTable();
    t.attach('a', ['a'], 0, null);
    t.wait('b', ['b']);
    t.drop('a');
    t.drop('b');
    expect(t.empty).toBe(true);
    expect(t.targets).toEqual([]);
    t.attach('a', ['a'], 0, null);
    t.wait('b', ['b']);
    t.clear();
    expect(t.empty && t.targets.length === 0).toBe(true);
  });
});

describe('branches in a tree (virtual time)', () => {
  /** A server of MOVIE with one branch, to `d`. */
  function server(): TreeHarness {
    const h = new TreeHarness('s1', ['d']);
    h.sources.add(MOVIE);
    h.join('d');
    return h;
  }

  it('acks a join at a source with the source as root, and forwards its packets to the branch', () => {
    const h = server();
    expect(h.take('d')).toMatchObject([{ msg: { type: 'join-ack', rootPath: ['s1'] } }]);
    expect(h.started).toEqual([MOVIE]);
    expect(h.carrying).toEqual([MOVIE]);
    h.tree.onSourcePacket(MOVIE, Buffer.alloc(20));
    expect(h.data.map((d) => d.to)).toEqual([['d']]);
  });

  it('expires a branch that stops refreshing after branchExpiryMs, then lingers before stopping the source', () => {
    const h = server();
    h.clock.advance(3000);
    h.join('d'); // a refresh at 3 s
    h.clock.advance(LIFETIME);
    expect(h.stream()?.downstream).toEqual(['d']);
    // The sweep runs every refreshMs: the branch goes within one sweep after its lifetime.
    h.clock.advance(DEFAULT_TREE.refreshMs + 1);
    expect(h.stream()?.downstream).toEqual([]);
    expect(h.stopped).toEqual([]); // lingering: the server keeps its channel a while
  });

  it('refuses a join whose chain already passes through this node, or is not from its sender', () => {
    const h = new TreeHarness('n1', ['d']);
    h.join('d', ['n1', 'd']);
    h.join('d', ['x']);
    expect(h.take('d').map((s) => s.msg)).toMatchObject([
      { type: 'nak', reason: 'loop' },
      { type: 'nak', reason: 'loop' },
    ]);
    expect(h.stream()).toBeUndefined();
  });

  it('refuses a movie no known server has, once servers are known', () => {
    const h = new TreeHarness('n1', ['d', 'u']);
    h.route('s1', 'u', 10, ['other.mjpeg']);
    h.join('d');
    expect(h.take('d').map((s) => s.msg)).toMatchObject([{ type: 'nak', reason: 'unknown-movie' }]);
  });

  it('keeps a join waiting while this node joins upstream, and acks it with the chain once acked', () => {
    const h = new TreeHarness('n1', ['d', 'u']);
    h.route('s1', 'u', 10);
    h.join('d');
    expect(h.take('u', 'join')).toMatchObject([{ msg: { path: ['d', 'n1'] } }]);
    h.join('d'); // the downstream's retry: still waiting, nothing sent back
    expect(h.take('d')).toEqual([]);
    h.ack('u', ['s1', 'u']);
    expect(h.take('d', 'join-ack').map((s) => s.msg)).toContainEqual({
      type: 'join-ack',
      movie: MOVIE,
      rootPath: ['s1', 'u', 'n1'],
    });
    expect(h.stream()).toMatchObject({ state: 'active', upstream: 'u', downstream: ['d'] });
  });

  it('prunes the stream upstream when the last branch leaves', () => {
    const h = new TreeHarness('n1', ['d', 'u']);
    h.route('s1', 'u', 10);
    h.join('d');
    h.ack('u', ['s1', 'u']);
    h.take();
    h.tree.onMessage('d', { type: 'leave', movie: MOVIE });
    expect(h.take().map((s) => [s.to, s.msg.type])).toEqual([['u', 'leave']]);
    expect(h.stream()).toBeUndefined();
    expect(h.tree.counters.prunes).toBe(1);
  });
});
