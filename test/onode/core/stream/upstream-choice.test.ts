import { describe, expect, it } from 'vitest';
import { MAX_PATH_LENGTH } from '../../../../common/wire/overlay.ts';
import { newStream } from '../../../../onode/core/stream/stream-state.ts';
import {
  alternativeUpstream,
  type ChoiceDeps,
  chooseUpstream,
  FAULTY_UPSTREAM_MS,
  FaultyNeighbours,
  joinChain,
} from '../../../../onode/core/stream/upstream-choice.ts';
import { MOVIE, TreeHarness } from './tree-harness.ts';

/** The choice's view of a node with neighbours a..d: routes from `h`, carriers with RTTs and roots. */
function view(
  h: TreeHarness,
  carriers: Record<string, { rtt: number; root: string | null }> = {},
): ChoiceDeps & { alive: Set<string> } {
  const alive = new Set(['a', 'b', 'c', 'd']);
  return {
    alive,
    self: 'me',
    routes: h.routes,
    carriers: () => Object.keys(carriers).filter((n) => alive.has(n)),
    rttMs: (n) => carriers[n]?.rtt,
    carrierRoot: (n) => carriers[n]?.root ?? null,
    isAlive: (n) => alive.has(n),
  };
}

const none = (): boolean => false;

describe('chooseUpstream', () => {
  it('prefers the closest neighbour already carrying the movie over any route to a server', () => {
    const h = new TreeHarness();
    h.route('s1', 'a', 5);
    const deps = view(h, { b: { rtt: 30, root: 's1' }, c: { rtt: 10, root: 's2' } });
    expect(chooseUpstream(deps, MOVIE, null, none)).toBe('c');
    expect(chooseUpstream(deps, MOVIE, null, (n) => n === 'c')).toBe('b');
  });

  it('falls back to the best route to a server with the movie, skipping excluded neighbours', () => {
    const h = new TreeHarness();
    h.route('s1', 'a', 5);
    h.route('s2', 'b', 20);
    const deps = view(h);
    expect(chooseUpstream(deps, MOVIE, null, none)).toBe('a');
    expect(chooseUpstream(deps, MOVIE, null, (n) => n === 'a')).toBe('b');
    expect(chooseUpstream(deps, MOVIE, null, () => true)).toBeUndefined();
    expect(chooseUpstream(deps, 'nobody-has.mjpeg', null, none)).toBeUndefined();
  });

  it('stays with the preferred server after a loss: its carriers first, then routes to it avoiding other roots', () => {
    const h = new TreeHarness();
    h.route('s1', 'a', 50);
    h.route('s2', 'b', 5);
    const deps = view(h, { c: { rtt: 1, root: 's2' }, d: { rtt: 40, root: 's1' } });
    expect(chooseUpstream(deps, MOVIE, 's1', none)).toBe('d');
    expect(chooseUpstream(deps, MOVIE, 's1', (n) => n === 'd')).toBe('a');
    // No way to s1 left: the closest carrier of any server.
    expect(chooseUpstream(deps, MOVIE, 's1', (n) => n === 'd' || n === 'a')).toBe('c');
  });
});

describe('alternativeUpstream', () => {
  it('is the best route to the same server via a neighbour not upstream, not below us, alive and not faulty', () => {
    const h = new TreeHarness();
    for (const [via, ms] of [
      ['a', 10],
      ['b', 20],
      ['c', 30],
      ['d', 40],
    ] as const)
      h.route('s1', via, ms);
    const deps = view(h);
    const s = newStream(MOVIE, false, 'me', ['me'], 64);
    s.feed = { kind: 'flowing', via: 'a' };
    s.rootPath = ['s1', 'a'];
    s.branches.attach('b', ['b'], 0, null);
    deps.alive.delete('c');
    expect(alternativeUpstream(deps, s, none, () => true)?.via).toBe('d');
    expect(
      alternativeUpstream(
        deps,
        s,
        (n) => n === 'd',
        () => true,
      ),
    ).toBeUndefined();
    deps.alive.add('c');
    expect(alternativeUpstream(deps, s, none, (n) => n !== 'c')?.via).toBe('d');
    expect(alternativeUpstream(deps, s, none, () => true)?.via).toBe('c');
  });
});

describe('joinChain', () => {
  it('speaks for the waiting joins, the branches of a stream without upstream, and its requesters, self last', () => {
    const s = newStream(MOVIE, false, 'me', ['x', 'me'], 64);
    s.branches.wait('w', ['v', 'w']);
    s.branches.attach('b', ['b'], 0, null);
    expect(joinChain(s, 'me')).toEqual(['v', 'w', 'b', 'x', 'me']);
    s.feed = { kind: 'flowing', via: 'u' };
    expect(joinChain(s, 'me')).toEqual(['v', 'w', 'x', 'me']);
  });

  it(`keeps at most ${MAX_PATH_LENGTH} names, the nearest ones`, () => {
    const s = newStream(MOVIE, false, 'me', ['me'], 64);
    const long = Array.from({ length: MAX_PATH_LENGTH + 5 }, (_, i) => `n${i}`);
    s.branches.wait(long.at(-1)!, long);
    const chain = joinChain(s, 'me');
    expect(chain).toHaveLength(MAX_PATH_LENGTH);
    expect(chain.at(-1)).toBe('me');
    expect(chain.at(-2)).toBe(long.at(-1));
  });
});

describe('FaultyNeighbours', () => {
  it(`avoids a neighbour for ${FAULTY_UPSTREAM_MS} ms`, () => {
    const f = new FaultyNeighbours();
    f.mark('a', 1000);
    expect(f.has('a', 1000 + FAULTY_UPSTREAM_MS - 1)).toBe(true);
    expect(f.has('a', 1000 + FAULTY_UPSTREAM_MS)).toBe(false);
    expect(f.has('b', 1000)).toBe(false);
  });
});
