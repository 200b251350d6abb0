/**
 * Failures and idle control traffic in the simulator (real OverlayNode logic in virtual time):
 *
 * - a link on the viewer's path stops carrying anything (SimLink.up = false) mid-stream; the
 *   viewer is the real client pipeline (ReorderBuffer with a 500 ms hold, its NACKs answered by
 *   the POP's cache as the RTSP server does, FrameAssembler), fed real RTP/JPEG of a sample movie;
 * - control traffic per directed link with no viewer, every message encoded with the real wire
 *   encoder (payload), plus 28 bytes of IPv4/UDP header per datagram (wire).
 */
import { decodeRtp } from '../../common/wire/rtp.ts';
import { encodeOverlay } from '../../common/wire/overlay.ts';
import type { Topology } from '../../onode/config/topology.ts';
import type { ChannelMovie } from '../../onode/core/movie-channel.ts';
import { type SimLink, SimNetwork } from '../../onode/sim/sim-network.ts';
import { randomOverlay } from '../../onode/sim/random-overlay.ts';
import { FrameAssembler } from '../../oclient/core/frame-assembler.ts';
import { ReorderBuffer } from '../../oclient/core/reorder-buffer.ts';
import { analyseFailure, type Arrival, type FailureOutcome, type FrameIndex } from './frames.ts';
import { IP_UDP_HEADER_BYTES } from './emulated.ts';

const JITTER_BUFFER_MS = 500;
/** The client's reorder buffer is ticked this often, as PlaySession does. */
const CLIENT_TICK_MS = 20;
/** One way between the client and its POP (same host or LAN). */
const CLIENT_ONE_WAY_MS = 0.5;
/** Virtual time for routes to settle before anything is measured. */
const SETTLE_MS = 5000;

/** Every overlay node and link of a topology in a simulator; servers carry `movies`. */
export function simOfTopology(topo: Topology, movies: readonly ChannelMovie[], seed = 1): SimNetwork {
  const net = new SimNetwork(undefined, seed);
  for (const n of topo.nodes.values()) net.addNode(n.name, n.role === 'server' ? movies : []);
  for (const l of topo.links) net.addLink(l.a, l.b, l.delayMs, 0);
  return net;
}

export interface SimLinkTrial {
  readonly network: string;
  readonly pop: string;
  /** "a-b", the POP's side first. */
  readonly link: string;
  /** Hops between the POP and the failed link (0: its own uplink). */
  readonly hop: number;
  /** Failure → the first JOIN of the reroute (the failure detected), virtual ms. */
  readonly rejoinMs: number | null;
  readonly outcome: FailureOutcome;
}

/**
 * Fails the `hop`-th link above `pop` on the stream's path `beforeMs` (+ phaseMs) after the
 * viewer's first frame and watches for `afterMs`. Returns null when the path has no such link.
 */
export function simLinkFailure(
  net: SimNetwork,
  network: string,
  pop: string,
  movie: ChannelMovie,
  index: FrameIndex,
  opts: { servers: readonly string[]; hop: number; phaseMs: number; beforeMs: number; afterMs: number },
): SimLinkTrial | null {
  const clock = net.clock;
  net.start();
  net.run(SETTLE_MS);
  const arrivals: Arrival[] = [];
  let ssrc: number | null = null;
  const assembler = new FrameAssembler((img) => arrivals.push({ at: clock.now(), index: index.of(img) }));
  const reorder = new ReorderBuffer((_, packet) => assembler.push(packet, clock.now()), JITTER_BUFFER_MS);
  const receive = (rtp: Buffer): void => {
    const d = decodeRtp(rtp);
    if (!d.ok) return;
    if (ssrc !== null && d.value.ssrc !== ssrc) reorder.reset();
    ssrc = d.value.ssrc;
    reorder.push(d.value.sequenceNumber, rtp, clock.now());
  };
  // The client's NACK reaches the POP, which answers from its cache (and asks upstream for the rest).
  reorder.events.on('missing', (seqs) => {
    const asked = ssrc;
    if (asked === null) return;
    clock.setTimer(CLIENT_ONE_WAY_MS, () => {
      const packets = net.isAlive(pop) ? net.node(pop).tree.cached(movie.name, asked, seqs.slice(0, 256)) : [];
      clock.setTimer(CLIENT_ONE_WAY_MS, () => {
        for (const p of packets) receive(p);
      });
    });
  });
  let ticking = true;
  const tick = (): void => {
    if (!ticking) return;
    reorder.tick(clock.now());
    clock.setTimer(CLIENT_TICK_MS, tick);
  };
  tick();
  let refused = '';
  net.node(pop).localJoin(movie.name, 'bench-viewer', {
    deliver: (rtp) => {
      clock.setTimer(CLIENT_ONE_WAY_MS, () => receive(rtp));
    },
    joined: () => {},
    failed: (reason, detail) => {
      refused = `${reason} ${detail}`;
    },
  });
  const startupDeadline = clock.now() + 5000;
  while (arrivals.length === 0 && clock.now() < startupDeadline) net.run(10);
  if (arrivals.length === 0) throw new Error(`${network}: no frame at ${pop}${refused ? `: ${refused}` : ''}`);
  net.run(opts.beforeMs + opts.phaseMs);

  // The stream's path from the POP up to its server.
  const path = [pop];
  for (let at = pop; path.length < 32; ) {
    const up =
      net
        .node(at)
        .streams()
        .find((s) => s.movie === movie.name)?.upstream ?? null;
    if (up === null) break;
    path.push(up);
    at = up;
  }
  const a = path[opts.hop];
  const b = path[opts.hop + 1];
  const link = a === undefined || b === undefined ? undefined : net.link(a, b);
  // A link whose loss cuts the POP off from every server is a partition, not a repairable failure.
  if (link === undefined || !reachesServer(net, pop, opts.servers, link)) {
    ticking = false;
    net.stop();
    return null;
  }
  const failAt = clock.now();
  // Detection shows as the first JOIN sent anywhere but to the sender's upstream (a reroute, not a refresh).
  const upstreamBefore = new Map(
    net
      .names()
      .filter((n) => net.isAlive(n))
      .map(
        (n) =>
          [
            n,
            net
              .node(n)
              .streams()
              .find((x) => x.movie === movie.name)?.upstream ?? null,
          ] as const,
      ),
  );
  let rejoinAt: number | null = null;
  net.tap = (from, to, msg) => {
    if (rejoinAt === null && msg.type === 'join' && msg.movie === movie.name && upstreamBefore.get(from) !== to)
      rejoinAt = clock.now();
  };
  link.up = false;
  net.run(opts.afterMs);
  net.tap = null;
  ticking = false;
  net.stop();
  const rejoinMs = rejoinAt === null ? null : (rejoinAt as number) - failAt;
  return {
    network,
    pop,
    link: `${a}-${b}`,
    hop: opts.hop,
    rejoinMs,
    outcome: analyseFailure(arrivals, failAt, index.frames, 1000 / movie.fps),
  };
}

