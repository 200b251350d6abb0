import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import {
  FAILOVER_ROUNDS,
  type FailoverDecision,
  FailoverPolicy,
  PolicyError,
  STALL_FAILOVER_MS,
} from '../../../oclient/core/failover-policy.ts';

/** A policy over POPs a, b, c (best first) in virtual time; stalls land in `stalls`. */
function setup(pops = ['a', 'b', 'c'], roundPops?: string[]) {
  const clock = new VirtualClock(1000);
  const stalls: { at: number; decision: FailoverDecision }[] = [];
  const policy = new FailoverPolicy({
    pops,
    ...(roundPops ? { roundPops } : {}),
    clock,
    onStall: (decision) => stalls.push({ at: clock.now(), decision }),
  });
  /** Frames every 40 ms (25 fps) for `ms`. */
  const stream = (ms: number): void => {
    for (let t = 0; t < ms; t += 40) {
      clock.advance(40);
      policy.frame();
    }
  };
  return { clock, policy, stalls, stream };
}

describe('the failover policy', () => {
  it('moves to the next POP in order when the one playing sends nothing for the stall time', () => {
    const { clock, policy, stalls, stream } = setup();
    policy.playing();
    stream(2000);
    const lastFrame = clock.now();
    clock.advance(STALL_FAILOVER_MS - 1);
    expect(stalls).toEqual([]); // frames stopped, but not for long enough yet
    clock.advance(1);
    expect(stalls).toEqual([
      {
        at: lastFrame + STALL_FAILOVER_MS,
        decision: { action: 'switch', from: 'a', to: 'b', why: `no frame from a for ${STALL_FAILOVER_MS} ms` },
      },
    ]);
    expect(policy.current).toBe('b');
    policy.playing();
    stream(1000);
    expect(policy.failovers).toBe(1);
    expect(policy.popsUsed).toEqual(['a', 'b']);
    // The interruption runs from a's last frame to b's first.
    expect(policy.longestGapMs).toBe(STALL_FAILOVER_MS + 40);
    expect(stalls).toHaveLength(1);
  });

  it('counts a stall from PLAY when no frame ever came, and not while paused', () => {
    const { clock, policy, stalls, stream } = setup(['a', 'b']);
    policy.playing();
    stream(400);
    policy.idle(); // paused
    clock.advance(10_000);
    expect(stalls).toEqual([]);
    policy.playing(); // resumed: the same session, counted once in popsUsed
    clock.advance(STALL_FAILOVER_MS);
    expect(stalls.map((s) => s.decision)).toEqual([
      { action: 'switch', from: 'a', to: 'b', why: `no frame from a for ${STALL_FAILOVER_MS} ms` },
    ]);
    expect(policy.popsUsed).toEqual(['a']);
  });

  it('gives up with every reason once every POP refused the movie in one round', () => {
    const { policy } = setup();
    expect(policy.refused(404, 'unknown-movie', 'a refused')).toEqual({
      action: 'switch',
      from: 'a',
      to: 'b',
      why: 'a refused',
    });
    expect(policy.refused(503, 'no-route', 'b refused')).toMatchObject({ action: 'switch', from: 'b', to: 'c' });
    expect(policy.refused(404, 'Not Found', 'c refused')).toEqual({
      action: 'give-up',
      reason: {
        kind: 'every-pop-refused',
        refusals: [
          { pop: 'a', status: 404, reason: 'unknown-movie' },
          { pop: 'b', status: 503, reason: 'no-route' },
          { pop: 'c', status: 404, reason: 'Not Found' },
        ],
      },
    });
    expect(policy.failovers).toBe(2); // one hand-over per POP after the first, none after the last
  });

  it('makes the refusal round of the POPs known to be up: one POP down cannot hide the refusals', () => {
    // c did not answer the RTT probe: it is only a fallback, and its refusal is not waited for.
    const { policy } = setup(['a', 'b', 'c'], ['a', 'b']);
    expect(policy.refused(404, 'unknown-movie', 'a refused')).toMatchObject({ action: 'switch', to: 'b' });
    expect(policy.refused(404, 'unknown-movie', 'b refused')).toEqual({
      action: 'give-up',
      reason: {
        kind: 'every-pop-refused',
        refusals: [
          { pop: 'a', status: 404, reason: 'unknown-movie' },
          { pop: 'b', status: 404, reason: 'unknown-movie' },
        ],
      },
    });
  });

  it('counts a refusal round only when every POP refused; asking again starts a new round', () => {
    const { policy } = setup(['a', 'b']);
    policy.refused(404, 'unknown-movie', 'a refused');
    const d = policy.failed('b: connection refused');
    // Before anything played, one round decides: b's failure was not a refusal, so no exit 8.
    expect(d).toEqual({ action: 'give-up', reason: { kind: 'no-pop-plays', pop: 'b', why: 'b: connection refused' } });
    policy.restart(); // the user asks again, from b
    expect(policy.current).toBe('b');
    expect(policy.refused(503, 'no-route', 'b refused')).toMatchObject({ action: 'switch', to: 'a' });
    expect(policy.refused(404, 'unknown-movie', 'a refused')).toMatchObject({
      action: 'give-up',
      reason: { kind: 'every-pop-refused' },
    });
  });

  it('returns to a POP that failed once it comes back, after trying the others', () => {
    const { policy, stream } = setup();
    policy.playing();
    stream(1000);
    expect(policy.failed('a closed the RTSP connection')).toMatchObject({ action: 'switch', from: 'a', to: 'b' });
    expect(policy.failed('b: connection refused')).toMatchObject({ action: 'switch', from: 'b', to: 'c' });
    expect(policy.failed('c: connection refused')).toMatchObject({ action: 'switch', from: 'c', to: 'a' });
    policy.playing(); // a is back
    stream(1000);
    expect(policy.popsUsed).toEqual(['a', 'a']);
    expect(policy.failovers).toBe(3);
    // Frames reset the count: a long session may fail over any number of times.
    for (let i = 0; i < 10; i++) {
      expect(policy.failed('dropped')).toMatchObject({ action: 'switch' });
      policy.playing();
      stream(200);
    }
    expect(policy.failovers).toBe(13);
  });

  it('a POP that refused, then played, no longer counts in the refusal round', () => {
    const { policy, stream } = setup(['a', 'b']);
    policy.refused(503, 'no-route', 'a refused');
    policy.playing(); // b plays
    stream(200);
    policy.failed('b dropped'); // to a
    policy.playing(); // a has a route now
    stream(200);
    policy.failed('a dropped'); // to b
    expect(policy.refused(503, 'no-route', 'b refused')).toMatchObject({ action: 'switch', to: 'a' });
  });

  it('ends, instead of looping, when every POP keeps failing', () => {
    const { clock, policy, stalls, stream } = setup();
    policy.playing();
    stream(1000);
    // Each POP plays (PLAY answered) but never sends a frame: a stall, over and over.
    let decision: FailoverDecision | undefined;
    let sessions = 0;
    while (sessions < 100) {
      sessions++;
      policy.playing();
      clock.advance(STALL_FAILOVER_MS);
      decision = stalls.at(-1)?.decision;
      if (decision?.action === 'give-up') break;
    }
    expect(sessions).toBe(FAILOVER_ROUNDS * 3);
    expect(decision).toEqual({
      action: 'give-up',
      reason: { kind: 'no-pop-plays', pop: 'c', why: `no frame from c for ${STALL_FAILOVER_MS} ms` },
    });
    expect(clock.pending()).toBe(0); // no stall watch left behind
    // Failures that end at once (connections refused) stop too: one round before anything played.
    const fresh = setup().policy;
    const answers = ['a', 'b', 'c', 'a'].map(() => fresh.failed('connection refused').action);
    expect(answers).toEqual(['switch', 'switch', 'give-up', 'give-up']);
  });

  it('with one POP, retries it after it played and gives up at its first failure before', () => {
    const once = setup(['a']).policy;
    expect(once.failed('connection refused')).toMatchObject({ action: 'give-up' });
    const { policy, stream } = setup(['a', 'a']); // duplicates dropped
    policy.playing();
    stream(200);
    expect(policy.failed('dropped')).toEqual({ action: 'switch', from: 'a', to: 'a', why: 'dropped' });
    expect(policy.failed('connection refused')).toMatchObject({ action: 'switch' });
    expect(policy.failed('connection refused')).toMatchObject({ action: 'give-up' });
  });

  it('stops watching once stopped, and needs a POP', () => {
    const { clock, policy, stalls } = setup();
    policy.playing();
    policy.stopped();
    clock.advance(60_000);
    expect(stalls).toEqual([]);
    expect(clock.pending()).toBe(0);
    expect(() => new FailoverPolicy({ pops: [], clock })).toThrow(PolicyError);
  });
});
