/**
 * Child process: the relay under test, alone in its process so its CPU time is its own.
 *
 *   overlay  a real OverlayNode + OverlayTransport (what `onode node` runs, minus the bootstrapper
 *            connection and the status HTTP server), linked to the given neighbours
 *   bare     the comparison: a plain Node.js UDP relay that sends every datagram it receives,
 *            untouched, to each of `forwardTo`
 *
 * Started by bench/overlay/main.ts with a RelayConfig as argv[2]; answers 'stats'.
 */
import { createSocket, type Socket } from 'node:dgram';
import { SystemClock } from '../../common/core/clock.ts';
import { silentLogger } from '../../common/net/logger.ts';
import type { NodeRole } from '../../common/wire/bootstrap.ts';
import { OverlayNode } from '../../onode/core/overlay-node.ts';
import { OverlayTransport } from '../../onode/net/overlay-transport.ts';
import { childConfig, childMacKey, serveRequests } from '../common/child.ts';

export interface RelayConfig {
  readonly mode: 'overlay' | 'bare';
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** overlay: the node's neighbours. */
  readonly neighbours: ReadonlyArray<{ readonly name: string; readonly address: string; readonly role: NodeRole }>;
  /** bare: where every datagram goes. */
  readonly forwardTo: readonly string[];
}

export interface RelayStats {
  readonly cpuMs: number;
  readonly datagramsIn: number;
  readonly datagramsOut: number;
  /** overlay: how many times a link was declared dead (missed hellos). */
  readonly linkFailures: number;
  /** overlay: each movie's state and downstream branches. */
  readonly streams: ReadonlyArray<{
    readonly movie: string;
    readonly state: string;
    readonly upstream: string | null;
    readonly downstream: readonly string[];
  }>;
  /** overlay: datagrams the transport refused, by reason (forged, replayed, unknown stream...). */
  readonly refused?: Readonly<Record<string, number>>;
}

const config = childConfig<RelayConfig>();
let stats: () => RelayStats = () => ({ cpuMs: cpuMs(), datagramsIn: 0, datagramsOut: 0, linkFailures: 0, streams: [] });
let stop: () => Promise<void> = async () => {};

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function startOverlay(): Promise<void> {
  const transport = new OverlayTransport({
    self: config.name,
    addresses: [config.address],
    port: config.port,
    emulateLinks: false,
    key: childMacKey(),
    log: silentLogger,
  });
  const node = new OverlayNode(config.name, new SystemClock(), transport);
  transport.events.on('packet', (from, msg) => node.receive(from, msg));
  await transport.start();
  transport.setNeighbours(
    config.neighbours.map((n) => ({
      name: n.name,
      role: n.role,
      address: n.address,
      localAddress: config.address,
      delayMs: 0,
      lossPct: 0,
      rateKbps: null,
      up: true,
    })),
  );
  node.setNeighbours(config.neighbours.map((n) => n.name));
  node.start();
  stats = () => ({
    cpuMs: cpuMs(),
    datagramsIn: transport.counters.datagramsIn,
    datagramsOut: transport.counters.datagramsOut,
    linkFailures: node.neighbours().reduce((n, x) => n + x.failures, 0),
    streams: node
      .streams()
      .map((s) => ({ movie: s.movie, state: s.state, upstream: s.upstream, downstream: s.downstream })),
    refused: (({ malformed, unknownSender, wrongSource, badMac, replayed, unknownStream, oversize }) => ({
      malformed,
      unknownSender,
      wrongSource,
      badMac,
      replayed,
      unknownStream,
      oversize,
    }))(transport.counters),
  });
  stop = async () => {
    node.stop();
    await transport.stop();
  };
}

async function startBare(): Promise<void> {
  let datagramsIn = 0;
  let datagramsOut = 0;
  const socket: Socket = createSocket({ type: 'udp4' });
  socket.on('error', () => {});
  socket.on('message', (buf) => {
    datagramsIn++;
    for (const to of config.forwardTo) {
      socket.send(buf, config.port, to);
      datagramsOut++;
    }
  });
  await new Promise<void>((resolve) => socket.bind(config.port, config.address, resolve));
  stats = () => ({ cpuMs: cpuMs(), datagramsIn, datagramsOut, linkFailures: 0, streams: [] });
  stop = async () => {
    socket.close();
  };
}

serveRequests(config.mode === 'overlay' ? startOverlay() : startBare(), { stats: () => stats() }, () => stop());