/** Whether `from` still reaches one of `servers` over links that are up, without `without`. */
function reachesServer(net: SimNetwork, from: string, servers: readonly string[], without: SimLink): boolean {
  const seen = new Set([from]);
  const queue = [from];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    if (servers.includes(at)) return true;
    for (const n of net.neighboursOf(at)) {
      const l = net.link(at, n);
      if (seen.has(n) || l === undefined || l === without || !l.up) continue;
      seen.add(n);
      queue.push(n);
    }
  }
  return false;
}

export interface SimIdleTraffic {
  readonly network: string;
  readonly nodes: number;
  readonly directedLinks: number;
  readonly seconds: number;
  /** Per directed link, kbit/s: mean and max; payload (overlay datagram) and wire (+ IP/UDP). */
  readonly payloadMeanKbps: number;
  readonly payloadMaxKbps: number;
  readonly wireMeanKbps: number;
  readonly wireMaxKbps: number;
  readonly maxLink: string;
  /** SimNetwork's own estimate (controlBytes) per directed link, for comparison. */
  readonly estimateMeanKbps: number;
  /** By message type: share of the wire bytes, mean payload size, messages per directed link per second. */
  readonly byType: Readonly<Record<string, { share: number; meanBytes: number; perLinkPerS: number }>>;
}

/** Control traffic with no viewer over `seconds` of virtual time, after the overlay settled. */
export function simIdleTraffic(net: SimNetwork, network: string, seconds: number): SimIdleTraffic {
  net.start();
  net.run(SETTLE_MS);
  net.resetCounters();
  const perLink = new Map<string, { bytes: number; datagrams: number }>();
  const byType = new Map<string, { wire: number; payload: number; count: number }>();
  let wireTotal = 0;
  net.tap = (from, to, msg) => {
    let size: number;
    try {
      size = encodeOverlay(from, msg).length;
    } catch {
      return; // too big for a datagram: never sent
    }
    const key = `${from}>${to}`;
    const l = perLink.get(key) ?? { bytes: 0, datagrams: 0 };
    l.bytes += size;
    l.datagrams++;
    perLink.set(key, l);
    const t = byType.get(msg.type) ?? { wire: 0, payload: 0, count: 0 };
    t.wire += size + IP_UDP_HEADER_BYTES;
    t.payload += size;
    t.count++;
    byType.set(msg.type, t);
    wireTotal += size + IP_UDP_HEADER_BYTES;
  };
  net.run(seconds * 1000);
  net.tap = null;
  net.stop();
  const directed = net.names().flatMap((n) => net.neighboursOf(n).map((m) => `${n}>${m}`));
  const kbps = (bytes: number): number => (bytes * 8) / 1000 / seconds;
  const payload = directed.map((k) => kbps(perLink.get(k)?.bytes ?? 0));
  const wire = directed.map((k) =>
    kbps((perLink.get(k)?.bytes ?? 0) + IP_UDP_HEADER_BYTES * (perLink.get(k)?.datagrams ?? 0)),
  );
  const maxAt = wire.indexOf(Math.max(...wire));
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  return {
    network,
    nodes: net.names().length,
    directedLinks: directed.length,
    seconds,
    payloadMeanKbps: mean(payload),
    payloadMaxKbps: Math.max(...payload),
    wireMeanKbps: mean(wire),
    wireMaxKbps: Math.max(...wire),
    maxLink: directed[maxAt] ?? '',
    estimateMeanKbps: kbps(net.controlBytes) / Math.max(1, directed.length),
    byType: Object.fromEntries(
      [...byType].map(([type, t]) => [
        type,
        {
          share: t.wire / Math.max(1, wireTotal),
          meanBytes: t.payload / Math.max(1, t.count),
          perLinkPerS: t.count / seconds / Math.max(1, directed.length),
        },
      ]),
    ),
  };
}

/** The benchmark's 50-node random overlay (as bench-convergence), its servers carrying `movies`. */
export function randomSim(movies: readonly ChannelMovie[]): { net: SimNetwork; servers: string[]; pops: string[] } {
  const o = randomOverlay({ nodes: 50, servers: 3, pops: 10, seed: 7, movies });
  return { net: o.net, servers: o.servers, pops: o.pops };
}
