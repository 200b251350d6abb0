/**
 * Child process: the load side of a benchmark, a set of BenchPeers (bench/overlay/peer.ts).
 * A source peer blasts DATA at the relay it is linked to; sink peers count what arrives and,
 * when recording, each packet's one-way delay (source and sink in one process share a clock).
 *
 * Commands: 'blast' {rate, ms, target?} → datagrams sent; 'counts' → per-sink counts and socket
 * drops; 'record' {on} starts/stops delay recording; 'delays' → recorded delays (µs).
 */
import { childConfig, childMacKey, serveRequests } from '../common/child.ts';
import { BenchPeer, benchRtp, dataTemplate, type PeerSpec, stampRtp } from './peer.ts';
import { udpSockets } from '../common/proc.ts';

export interface LoadConfig {
  readonly port: number;
  readonly peers: readonly PeerSpec[];
  /** Size of the RTP packet inside each DATA datagram. */
  readonly rtpBytes: number;
}

export interface BlastArgs {
  /** Packets per second; 0 = as fast as the sender can go. */
  readonly rate: number;
  readonly ms: number;
  /** Where to send; default the source's neighbour. */
  readonly target?: string;
  /** Write a send timestamp into every packet (latency runs). */
  readonly stamp?: boolean;
}

export interface SinkCounts {
  readonly name: string;
  readonly received: number;
  /** Datagrams the kernel dropped at this sink's full socket buffer (they did reach it). */
  readonly drops: number;
}

/** Sends at most this many back to back before yielding to the event loop (so control traffic is served). */
const MAX_BURST = 64;

const config = childConfig<LoadConfig>();
const key = childMacKey();
const peers = config.peers.map((p) => new BenchPeer(p, config.port, key));
const sinks = peers.filter((p) => p.spec.role === 'sink');
const source = peers.find((p) => p.spec.role === 'source');
/** RTP sequence number of the next packet; continues across blasts, like one live stream. */
let seq = 0;

function blast(args: BlastArgs): Promise<number> {
  if (source === undefined) throw new Error('no source peer');
  const target = args.target ?? source.spec.neighbour?.address;
  if (target === undefined) throw new Error('the source has no neighbour to send to');
  // Relays drop RTP duplicates, so every packet carries the next sequence number; and replays, so
  // every datagram is sealed afresh with the next nonce (each its own buffer: sends complete later).
  const template = dataTemplate(source.spec.name, source.spec.movie);
  const rtp = benchRtp(config.rtpBytes);
  const start = performance.now();
  let sent = 0;
  return new Promise((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      if (now - start >= args.ms) return resolve(sent);
      const due =
        args.rate > 0 ? Math.min(MAX_BURST, Math.floor((args.rate * (now - start)) / 1000) - sent) : MAX_BURST;
      for (let i = 0; i < due; i++) {
        stampRtp(rtp, seq, args.stamp ? performance.now() : 0);
        source.sendRaw(source.data(template, rtp), target);
        seq = (seq + 1) & 0xffff;
        sent++;
      }
      // Paced runs sleep between ticks instead of spinning, so they leave the CPU to the relays.
      if (args.rate > 0 && due <= 0) setTimeout(tick, 1);
      else setImmediate(tick);
    };
    tick();
  });
}

function counts(): SinkCounts[] {
  const sockets = udpSockets();
  return sinks.map((s) => ({
    name: s.spec.name,
    received: s.received,
    drops: sockets.get(`${s.spec.address}:${config.port}`)?.drops ?? 0,
  }));
}

serveRequests(
  Promise.all(peers.map((p) => p.start())),
  {
    blast: (a) => blast(a as BlastArgs),
    counts: () => counts(),
    record: (a) => {
      for (const s of sinks) {
        s.recording = (a as { on: boolean }).on;
        if (s.recording) s.delaysUs.length = 0;
      }
      return true;
    },
    delays: () => sinks.flatMap((s) => s.delaysUs),
  },
  () => {
    for (const p of peers) p.stop();
  },
);
