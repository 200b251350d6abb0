/**
 * A scripted overlay endpoint for benchmarks: one UDP socket that speaks just enough of the
 * overlay protocol (common/wire/overlay.ts) for a real relay to bring the link up and put it in
 * a distribution tree, and otherwise stays cheap so it never is the bottleneck:
 *
 *   - every peer sends HELLOs that echo the relay's, so the relay measures the link's RTT;
 *   - a source announces its route and CARRYING for its movie and acks every JOIN;
 *   - a sink JOINs its neighbour every REFRESH_MS (soft state) and counts DATA datagrams by their
 *     type byte, without decoding or verifying them; it can also read a send timestamp out of each one.
 *
 * Peers hold the run's overlay key (the relay checks every datagram) and seal what they send.
 */
import { createSocket, type Socket } from 'node:dgram';
import { catalogueParts } from '../../common/wire/control-split.ts';
import { macKey, openOverlay, seal, sealOverlay, type OverlayMacKey } from '../../common/wire/overlay-auth.ts';
import {
  encodeData,
  encodeHeader,
  MessageType,
  MOVIE_ID_BYTES,
  movieId,
  NONCE_BYTES,
  OVERLAY_HEADER_BYTES,
  type MovieInfo,
  type Nonce,
  type OverlayMessage,
} from '../../common/wire/overlay.ts';
import { catalogueDigest } from '../../onode/core/catalogue-digest.ts';

export type PeerRole = 'source' | 'sink';

export interface PeerSpec {
  readonly name: string;
  readonly address: string;
  readonly role: PeerRole;
  readonly movie: string;
  /** The relay this peer is linked to; absent for a peer that only receives (no control traffic). */
  readonly neighbour?: { readonly name: string; readonly address: string };
}

const HELLO_MS = 100;
const ROUTE_MS = 500;
const REFRESH_MS = 500;
const US_WRAP = 0x1_0000_0000;
const RTP_HEADER_BYTES = 12;
/** Where the send timestamp (float64, ms on the sender's performance.now()) sits in the RTP payload. */
const STAMP_OFFSET = RTP_HEADER_BYTES;

export class BenchPeer {
  /** DATA datagrams received since the last reset. */
  received = 0;
  /** One-way delays (µs) of timestamped DATA, when recording. */
  readonly delaysUs: number[] = [];
  recording = false;
  private socket: Socket | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private helloSeq = 0;
  private peerSeq = 0;
  private peerSentAtUs = 0;
  private peerHeardAt = 0;
  private readonly key: OverlayMacKey;
  private readonly epoch = Date.now();
  private counter = 0;

  /** A source's catalogue: its one movie. */
  private readonly catalogue: readonly MovieInfo[];

  constructor(
    readonly spec: PeerSpec,
    readonly port: number,
    key: Buffer,
  ) {
    this.key = macKey(key);
    this.catalogue = [{ name: spec.movie, fps: 25, width: 320, height: 240, frames: 250 }];
  }

  /** The next nonce of this peer (one per datagram, as a node does). */
  nonce(): Nonce {
    return { epoch: this.epoch, counter: this.counter++ };
  }

  /** A sealed DATA datagram from this peer carrying `rtp` (see dataTemplate, stampRtp). */
  data(template: DataTemplate, rtp: Buffer): Buffer {
    return seal(this.key, '', encodeData(template.header, this.nonce(), template.id, rtp));
  }

