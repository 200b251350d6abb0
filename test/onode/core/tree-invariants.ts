/**
 * Checks on a movie's distribution tree across a simulated overlay, shared by the tree tests:
 * one upstream per node, consistent parent/child views, no loops, data only along tree edges.
 */
import { decodeRtp } from '../../../common/wire/rtp.ts';
import type { StreamSnapshot } from '../../../onode/core/stream-tree.ts';
import type { SimNetwork, Viewer } from '../../../onode/sim/sim-network.ts';

export function streamsOf(net: SimNetwork, movie: string): Map<string, StreamSnapshot> {
  const out = new Map<string, StreamSnapshot>();
  for (const name of net.names()) {
    if (!net.isAlive(name)) continue;
    const s = net
      .node(name)
      .streams()
      .find((x) => x.movie === movie);
    if (s !== undefined) out.set(name, s);
  }
  return out;
}

/** Nodes on the tree path from a POP up to its source, POP first. */
export function pathToRoot(net: SimNetwork, movie: string, pop: string): string[] {
  const streams = streamsOf(net, movie);
  const path = [pop];
  for (let at = streams.get(pop); at?.upstream != null; at = streams.get(at.upstream)) path.push(at.upstream);
  return path;
}

/** Problems with the active part of the tree; empty when every active node has a loop-free way to a source. */
export function activeLoops(net: SimNetwork, movie: string): string[] {
  const streams = streamsOf(net, movie);
  const problems: string[] = [];
  for (const [name, s] of streams) {
    if (s.state !== 'active') continue;
    if (s.rootPath.includes(name) && s.upstream !== null)
      problems.push(`${name}: own root path ${s.rootPath.join('>')} contains it`);
    if (new Set(s.rootPath).size !== s.rootPath.length)
      problems.push(`${name}: root path repeats ${s.rootPath.join('>')}`);
    const seen = new Set<string>([name]);
    let at = s;
    while (at.upstream !== null) {
      const up = streams.get(at.upstream);
      if (up === undefined || up.state !== 'active') break; // upstream still joining or gone: no data flows
      if (seen.has(at.upstream)) {
        problems.push(`${name}: active upstream chain loops at ${at.upstream}`);
        break;
      }
      seen.add(at.upstream);
      at = up;
    }
  }
  return problems;
}

/** Full check for a settled tree. Returns the tree as child → upstream. */
export function settledTree(net: SimNetwork, movie: string): { parents: Map<string, string>; problems: string[] } {
  const streams = streamsOf(net, movie);
  const parents = new Map<string, string>();
  const problems = activeLoops(net, movie);
  for (const [name, s] of streams) {
    if (s.state !== 'active') {
      problems.push(`${name}: still ${s.state}`);
      continue;
    }
    if (s.upstream === null) {
      if (s.rootPath.length !== 1 || s.rootPath[0] !== name) problems.push(`${name}: no upstream but not a source`);
      continue;
    }
    parents.set(name, s.upstream);
    const up = streams.get(s.upstream);
    if (up === undefined) {
      problems.push(`${name}: upstream ${s.upstream} carries nothing`);
      continue;
    }
    if (!up.downstream.includes(name)) problems.push(`${name}: upstream ${s.upstream} does not list it downstream`);
    // A source's root path is itself; anyone else's is its upstream's plus that upstream.
    const expected = up.upstream === null ? [s.upstream] : [...up.rootPath, s.upstream];
    if (s.rootPath.join('>') !== expected.join('>')) {
      problems.push(`${name}: root path ${s.rootPath.join('>')} does not extend ${s.upstream}'s`);
    }
    for (const d of s.downstream)
      if (streams.get(d)?.upstream !== name) problems.push(`${name}: downstream ${d} has another upstream`);
  }
  // Following parents from any node ends at a source.
  for (const start of parents.keys()) {
    const seen = new Set<string>();
    let at: string | undefined = start;
    while (at !== undefined) {
      if (seen.has(at)) {
        problems.push(`${start}: parent chain loops`);
        break;
      }
      seen.add(at);
      at = parents.get(at);
    }
  }
  for (const link of net.linksCarrying(movie)) {
    const [from, to] = link.split('>') as [string, string];
    if (parents.get(to) !== from)
      problems.push(`${link} carried ${movie} but ${to}'s upstream is ${parents.get(to) ?? 'none'}`);
  }
  return { parents, problems };
}

/** RTP sequence numbers of what a viewer received, in arrival order. */
export function sequenceNumbers(viewer: Viewer): number[] {
  return viewer.packets.map((p) => {
    const r = decodeRtp(p);
    if (!r.ok) throw new Error(`viewer got a bad RTP packet: ${r.reason}`);
    return r.value.sequenceNumber;
  });
}

/** Places where the sequence does not advance by exactly one (mod 2^16). */
export function sequenceBreaks(seqs: readonly number[]): number {
  let breaks = 0;
  for (let i = 1; i < seqs.length; i++) if (seqs[i] !== ((seqs[i - 1]! + 1) & 0xffff)) breaks++;
  return breaks;
}
