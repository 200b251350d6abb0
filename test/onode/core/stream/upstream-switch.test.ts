import { describe, expect, it } from 'vitest';
import { DEFAULT_TREE } from '../../../../onode/core/stream/tree-api.ts';
import {
  MIN_DATA_SILENCE_MS,
  SWITCH_CONFIRMATIONS,
  SWITCH_STABLE_MS,
} from '../../../../onode/core/stream/switch-policy.ts';
import { SILENCE_CHECK_MS } from '../../../../onode/core/stream/upstream-switch.ts';
import { MOVIE, rtp, TreeHarness } from './tree-harness.ts';

const { refreshMs, joinTimeoutMs } = DEFAULT_TREE;

/** POP p watches MOVIE from s1 through relay a (50 ms); relay b offers `viaB` ms from `bUpAt` on. */
function flowingThroughA(): TreeHarness {
  const h = new TreeHarness('p', ['a']);
  h.route('s1', 'a', 50);
  h.viewer();
  h.ack('a', ['s1', 'a']);
  h.take();
  return h;
}

function offerB(h: TreeHarness, latencyMs: number): void {
  h.alive.add('b');
  h.linkUpSince.set('b', h.clock.now());
  h.route('s1', 'b', latencyMs);
}

/** Ten frames from a at 25 fps (then nothing sent is pending); returns the next sequence number. */
function tenFramesFromA(h: TreeHarness): number {
  for (let frame = 0; frame < 10; frame++) {
    h.tree.onData('a', MOVIE, rtp(frame, frame));
    h.clock.advance(40);
  }
  h.take();
  return 10;
}

/** Virtual times of the joins sent to `to`. */
const joinsTo = (h: TreeHarness, to: string): number[] => h.take(to, 'join').map((s) => s.at);