  async start(): Promise<void> {
    const socket = createSocket({ type: 'udp4' });
    socket.on('error', () => {}); // loopback send errors only happen at shutdown
    socket.on('message', (buf) => this.receive(buf));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.port, this.spec.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.socket = socket;
    if (this.spec.neighbour === undefined) return;
    this.every(HELLO_MS, () => this.hello());
    if (this.spec.role === 'source') {
      this.every(ROUTE_MS, () => {
        // Its own route, told again each time (a real node tells changes only; repeats are harmless).
        const cv = catalogueDigest(this.catalogue);
        const own = { server: this.spec.name, seq: 1, latencyMs: 0, hops: 0, cv, path: [this.spec.name] };
        this.control({ type: 'routes', routes: [own], withdrawn: [] });
        this.control({ type: 'carrying', movies: [this.spec.movie] });
      });
    } else {
      this.every(REFRESH_MS, () => this.control({ type: 'join', movie: this.spec.movie, path: [this.spec.name] }));
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.socket?.close();
    this.socket = null;
  }

  /** Sends a ready-made datagram to `address` on the peers' port. */
  sendRaw(datagram: Buffer, address: string): void {
    this.socket?.send(datagram, this.port, address);
  }

  private every(ms: number, fn: () => void): void {
    fn();
    this.timers.push(setInterval(fn, ms));
  }

  private control(msg: OverlayMessage): void {
    const n = this.spec.neighbour;
    if (n !== undefined) this.sendRaw(sealOverlay(this.key, this.spec.name, n.name, this.nonce(), msg), n.address);
  }

  private hello(): void {
    const now = performance.now();
    this.helloSeq = (this.helloSeq % 0xffffffff) + 1;
    const holdUs = this.peerSeq === 0 ? 0 : Math.min(Math.round((now - this.peerHeardAt) * 1000), US_WRAP - 1);
    this.control({
      type: 'hello',
      seq: this.helloSeq,
      sentAtUs: toUs(now),
      echoSeq: this.peerSeq,
      echoSentAtUs: this.peerSentAtUs,
      holdUs,
    });
  }

  private receive(buf: Buffer): void {
    if (buf.length > OVERLAY_HEADER_BYTES && buf[2] === MessageType.data) {
      this.received++;
      if (this.recording) {
        const at = rtpOffset(buf);
        if (at !== null && buf.length >= at + STAMP_OFFSET + 8)
          this.delaysUs.push((performance.now() - buf.readDoubleBE(at + STAMP_OFFSET)) * 1000);
      }
      return;
    }
    const decoded = openOverlay(this.key, this.spec.name, buf);
    if (!decoded.ok) return;
    const msg = decoded.value.message;
    if (msg.type === 'hello') {
      this.peerSeq = msg.seq;
      this.peerSentAtUs = msg.sentAtUs;
      this.peerHeardAt = performance.now();
    } else if (msg.type === 'join' && this.spec.role === 'source') {
      this.control({ type: 'join-ack', movie: msg.movie, rootPath: [this.spec.name] });
    } else if (msg.type === 'catalogue-request' && this.spec.role === 'source' && msg.server === this.spec.name) {
      const cv = catalogueDigest(this.catalogue);
      for (const part of catalogueParts(this.spec.name, cv, this.catalogue)) this.control(part);
    }
  }
}

/** Where the RTP packet starts inside a DATA datagram, or null if it is too short to tell. */
export function rtpOffset(datagram: Buffer): number | null {
  const nameLength = datagram[3];
  if (nameLength === undefined) return null;
  const at = OVERLAY_HEADER_BYTES + nameLength + NONCE_BYTES + MOVIE_ID_BYTES;
  return datagram.length >= at ? at : null;
}

/** What every DATA datagram of one movie from one peer shares. */
export interface DataTemplate {
  readonly header: Buffer;
  readonly id: Buffer;
}

export function dataTemplate(from: string, movie: string): DataTemplate {
  return { header: encodeHeader(MessageType.data, from), id: movieId(movie) };
}

/** An RTP packet of `rtpBytes` bytes (JPEG payload type 26) for stampRtp and BenchPeer.data. */
export function benchRtp(rtpBytes: number): Buffer {
  const rtp = Buffer.alloc(Math.max(rtpBytes, RTP_HEADER_BYTES + 8));
  rtp[0] = 0x80; // version 2
  rtp[1] = 26; // JPEG
  rtp.writeUInt32BE(0x0bec0001, 8); // SSRC
  return rtp;
}

/** Writes the RTP sequence number and the send time (ms) into an RTP packet made by benchRtp, in place. */
export function stampRtp(rtp: Buffer, seq: number, nowMs: number): void {
  rtp.writeUInt16BE(seq & 0xffff, 2);
  rtp.writeDoubleBE(nowMs, STAMP_OFFSET);
}

function toUs(ms: number): number {
  const us = Math.floor(ms * 1000) % US_WRAP;
  return us < 0 ? us + US_WRAP : us;
}
