/**
 * Properties of the overlay over random overlays (onode/sim/random-overlay.ts) drawn by fast-check:
 * graph shape, delays, which POPs ask for which movie, which relay fails. The fixed-seed tests
 * (stream-tree.test.ts, failure-recovery.test.ts) go deeper on a few overlays; these check that
 * the basic promises hold on any of them. A failure prints the fast-check seed and path to replay.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randomOverlay, type RandomOverlay, shortestLatencies } from '../../../onode/sim/random-overlay.ts';
import type { SimNetwork, Viewer } from '../../../onode/sim/sim-network.ts';
import { activeLoops, pathToRoot, settledTree, streamsOf } from '../core/tree-invariants.ts';

/** randomOverlay's default movies; fakeMovie sends 25 fps x 2 packets a frame. */
const MOVIES = ['alpha.mjpeg', 'beta.mjpeg'] as const;
const PACKETS_PER_SECOND = 50;
/** Runs per property: each is a few seconds of virtual time on up to 20 nodes (well under a second of wall time). */
const RUNS = Number(process.env.SIM_PROPERTY_RUNS ?? 6);
/** Virtual time for STATUS probes to reach every node before anyone asks. */
const ROUTES_MS = 4000;

interface Scenario {
  readonly relays: number;
  readonly servers: number;
  readonly pops: number;
  readonly extraEdges: number;
  readonly maxDelayMs: number;
  readonly seed: number;
  /** Per POP: the movie its viewer asks for, or null when it asks for nothing. */
  readonly asks: readonly (number | null)[];
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    relays: fc.integer({ min: 2, max: 12 }),
    servers: fc.integer({ min: 1, max: 3 }),
    pops: fc.integer({ min: 2, max: 5 }),
    extraEdges: fc.constantFrom(0, 0.3, 0.6, 1),
    maxDelayMs: fc.integer({ min: 1, max: 20 }),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
  })
  .chain((s) =>
    fc
      .array(fc.option(fc.integer({ min: 0, max: MOVIES.length - 1 }), { nil: null }), {
        minLength: s.pops,
        maxLength: s.pops,
      })
      .filter((asks) => asks.some((a) => a !== null))
      .map((asks) => ({ ...s, asks })),
  );

/** The overlay with routes converged and the scenario's viewers watching for two seconds. */
function build(s: Scenario): { o: RandomOverlay; viewers: Viewer[] } {
  const o = randomOverlay({
    nodes: s.relays + s.servers + s.pops,
    servers: s.servers,
    pops: s.pops,
    extraEdges: s.extraEdges,
    maxDelayMs: s.maxDelayMs,
    seed: s.seed,
  });
  o.net.start();
  o.net.run(ROUTES_MS);
  const viewers = o.pops.flatMap((p, i) => {
    const m = s.asks[i];
    return m === null || m === undefined ? [] : [o.net.watch(p, MOVIES[m]!)];
  });
  o.net.run(2000);
  return { o, viewers };
}

/** Packets each viewer receives over the next `ms`. */
function receivedOver(net: SimNetwork, viewers: readonly Viewer[], ms: number): number[] {
  const before = viewers.map((v) => v.packets.length);
  net.run(ms);
  return viewers.map((v, i) => v.packets.length - before[i]!);
}

const moviesOf = (viewers: readonly Viewer[]): string[] => [...new Set(viewers.map((v) => v.movie))];

