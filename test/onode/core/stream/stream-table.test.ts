import { describe, expect, it } from 'vitest';
import { RELAY_LINGER_MS, SOURCE_LINGER_MS } from '../../../../onode/core/stream/stream-table.ts';
import { MOVIE, TreeHarness } from './tree-harness.ts';

/** Relay n1 carries MOVIE from u to its only branch d. */
function relay(): TreeHarness {
  const h = new TreeHarness('n1', ['u', 'd', 'e']);
  h.route('s1', 'u', 10);
  h.join('d');
  h.ack('u', ['s1', 'u']);
  h.take();
  return h;
}

const leaves = (h: TreeHarness): string[] => h.take(undefined, 'leave').map((s) => s.to);

describe('stream lifetime and lingering (virtual time)', () => {
  it(`keeps a relay stream whose last branch failed for ${RELAY_LINGER_MS} ms, then leaves upstream`, () => {
    const h = relay();
    h.alive.delete('d');
    h.tree.neighbourDown('d');
    h.clock.advance(RELAY_LINGER_MS - 1);
    expect(leaves(h)).toEqual([]);
    expect(h.carrying).toEqual([MOVIE]);
    h.clock.advance(1);
    expect(leaves(h)).toEqual(['u']);
    expect(h.stream()).toBeUndefined();
    expect(h.carrying).toEqual([]);
  });

  it('resumes a lingering stream for a branch that comes back, without joining again', () => {
    const h = relay();
    h.alive.delete('d');
    h.tree.neighbourDown('d');
    h.clock.advance(RELAY_LINGER_MS / 2);
    h.join('e', ['x', 'e']);
    expect(h.take('e').map((s) => s.msg.type)).toEqual(['join-ack']);
    h.clock.advance(RELAY_LINGER_MS);
    expect(leaves(h)).toEqual([]);
    expect(h.stream()).toMatchObject({ upstream: 'u', downstream: ['e'] });
  });

  it(`keeps a server's channel running ${SOURCE_LINGER_MS} ms after its last branch failed`, () => {
    const h = new TreeHarness('s1', ['d']);
    h.sources.add(MOVIE);
    h.join('d');
    h.tree.neighbourDown('d');
    h.clock.advance(SOURCE_LINGER_MS - 1);
    expect(h.stopped).toEqual([]);
    h.clock.advance(1);
    expect(h.stopped).toEqual([MOVIE]);
  });

  it('prunes at once when the last branch leaves, or when the only waiting join fails before an ack', () => {
    const h = relay();
    h.tree.onMessage('d', { type: 'leave', movie: MOVIE });
    expect(leaves(h)).toEqual(['u']);

    const p = new TreeHarness('n1', ['u', 'd']);
    p.route('s1', 'u', 10);
    p.join('d');
    p.take();
    p.tree.neighbourDown('d');
    expect(leaves(p)).toEqual(['u']);
    expect(p.stream()).toBeUndefined();
  });

  it('announces the carried movies only when they change', () => {
    const h = new TreeHarness('n1', ['u', 'd']);
    h.route('s1', 'u', 10);
    h.join('d');
    expect(h.announcements).toBe(0); // joining is not carrying
    h.ack('u', ['s1', 'u']);
    h.ack('u', ['s1', 'u']); // the same chain again
    h.join('d');
    expect(h.announcements).toBe(1);
    expect(h.carrying).toEqual([MOVIE]);
    expect(h.tree.carryingRoots()).toEqual(['s1']);
    h.tree.onMessage('d', { type: 'leave', movie: MOVIE });
    expect(h.announcements).toBe(2);
    expect(h.carrying).toEqual([]);
  });

  it('leaves every upstream and stops every source on stop()', () => {
    const h = relay();
    h.sources.add('beta.mjpeg');
    h.join('d', ['d'], 'beta.mjpeg');
    h.take();
    h.tree.stop();
    expect(leaves(h)).toEqual(['u']);
    expect(h.stopped).toEqual(['beta.mjpeg']);
    expect(h.tree.snapshot()).toEqual([]);
    h.clock.advance(10_000);
    expect(h.sent).toEqual([]); // no timer left running
  });
});
