import { describe, expect, it } from 'vitest';
import { DEFAULT_TREE } from '../../../../onode/core/stream/tree-api.ts';
import { SILENCE_CHECK_MS } from '../../../../onode/core/stream/upstream-switch.ts';
import { REROUTE_GRACE_MS, SUSPECT_SILENCE_MS } from '../../../../onode/core/stream/upstream-join.ts';
import { MOVIE, rtp, TreeHarness } from './tree-harness.ts';

const { joinRetryMs, joinTimeoutMs, refreshMs } = DEFAULT_TREE;

const joinsTo = (h: TreeHarness, to: string): number[] => h.take(to, 'join').map((s) => s.at);

describe('joining an upstream (virtual time)', () => {
  it('joins the best route, resends the join every joinRetryMs until acked, then refreshes every refreshMs', () => {
    const h = new TreeHarness('p', ['a', 'b']);
    h.route('s1', 'a', 10);
    h.route('s1', 'b', 30);
    const v = h.viewer();
    expect(h.stream()).toMatchObject({ state: 'joining', upstream: 'a' });
    h.clock.advance(3 * joinRetryMs);
    expect(joinsTo(h, 'a')).toEqual([0, joinRetryMs, 2 * joinRetryMs, 3 * joinRetryMs]);
    h.ack('a', ['s1', 'a']);
    expect(v.joinedAt).toBe(3 * joinRetryMs);
    expect(h.stream()).toMatchObject({ state: 'active', upstream: 'a', rootPath: ['s1', 'a'] });
    expect(h.carrying).toEqual([MOVIE]);
    h.clock.advance(5 * refreshMs);
    expect(joinsTo(h, 'a')).toHaveLength(5);
    expect(joinsTo(h, 'b')).toEqual([]);
  });

  it(`gives up early on a target silent for ${SUSPECT_SILENCE_MS} ms since the join, and suspects it`, () => {
    const h = new TreeHarness('p', ['a', 'b']);
    h.route('s1', 'a', 10);
    h.route('s1', 'b', 30);
    h.heardAt.set('a', -1); // nothing from a since before the join
    h.viewer();
    h.clock.advance(SUSPECT_SILENCE_MS);
    expect(h.suspected).toEqual(['a']);
    expect(h.stream()?.upstream).toBe('b');
    expect(joinsTo(h, 'b')).toEqual([SUSPECT_SILENCE_MS]);
  });

  it('fails the viewer with timeout when the only candidate answers nothing within joinTimeoutMs', () => {
    const h = new TreeHarness('p', ['a']);
    h.route('s1', 'a', 10);
    const v = h.viewer();
    h.clock.advance(joinTimeoutMs - 1);
    expect(v.failure).toBeNull();
    h.clock.advance(joinRetryMs);
    expect(v.failure).toEqual({ reason: 'timeout', detail: `no answer from upstream within ${joinTimeoutMs} ms` });
    expect(h.stream()).toBeUndefined();
  });

  it('fails with unknown-movie when no server has the movie', () => {
    const h = new TreeHarness('p', ['a']);
    h.route('s1', 'a', 10, ['other.mjpeg']);
    const v = h.viewer();
    expect(v.failure?.reason).toBe('unknown-movie');
  });

  it('tries the next candidate when the upstream refuses while joining', () => {
    const h = new TreeHarness('p', ['a', 'b']);
    h.route('s1', 'a', 10);
    h.route('s1', 'b', 30);
    h.viewer();
    h.take();
    h.tree.onMessage('a', { type: 'nak', movie: MOVIE, reason: 'no-route', detail: 'a is cut off' });
    expect(h.take().map((s) => [s.to, s.msg.type])).toEqual([['b', 'join']]);
    expect(h.tree.counters.reroutes).toBe(0);
  });
});

describe('rerouting after losing the upstream (virtual time)', () => {
  /** p watches through a (10 ms) and has received packets 0..9, a frame every 40 ms; b (30 ms) also leads to s1. */
  function watching(): TreeHarness {
    const h = new TreeHarness('p', ['a', 'b', 'd']);
    h.route('s1', 'a', 10);
    h.route('s1', 'b', 30);
    h.viewer();
    h.ack('a', ['s1', 'a']);
    for (let seq = 0; seq < 10; seq++) {
      h.tree.onData('a', MOVIE, rtp(seq, seq));
      h.clock.advance(40);
    }
    h.take();
    return h;
  }

  it('rejoins through another neighbour to the same server and asks it for what came after the last packet', () => {
    const h = watching();
    h.alive.delete('a');
    h.tree.neighbourDown('a');
    expect(h.stream()).toMatchObject({ state: 'joining', upstream: 'b' });
    expect(h.take('b')).toMatchObject([{ msg: { type: 'join', server: 's1' } }]);
    h.ack('b', ['s1', 'b']);
    expect(h.take('b')).toMatchObject([{ msg: { type: 'repair', ssrc: 7, after: 9 } }]);
    expect(h.tree.counters).toMatchObject({ reroutes: 1, repairsRequested: 1 });
  });

  it('keeps a viewer waiting while stale routes expire, releases branches below, joins when a route appears', () => {
    const h = watching();
    h.join('d', ['d']);
    h.alive.delete('a');
    h.alive.delete('b');
    h.tree.neighbourDown('a');
    expect(h.take('d').map((s) => s.msg)).toMatchObject([{ type: 'join-ack' }, { type: 'nak', reason: 'no-route' }]);
    expect(h.stream()).toMatchObject({ state: 'joining', upstream: null, downstream: [] });
    h.clock.advance(REROUTE_GRACE_MS / 2);
    h.alive.add('b');
    h.clock.advance(joinRetryMs);
    expect(h.stream()?.upstream).toBe('b');
  });

  it('fails the viewer once the reroute grace has passed without any route', () => {
    const h = watching();
    h.alive.delete('a');
    h.alive.delete('b');
    h.tree.neighbourDown('a');
    h.clock.advance(REROUTE_GRACE_MS + joinRetryMs);
    expect(h.stream()).toBeUndefined();
  });

  it('reroutes when the flowing upstream refuses, counting one reroute', () => {
    const h = watching();
    h.tree.onMessage('a', { type: 'nak', movie: MOVIE, reason: 'no-route', detail: 'a lost its way' });
    expect(h.take().map((s) => [s.to, s.msg.type])).toEqual([['b', 'join']]);
    expect(h.tree.counters.reroutes).toBe(1);
    expect(h.tree.lastEvent?.what).toBe('upstream a refused (no-route); rerouting');
  });

  it('carries on with a switch already in flight when the old upstream fails', () => {
    const h = watching();
    // Data from a stops: the silence watch starts joining through b.
    h.clock.advance(200 + SILENCE_CHECK_MS);
    expect(h.take('b', 'join')).toHaveLength(1);
    h.tree.onMessage('a', { type: 'nak', movie: MOVIE, reason: 'no-route', detail: 'a lost its way' });
    expect(h.stream()).toMatchObject({ state: 'joining', upstream: 'b' });
    h.ack('b', ['s1', 'b']);
    expect(h.stream()).toMatchObject({ state: 'active', upstream: 'b' });
  });
});