describe('overlay properties over random overlays', () => {
  it('every POP that asks gets the stream, over a loop-free tree with one copy per link', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { o, viewers } = build(s);
        const { net, servers } = o;
        for (const v of viewers) {
          expect(v.failure, v.id).toBeNull();
          expect(v.joinedAt, v.id).not.toBeNull();
        }
        const emittedBefore = new Map<string, number>();
        for (const sv of servers) for (const m of MOVIES) emittedBefore.set(`${sv}|${m}`, net.packetsEmitted(sv, m));
        net.resetCounters();
        const got = receivedOver(net, viewers, 1000);
        for (const [i, v] of viewers.entries()) expect(got[i], v.id).toBe(PACKETS_PER_SECOND);
        expect(net.duplicateDataPackets).toBe(0);
        for (const movie of moviesOf(viewers)) {
          const { parents, problems } = settledTree(net, movie);
          expect(problems, movie).toEqual([]);
          const streams = streamsOf(net, movie);
          // Every link into a tree node carries what its root emitted in the window, exactly once.
          for (const link of net.linksCarrying(movie)) {
            const [from, to] = link.split('>') as [string, string];
            expect(parents.get(to), link).toBe(from);
            const root = streams.get(to)?.rootPath[0] ?? '';
            const emitted = net.packetsEmitted(root, movie) - (emittedBefore.get(`${root}|${movie}`) ?? 0);
            expect(net.packetsOn(from, to, movie), link).toBe(emitted);
          }
          for (const child of parents.keys()) {
            expect(net.linksCarrying(movie).filter((l) => l.endsWith(`>${child}`))).toHaveLength(1);
          }
        }
        net.stop();
      }),
      { numRuns: RUNS },
    );
  });

  it('after a random relay fails, every viewer still connected to a server is routed around it', () => {
    const failure = fc.record({ relay: fc.nat(), notices: fc.boolean() });
    fc.assert(
      fc.property(scenario, failure, (s, f) => {
        const { o, viewers } = build(s);
        const { net, edges, servers } = o;
        const victim = o.relays[f.relay % o.relays.length]!;
        const rest = edges.filter(([a, b]) => a !== victim && b !== victim);
        const reachable = new Set(servers.flatMap((sv) => [...shortestLatencies(rest, sv).keys()]));
        const connected = viewers.filter((v) => reachable.has(v.pop));
        net.kill(victim, { bootstrapperNotices: f.notices });
        // Detection (missed hellos, or the bootstrapper's notice) and the rejoin, loop-free at every step.
        for (let t = 0; t < 3000; t += 100) {
          net.run(100);
          for (const movie of moviesOf(viewers)) expect(activeLoops(net, movie), movie).toEqual([]);
        }
        net.resetCounters();
        const got = receivedOver(net, connected, 1000);
        expect(net.duplicateDataPackets).toBe(0);
        for (const [i, v] of connected.entries()) {
          expect(v.failure, v.id).toBeNull();
          // Playing again. Not exactly PACKETS_PER_SECOND: a later move onto a path with another
          // delay shifts arrivals (a path is at most 16 hops of 20 ms: fewer than half a second's packets).
          expect(got[i], v.id).toBeGreaterThan(PACKETS_PER_SECOND / 2);
          const path = pathToRoot(net, v.movie, v.pop);
          expect(path, v.id).not.toContain(victim);
          expect(servers, `${v.id} via ${path.join('<')}`).toContain(path.at(-1));
        }
        for (const link of [...net.dataPackets.keys()]) expect(link.split('>'), link).not.toContain(victim);
        net.stop();
      }),
      { numRuns: RUNS },
    );
  });

  it('pruning leaves no branch: what carries a movie is the paths of the viewers left, then nothing', () => {
    fc.assert(
      fc.property(scenario, fc.infiniteStream(fc.boolean()), (s, leaves) => {
        const { o, viewers } = build(s);
        const { net, servers } = o;
        const leaving = viewers.filter(() => leaves.next().value === true);
        const staying = viewers.filter((v) => !leaving.includes(v));
        for (const v of leaving) net.unwatch(v);
        net.run(1000);
        for (const movie of MOVIES) {
          const paths = staying.filter((v) => v.movie === movie).flatMap((v) => pathToRoot(net, movie, v.pop));
          expect([...streamsOf(net, movie).keys()].sort(), movie).toEqual([...new Set(paths)].sort());
        }
        for (const v of staying) net.unwatch(v);
        net.run(1000);
        net.resetCounters();
        net.run(1000);
        for (const movie of MOVIES) {
          expect([...streamsOf(net, movie).keys()], movie).toEqual([]);
          expect(net.totalDataPackets(movie), movie).toBe(0);
          for (const sv of servers) expect(net.channelRunning(sv, movie), `${sv} ${movie}`).toBe(false);
        }
        net.stop();
      }),
      { numRuns: RUNS },
    );
  });
});
