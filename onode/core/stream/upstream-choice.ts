/**
 * Which neighbour a stream should come from. Pure choices over the node's view (routes,
 * carrying neighbours, RTTs): the next candidate for a join, the best alternative to the current
 * upstream, and the chain a join speaks for (which keeps pending joins from waiting on each
 * other in a circle). Neighbours that sent forged data are avoided for a while.
 */
import { MAX_PATH_LENGTH } from '../../../common/wire/overlay.ts';
import type { RouteEntry } from '../route-table.ts';
import { isActive, type Stream, upstreamOf } from './stream-state.ts';
import type { TreeDeps } from './tree-api.ts';

/** A neighbour that sent stream data failing verification is not chosen as an upstream for this long. */
export const FAULTY_UPSTREAM_MS = 30_000;

/** The node services the choices read. */
export type ChoiceDeps = Pick<TreeDeps, 'self' | 'routes' | 'carriers' | 'rttMs' | 'carrierRoot' | 'isAlive'>;

/** Neighbours proved faulty, until when each is avoided. Entries expire, so it holds at most the neighbours. */
export class FaultyNeighbours {
  private readonly until = new Map<string, number>();

  mark(neighbour: string, now: number): void {
    for (const [n, until] of this.until) if (until <= now) this.until.delete(n);
    this.until.set(neighbour, now + FAULTY_UPSTREAM_MS);
  }

  has(neighbour: string, now: number): boolean {
    return (this.until.get(neighbour) ?? Number.NEGATIVE_INFINITY) > now;
  }
}

/**
 * The chain a join from this node speaks for: every node already waiting on it (waiters and,
 * while it has no upstream yet, the attached branches) and its own requesters, itself last. A
 * join that comes back to any of them is refused as a loop, so pending nodes cannot wait on each
 * other in a circle through stale routes.
 */
export function joinChain(s: Stream, self: string): string[] {
  const names = new Set<string>();
  for (const p of s.branches.waiters.values()) for (const n of p) names.add(n);
  if (!isActive(s.feed)) for (const b of s.branches.downstream.values()) for (const n of b.path) names.add(n);
  for (const n of s.joinPath) names.add(n);
  names.delete(self);
  return [...names].slice(-(MAX_PATH_LENGTH - 1)).concat(self);
}

/**
 * The neighbour to join through next, or undefined when none is left: the closest neighbour
 * already carrying the movie, else the best route to a server that has it. After losing an
 * upstream (`preferredServer` set) the same server comes first while reachable: the new
 * upstream can then resend what was missed (same RTP source), and viewers see no switch.
 */
export function chooseUpstream(
  deps: ChoiceDeps,
  movie: string,
  preferredServer: string | null,
  excluded: (neighbour: string) => boolean,
): string | undefined {
  const carriers = deps.carriers(movie).filter((n) => !excluded(n));
  carriers.sort((a, b) => (deps.rttMs(a) ?? Infinity) - (deps.rttMs(b) ?? Infinity) || (a < b ? -1 : 1));
  let sameServer: string | undefined;
  if (preferredServer !== null) {
    const otherRoot = (n: string): boolean => {
      const r = deps.carrierRoot(n, movie);
      return r !== null && r !== preferredServer;
    };
    sameServer =
      carriers.find((n) => deps.carrierRoot(n, movie) === preferredServer) ??
      deps.routes.best(preferredServer, (n) => !excluded(n) && !otherRoot(n))?.via;
  }
  return sameServer ?? carriers[0] ?? deps.routes.bestForMovie(movie, (n) => !excluded(n))?.via;
}

/**
 * The best route to the stream's own server through a neighbour other than the upstream that is
 * not below this node, alive, not faulty and `acceptable`; undefined when there is none.
 */
export function alternativeUpstream(
  deps: ChoiceDeps,
  s: Stream,
  isFaulty: (neighbour: string) => boolean,
  acceptable: (neighbour: string) => boolean,
): RouteEntry | undefined {
  const root = s.rootPath[0];
  if (root === undefined) return undefined;
  const path = joinChain(s, deps.self);
  const upstream = upstreamOf(s.feed);
  return deps.routes.best(
    root,
    (n) =>
      n !== upstream && !path.includes(n) && !s.branches.has(n) && deps.isAlive(n) && !isFaulty(n) && acceptable(n),
  );
}
