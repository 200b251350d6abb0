/**
 * Time to repair routes after a link failure, in the simulator: the link most POP routes cross is
 * cut, and virtual time runs until every POP whose route to a server crossed it has a route that
 * does not. Detection (both ends declaring the link dead: three missed hellos, one a second on an
 * idle link) is timed apart from what the routing adds after it.
 */
import { type RandomOverlay, shortestLatencies } from '../../onode/sim/random-overlay.ts';

const STEP_MS = 10;
const LIMIT_MS = 20_000;

export interface LinkRepair {
  readonly link: string;
  /** POP-server pairs whose route crossed the link. */
  readonly affected: number;
  /** From the cut until both ends declared the link dead; null: never within the limit. */
  readonly detectedMs: number | null;
  /** From the cut until every affected POP had a route avoiding the link; null: never. */
  readonly repairedMs: number | null;
}

const key = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

/** The links of a POP's current route to `server` (itself, then the route's path). */
function routeLinks(o: RandomOverlay, pop: string, server: string): string[] {
  const node = o.net.node(pop);
  const path = node.routes.best(server, (n) => node.links.isAlive(n))?.path;
  if (path === undefined) return [];
  const hops = [pop, ...path];
  return hops.slice(1).map((n, i) => key(hops[i]!, n));
}

export function measureLinkRepair(o: RandomOverlay): LinkRepair | null {
  const uses = new Map<string, number>();
  for (const pop of o.pops)
    for (const server of o.servers) for (const l of routeLinks(o, pop, server)) uses.set(l, (uses.get(l) ?? 0) + 1);
  const busiest = [...uses].sort((x, y) => y[1] - x[1])[0];
  if (busiest === undefined) return null;
  const [link] = busiest;
  const [a, b] = link.split('|') as [string, string];
  // Only pairs another path still joins (a bridge's far side has no route to find).
  const rest = o.edges.filter(([x, y]) => key(x, y) !== link);
  const reachable = new Map(o.servers.map((s) => [s, shortestLatencies(rest, s)]));
  const affected = o.pops.flatMap((pop) =>
    o.servers
      .filter((s) => routeLinks(o, pop, s).includes(link) && reachable.get(s)?.has(pop))
      .map((s) => [pop, s] as const),
  );
  o.net.link(a, b)!.up = false;
  let detectedMs: number | null = null;
  let repairedMs: number | null = null;
  for (let t = STEP_MS; t <= LIMIT_MS && repairedMs === null; t += STEP_MS) {
    o.net.run(STEP_MS);
    if (detectedMs === null && !o.net.node(a).links.isAlive(b) && !o.net.node(b).links.isAlive(a)) detectedMs = t;
    const repaired = affected.every(([pop, s]) => {
      const links = routeLinks(o, pop, s);
      return links.length > 0 && !links.includes(link);
    });
    if (repaired) repairedMs = t;
  }
  o.net.link(a, b)!.up = true;
  return { link, affected: affected.length, detectedMs, repairedMs };
}
