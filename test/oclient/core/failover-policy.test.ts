import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import {
  FAILOVER_ROUNDS,
  type FailoverDecision,
  FailoverPolicy,
  MAX_STALL_WAIT_MS,
  PolicyError,
  STALL_FAILOVER_MS,
  STALL_RECHECK_MS,
} from '../../../oclient/core/failover-policy.ts';
import { COOLDOWN_MS, MAX_COOLDOWN_MS, RECOVERED_AFTER_MS } from '../../../oclient/core/pop-penalties.ts';

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
  it('does not blame the POP for a stall of this process: a watch firing late looks again after reading', () => {
    const { clock, policy, stalls, stream } = setup();
    policy.playing();
    stream(2000);
    // This process is held up 3 s; the POP's frames wait in the socket, read once timers have run.
    clock.stall(3000);
    clock.advance(0);
    expect(stalls).toEqual([]);
    expect(policy.stalledWatches).toBe(1);
    policy.frame();
    stream(2000);
    expect(stalls).toEqual([]);
    // A POP that really went quiet is still left, STALL_RECHECK_MS after the late watch at most.
    clock.stall(3000);
    clock.advance(0);
    clock.advance(STALL_RECHECK_MS);
    expect(stalls.map((x) => x.decision.action)).toEqual(['switch']);
  });

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

  it('stalls after 1 s by default, or after the stall time given', () => {
    expect(STALL_FAILOVER_MS).toBe(1000);
    const clock = new VirtualClock(0);
    const at: number[] = [];
    const policy = new FailoverPolicy({ pops: ['a', 'b'], clock, stallMs: 300, onStall: () => at.push(clock.now()) });
    policy.playing();
    clock.advance(299);
    expect(at).toEqual([]);
    clock.advance(1);
    expect(at).toEqual([300]);
  });

  it('goes to the best POP by RTT out of its cooldown, not merely the next one on the list', () => {
    const { clock, policy, stream } = setup();
    policy.playing();
    stream(1000);
    expect(policy.failed('a dropped')).toMatchObject({ from: 'a', to: 'b' });
    policy.playing();
    stream(COOLDOWN_MS); // a's cooldown ends while b plays
    expect(policy.failed('b dropped')).toMatchObject({ from: 'b', to: 'a' });
    policy.playing();
    stream(200);
    // a again, at once: its cooldown is now twice as long, b's has not ended: c, never tried.
    expect(policy.failed('a dropped')).toMatchObject({ from: 'a', to: 'c' });
    expect(policy.failuresOf('a')).toBe(2);
    expect(clock.pending()).toBe(0);
  });

  it('doubles a POP cooldown with each failure in a row, up to the cap, and forgives a POP that played', () => {
    const { policy, stream } = setup(['a', 'b']);
    policy.playing();
    stream(200);
    // a and b fail in turn, each playing 200 ms: never long enough to be forgiven.
    for (let i = 0; i < 12; i++) {
      policy.failed('dropped');
      policy.playing();
      stream(200);
    }
    expect(policy.failuresOf('a')).toBe(6);
    expect(policy.failuresOf('b')).toBe(6);
    expect(COOLDOWN_MS * 2 ** 5).toBeGreaterThan(MAX_COOLDOWN_MS); // so the cap applies by now
    stream(RECOVERED_AFTER_MS); // a plays well
    expect(policy.current).toBe('a');
    expect(policy.failuresOf('a')).toBe(0);
    expect(policy.failuresOf('b')).toBe(6);
  });

  it('stays on a quiet POP that played while every other is in its cooldown; switches when one ends', () => {
    const { clock, policy, stalls, stream } = setup(['a', 'b']);
    policy.playing();
    stream(1000);
    policy.failed('a dropped'); // to b; a cools down for COOLDOWN_MS
    const aFree = clock.now() + COOLDOWN_MS;
    policy.playing();
    stream(1000);
    clock.advance(STALL_FAILOVER_MS);
    expect(stalls).toEqual([]); // b is quiet, but a is worse: wait
    stream(1000); // b came back: stay
    expect(policy.current).toBe('b');
    clock.advance(aFree - clock.now() - 1);
    expect(stalls).toEqual([]);
    expect(stalls).toEqual([]); // quiet for longer than the stall time, but a is still cooling down
    clock.advance(1); // a's cooldown is over: go
    expect(stalls.map((s) => s.decision)).toMatchObject([{ action: 'switch', from: 'b', to: 'a' }]);
    expect(stalls[0]?.at).toBe(aFree);
  });

  it('waits on a quiet POP at most MAX_STALL_WAIT_MS, however long the other cooldowns', () => {
    const { clock, policy, stalls, stream } = setup(['a', 'b']);
    policy.playing();
    stream(200);
    for (let i = 0; i < 9; i++) {
      policy.failed('dropped');
      policy.playing();
      stream(200);
    } // on b, a cooling down for MAX_COOLDOWN_MS
    const quietFrom = clock.now();
    clock.advance(MAX_COOLDOWN_MS);
    expect(stalls.map((s) => s.at)).toEqual([quietFrom + MAX_STALL_WAIT_MS]);
    expect(stalls[0]?.decision).toMatchObject({ action: 'switch', from: 'b', to: 'a' });
  });

  it('two POPs that stall in turn every few seconds: a bounded number of switches per minute', () => {
    // Each POP goes quiet for 1.5 s every 4 s; b is 2 s out of phase with a.
    const quiet = (pop: string, t: number): boolean => (t + (pop === 'b' ? 2000 : 0)) % 4000 < 1500;
    const { clock, policy, stalls } = setup(['a', 'b']);
    policy.playing();
    let frozen = 0;
    const minutes = 10;
    for (let t = 0; t < minutes * 60_000; t += 40) {
      const before = stalls.length;
      clock.advance(40);
      if (stalls.length > before) policy.playing(); // SETUP and PLAY at the next POP (instant here)
      if (quiet(policy.current, clock.now())) frozen += 40;
      else policy.frame();
    }
    const perMinute = Array.from({ length: minutes }, (_, m) => stalls.filter((s) => s.at - 1000 < (m + 1) * 60_000));
    const counts = perMinute.map((x, m) => x.length - (m === 0 ? 0 : (perMinute[m - 1]?.length ?? 0)));
    // Without hysteresis each quiet spell of the POP in use would be a switch: 30 a minute.
    expect(Math.max(...counts), `switches per minute: ${counts}`).toBeLessThanOrEqual(6);
    expect(
      counts.slice(2).every((n) => n <= 2),
      `switches per minute: ${counts}`,
    ).toBe(true);
    expect(stalls.every((s) => s.decision.action === 'switch')).toBe(true);
    // The price: quiet spells are sat out, never longer than the POP's own (1.5 s) plus nothing.
    expect(policy.longestGapMs).toBeLessThanOrEqual(1500 + 2 * 40);
    expect(frozen / (minutes * 60_000)).toBeLessThan(0.4);
  });
});