describe('make-before-break switch (virtual time)', () => {
  it('moves to a clearly faster route only after the link is stable and the gain is confirmed', () => {
    const h = flowingThroughA();
    const offeredAt = h.clock.now();
    offerB(h, 20);
    h.clock.advance(SWITCH_STABLE_MS - 1);
    expect(joinsTo(h, 'b')).toEqual([]);
    // Stable from here: SWITCH_CONFIRMATIONS refreshes in a row (one per refreshMs) must see the gain.
    h.clock.advance((SWITCH_CONFIRMATIONS - 1) * refreshMs);
    expect(joinsTo(h, 'b')).toEqual([]);
    h.clock.advance(1);
    const joined = joinsTo(h, 'b');
    expect(joined).toHaveLength(1);
    expect(joined[0]! - offeredAt).toBeGreaterThanOrEqual(SWITCH_STABLE_MS + (SWITCH_CONFIRMATIONS - 1) * refreshMs);
    // The old upstream feeds us until the new one acks; then it is left.
    expect(h.stream()?.upstream).toBe('a');
    expect(h.tree.takesData('b', MOVIE) && h.tree.takesData('a', MOVIE)).toBe(true);
    h.ack('b', ['s1', 'b']);
    expect(h.take('a').map((s) => s.msg.type)).toEqual(['leave']);
    expect(h.stream()?.upstream).toBe('b');
    expect(h.tree.counters.switches).toBe(1);
    expect(h.tree.lastEvent?.what).toBe('moved upstream from a to b (a faster path)');
  });

  it('stays on a route that is only a little slower', () => {
    const h = flowingThroughA();
    offerB(h, 45);
    h.clock.advance(SWITCH_STABLE_MS + 20 * refreshMs);
    expect(joinsTo(h, 'b')).toEqual([]);
    expect(h.stream()?.upstream).toBe('a');
  });

  it('abandons a switch the new upstream does not ack within the join timeout', () => {
    const h = flowingThroughA();
    offerB(h, 20);
    h.clock.advance(SWITCH_STABLE_MS + SWITCH_CONFIRMATIONS * refreshMs);
    expect(joinsTo(h, 'b')).toHaveLength(1);
    h.clock.advance(joinTimeoutMs + refreshMs);
    expect(h.take('b').map((s) => s.msg.type)).toContain('leave');
    expect(h.tree.takesData('b', MOVIE)).toBe(false);
    expect(h.stream()?.upstream).toBe('a');
  });

  it('stays with the old upstream when the new one refuses', () => {
    const h = flowingThroughA();
    offerB(h, 20);
    h.clock.advance(SWITCH_STABLE_MS + SWITCH_CONFIRMATIONS * refreshMs);
    h.tree.onMessage('b', { type: 'nak', movie: MOVIE, reason: 'loop', detail: '' });
    expect(h.tree.takesData('b', MOVIE)).toBe(false);
    expect(h.stream()?.upstream).toBe('a');
    expect(h.tree.counters.reroutes).toBe(0);
  });

  it('refuses a new chain that loops through this node, staying where it is', () => {
    const h = flowingThroughA();
    offerB(h, 20);
    h.clock.advance(SWITCH_STABLE_MS + SWITCH_CONFIRMATIONS * refreshMs);
    h.take();
    h.ack('b', ['s1', 'p', 'b']);
    expect(h.take().map((s) => [s.to, s.msg.type])).toEqual([['b', 'leave']]);
    expect(h.stream()?.upstream).toBe('a');
  });

  it('starts joining around an upstream silent for three frame gaps, before any hello is missed', () => {
    const h = flowingThroughA();
    offerB(h, 80); // slower, but there
    let seq = 0;
    for (let frame = 0; frame < 10; frame++) {
      h.tree.onData('a', MOVIE, rtp(seq++, frame));
      h.clock.advance(40);
    }
    const lastDataAt = h.clock.now() - 40;
    h.take();
    h.clock.advance(MIN_DATA_SILENCE_MS - 40 - SILENCE_CHECK_MS);
    expect(joinsTo(h, 'b')).toEqual([]);
    h.clock.advance(2 * SILENCE_CHECK_MS);
    const joined = joinsTo(h, 'b');
    expect(joined).toHaveLength(1);
    expect(joined[0]! - lastDataAt).toBeGreaterThanOrEqual(MIN_DATA_SILENCE_MS);
    expect(h.tree.lastEvent?.what).toMatch(/^no data from a for 150 ms; joining through b/);
  });

  it('does not blame the upstream for a silence that was this thread stalling', () => {
    const h = flowingThroughA();
    offerB(h, 80);
    let seq = tenFramesFromA(h);
    // 400 ms without running: the silence check fires late, before the socket's backlog is read.
    h.clock.stall(400);
    h.clock.advance(0);
    for (let frame = 10; frame < 20; frame++) h.tree.onData('a', MOVIE, rtp(seq++, frame));
    h.clock.advance(SILENCE_CHECK_MS);
    expect(joinsTo(h, 'b')).toEqual([]);
    expect(h.tree.counters.stalledChecks).toBe(1);
    // A real silence afterwards is still seen.
    h.clock.advance(MIN_DATA_SILENCE_MS + 2 * SILENCE_CHECK_MS);
    expect(joinsTo(h, 'b')).toHaveLength(1);
  });

  it('counts an upstream that only resends old packets as silent', () => {
    const h = flowingThroughA();
    offerB(h, 80);
    tenFramesFromA(h);
    // Replays of an old packet, at the frame rate, keep nothing flowing to the viewers.
    for (let i = 0; i < 10; i++) {
      h.tree.onData('a', MOVIE, rtp(0, 0));
      h.clock.advance(40);
    }
    expect(joinsTo(h, 'b')).toHaveLength(1);
    expect(h.tree.lastEvent?.what).toMatch(/^no data from a for 150 ms; joining through b/);
  });

  it('moves away from an upstream that sent forged data, and avoids it for other joins', () => {
    const h = flowingThroughA();
    offerB(h, 80);
    h.tree.upstreamFaulty('a', MOVIE, 'bad signature');
    expect(joinsTo(h, 'b')).toHaveLength(1);
    h.ack('b', ['s1', 'b']);
    expect(h.take('a').map((s) => s.msg.type)).toEqual(['leave']);
    expect(h.stream()?.upstream).toBe('b');
    // Another movie, whose best route is through a: joined through b while a is avoided.
    h.route('s2', 'a', 10, ['beta.mjpeg']);
    h.route('s2', 'b', 90, ['beta.mjpeg']);
    h.take();
    h.viewer('other', 'beta.mjpeg');
    expect(h.take().map((x) => [x.to, x.msg.type])).toEqual([['b', 'join']]);
  });
});
