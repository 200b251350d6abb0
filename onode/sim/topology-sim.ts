/**
 * A topology file's overlay in the simulator: every node a simulated OverlayNode (servers with the
 * given movies), every overlay link a simulated link with its delay and loss, so the real core runs
 * in virtual time on any topology a runner can run (imported, generated or written by hand).
 */
import type { Topology } from '../config/topology.ts';
import type { OverlayOptions } from '../core/overlay-node.ts';
import type { ChannelMovie } from '../core/movie-channel.ts';
import type { RandomOverlay } from './random-overlay.ts';
import { fakeMovie, SimNetwork } from './sim-network.ts';

export interface TopologySimOptions {
  /** Movies every server carries; default two fake movies. */
  readonly movies?: readonly ChannelMovie[];
  readonly options?: OverlayOptions;
  /** Seeds the simulated loss; default 7. */
  readonly seed?: number;
}

export function simFromTopology(topo: Topology, o: TopologySimOptions = {}): RandomOverlay {
  const movies = o.movies ?? [fakeMovie('alpha.mjpeg'), fakeMovie('beta.mjpeg')];
  const net = new SimNetwork(o.options, o.seed ?? 7);
  const named = (role: string) => [...topo.nodes.values()].filter((n) => n.role === role).map((n) => n.name);
  const servers = named('server');
  for (const n of topo.nodes.values()) net.addNode(n.name, n.role === 'server' ? movies : []);
  const edges = topo.links.map((l) => [l.a, l.b, l.delayMs] as const);
  for (const l of topo.links) net.addLink(l.a, l.b, l.delayMs, l.lossPct);
  return { net, servers, relays: named('node'), pops: named('pop'), edges };
}
