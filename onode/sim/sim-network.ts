/**
 * A simulated overlay: real OverlayNode logic, messages delivered in virtual time over links with
 * delay, loss and up/down state. Deterministic (seeded loss), so tests and benchmarks can run
 * hundreds of nodes through failures in milliseconds of wall time. Servers stream through the
 * real ChannelSource and MovieChannel.
 *
 * Every message, DATA included, goes through the real codec: encoded as a datagram (a message the
 * encoder refuses, too big for a datagram, is counted in `oversize` and lost, as the real
 * transport loses it), decoded, and the decoded copy delivered. Datagrams are not sealed (no MAC:
 * overlay-auth has its own tests). Each decoded RTP buffer remembers the packet it was sent as,
 * so the one-copy-per-link check still knows a packet that crossed a link twice.
 */
import { generateKeyPairSync } from 'node:crypto';
import { OffsetClock, VirtualClock } from '../../common/core/clock.ts';
import { FrameSigner } from '../../common/security/frame-signature.ts';
import { rawEd25519, ServerKeyring } from '../../common/security/server-keyring.ts';
import type { DataMessage, MovieInfo, OverlayMessage } from '../../common/wire/overlay.ts';
import {
  decodeOverlay,
  encodeData,
  encodeHeader,
  MessageType,
  encodeOverlay,
  MAX_NONCE_COUNTER,
  movieId,
  OverlayEncodeError,
} from '../../common/wire/overlay.ts';
import { MovieIds } from '../core/movie-ids.ts';
import type { NakReason } from '../../common/wire/overlay.ts';
import { ChannelSource } from '../core/channel-source.ts';
import type { ChannelMovie, FrameSigning, ReferenceTime } from '../core/movie-channel.ts';
import { DEFAULT_OVERLAY, OverlayNode, type OverlayOptions } from '../core/overlay-node.ts';

export interface SimLink {
  readonly a: string;
  readonly b: string;
  delayMs: number;
  lossPct: number;
  up: boolean;
}

interface SimNode {
  readonly name: string;
  node: OverlayNode;
  alive: boolean;
  /** A server's movies, as a real server's (null for other nodes); a restart makes a new one. */
  source: ChannelSource | null;
  movies: readonly ChannelMovie[];
  /** A server (announces its route, serves its catalogue) even with no movies. */
  readonly server: boolean;
  readonly clockOffsetMs: number;
}

/** Decides whether the network silently loses a message (fault injection in tests). */
export type DropRule = (from: string, to: string, msg: OverlayMessage) => boolean;

/** Signed streams in a simulation: which servers sign, and which nodes verify what they receive. */
export interface SimSigning {
  /** Servers whose keys the other nodes know (default: every server); others sign with an unknown key. */
  readonly known?: (server: string) => boolean;
  /** Nodes that verify streams (default: every node that is not a server). */
  readonly verifies?: (node: string) => boolean;
}

export interface Viewer {
  readonly pop: string;
  readonly movie: string;
  readonly id: string;
  readonly packets: Buffer[];
  joinedAt: number | null;
  failure: { reason: NakReason; detail: string } | null;
}

export class SimNetwork {
  readonly clock = new VirtualClock();
  private readonly nodes = new Map<string, SimNode>();
  private readonly links = new Map<string, SimLink>();
  /** Each node's neighbours, sorted (kept with the links: scanning every link per node is quadratic). */
  private readonly adjacency = new Map<string, string[]>();
  /** Data packets carried per directed link ("a>b") per movie. */
  readonly dataPackets = new Map<string, Map<string, number>>();
  controlPackets = 0;
  /** Encoded bytes of the control datagrams sent (hellos included). */
  controlBytes = 0;
  /** The same per link (both directions, keyed as linkKey), for the busiest link's share. */
  readonly controlBytesByLink = new Map<string, number>();
  /** Datagrams and encoded bytes sent, by message type (DATA included). */
  readonly sentByType = new Map<string, { datagrams: number; bytes: number }>();
  /** The largest datagram any node sent. */
  largestDatagram = 0;
  /** Messages the encoder refused or that came out over MAX_OVERLAY_DATAGRAM (lost), and why (first few). */
  oversize = 0;
  readonly oversizeReasons: string[] = [];
  /** Encoded messages the decoder refused (lost): must stay 0. */
  undecodable = 0;
  /** Each sender's DATA header, built once (as the real transport does). */
  private readonly dataHeaders = new Map<string, Buffer>();
  /** Movie names by the id DATA carries: every name any node sent DATA of. */
  private readonly movieIds = new MovieIds();
  /** The packet each decoded RTP buffer was first sent as: its identity across hops. */
  private readonly packetOrigin = new WeakMap<Buffer, Buffer>();
  private dataCounter = 0;
  /** Data packets that crossed a directed link they had already crossed (must stay 0: one copy per link). */
  duplicateDataPackets = 0;
  private readonly seenData = new Map<string, WeakSet<Buffer>>();
  /**
   * Whether each control message is delivered as decoded from its datagram (the default: the codec
   * is in the loop). False delivers the sender's own message (readonly data), still encoded once
   * for its size and to refuse what could not be sent: receivers then share the senders' routes and
   * paths instead of each holding a decoded copy, which is what lets 10,000 nodes fit in one heap.
   * DATA is always decoded (its movie travels as an id).
   */
  decodeControl = true;
  /** Messages matching this rule are counted as sent and then lost; null (the default) drops nothing. */
  dropRule: DropRule | null = null;
  /** Sees every message a live node sends, before links and loss apply; null by default. */
  tap: ((from: string, to: string, msg: OverlayMessage) => void) | null = null;
  /** Replaces what a live node sends (a faulty node, in tests); null by default. */
  tamper: ((from: string, to: string, msg: OverlayMessage) => OverlayMessage) | null = null;
  /** The servers' public keys every verifying node knows (signed simulations). */
  readonly keyring = new ServerKeyring();
  private rngState: number;
  /** Servers' sources made so far: each gets its own SSRCs and sequence bases, as a real process would. */
  /**
   * Each server's reading of the shared clock its channels run on (what time sync gives a real
   * server); a server not listed reads the network's own clock, as if perfectly synchronised.
   */
  private readonly references = new Map<string, ReferenceTime>();

  constructor(
    private readonly options: OverlayOptions = DEFAULT_OVERLAY,
    seed = 1,
    private readonly signing: SimSigning | null = null,
  ) {
    this.rngState = seed >>> 0 || 1;
  }

  /** The shared clock as `server` reads it from now on (its time sync's estimate). */
  setReference(server: string, reference: ReferenceTime): void {
    this.references.set(server, reference);
  }

  /** Adds a node; servers get movies whose channels emit small fake frames in virtual time. */
  addNode(name: string, movies: readonly ChannelMovie[] = [], clockOffsetMs = 0): OverlayNode {
    const server = movies.length > 0;
    const { node, source } = this.makeNode(name, movies, server, clockOffsetMs);
    this.nodes.set(name, { name, node, alive: true, source, movies, server, clockOffsetMs });
    return node;
  }

  private makeNode(
    name: string,
    movies: readonly ChannelMovie[],
    server: boolean,
    clockOffsetMs: number,
  ): { node: OverlayNode; source: ChannelSource | null } {
    const clock = new OffsetClock(this.clock, clockOffsetMs);
    let node: OverlayNode | null = null;
    const sign = server && this.signing !== null ? this.signerFor(name) : null;
    const emit = (movie: string, rtp: Buffer): void => node?.onSourcePacket(movie, rtp);
    const reference = (): number => (this.references.get(name) ?? (() => this.clock.now()))();
    const source = server ? new ChannelSource(clock, movies, movies.map(toInfo), emit, reference, sign) : null;
    node = new OverlayNode(
      name,
      clock,
      {
        send: (to, msg) => this.deliver(name, to, msg),
        sendData: (to, movie, rtp) => {
          for (const t of to) this.deliver(name, t, { type: 'data', movie, rtp });
        },
      },
      source,
      // A (re)started server's announcements are newer than its last run's, as with real time.
      { ...this.options, routing: { ...this.options.routing, firstSeq: 1 + Math.floor(this.clock.now()) } },
      this.verifies(name, movies) ? this.keyring : null,
    );
    return { node, source };
  }

  /** A (restarted) server's new key: known to the verifying nodes unless SimSigning.known says otherwise. */
  private signerFor(name: string): FrameSigning {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    if (this.signing?.known?.(name) ?? true) this.keyring.set(name, rawEd25519(publicKey));
    const signer = new FrameSigner(privateKey, publicKey);
    return (movie, packets) => signer.signFrame(movie, packets);
  }

  private verifies(name: string, movies: readonly ChannelMovie[]): boolean {
    if (this.signing === null) return false;
    return this.signing.verifies?.(name) ?? movies.length === 0;
  }

  addLink(a: string, b: string, delayMs: number, lossPct = 0): void {
    const key = linkKey(a, b);
    if (!this.links.has(key)) {
      this.adjoin(a, b);
      if (a !== b) this.adjoin(b, a);
    }
    this.links.set(key, { a, b, delayMs, lossPct, up: true });
  }

  private adjoin(a: string, b: string): void {
    const list = this.adjacency.get(a) ?? [];
    list.push(b);
    list.sort();
    this.adjacency.set(a, list);
  }

  link(a: string, b: string): SimLink | undefined {
    return this.links.get(linkKey(a, b));
  }

  node(name: string): OverlayNode {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n.node;
  }

  names(): string[] {
    return [...this.nodes.keys()];
  }

  isAlive(name: string): boolean {
    return this.nodes.get(name)?.alive ?? false;
  }

  neighboursOf(name: string): string[] {
    return [...(this.adjacency.get(name) ?? [])];
  }

  /** Gives every node its neighbours and starts it. */
  start(): void {
    for (const n of this.nodes.values()) {
      n.node.setNeighbours(this.neighboursOf(n.name));
      n.node.start();
    }
  }

  stop(): void {
    for (const n of this.nodes.values()) n.node.stop();
  }

  run(ms: number): void {
    this.clock.advance(ms);
  }

  /**
   * Crashes a node's process: it stops sending and everything addressed to it is lost. With
   * `bootstrapperNotices`, its live neighbours hear of it at once, as they do from the bootstrapper
   * when a real process's connection drops; without, they find out from missed hellos only (a node
   * that hangs, or a bootstrapper that is down too).
   */
  kill(name: string, options: { bootstrapperNotices?: boolean } = {}): void {
    const n = this.nodes.get(name);
    if (n === undefined || !n.alive) return;
    n.alive = false;
    n.source?.stopAll();
    n.node.stop();
    if (options.bootstrapperNotices) {
      for (const other of this.neighboursOf(name)) if (this.isAlive(other)) this.node(other).neighbourLost(name);
    }
  }

  /**
   * Brings a killed node back as a fresh process: new OverlayNode, empty state, same links; same
   * movies unless a server is given others (as if its movie directory changed; [] leaves it a
   * server with an empty catalogue).
   */
  restart(name: string, movies?: readonly ChannelMovie[]): OverlayNode {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    if (n.alive) this.kill(name);
    if (movies !== undefined && n.server) n.movies = movies;
    ({ node: n.node, source: n.source } = this.makeNode(name, n.movies, n.server, n.clockOffsetMs));
    n.alive = true;
    n.node.setNeighbours(this.neighboursOf(name));
    n.node.start();
    return n.node;
  }

  /** Attaches a viewer at a POP, recording every RTP packet it receives. */
  watch(pop: string, movie: string, id = `${pop}/${movie}`): Viewer {
    const viewer: Viewer = { pop, movie, id, packets: [], joinedAt: null, failure: null };
    this.node(pop).localJoin(movie, id, {
      deliver: (rtp) => viewer.packets.push(rtp),
      joined: () => {
        viewer.joinedAt ??= this.clock.now();
      },
      failed: (reason, detail) => {
        viewer.failure = { reason, detail };
      },
    });
    return viewer;
  }

  unwatch(viewer: Viewer): void {
    this.node(viewer.pop).localLeave(viewer.movie, viewer.id);
  }

  /** Clears the traffic counters: data per link, duplicates, control totals. */
  resetCounters(): void {
    this.dataPackets.clear();
    this.seenData.clear();
    this.duplicateDataPackets = 0;
    this.controlPackets = 0;
    this.controlBytes = 0;
    this.controlBytesByLink.clear();
    this.sentByType.clear();
    this.largestDatagram = 0;
  }

  packetsOn(from: string, to: string, movie: string): number {
    return this.dataPackets.get(`${from}>${to}`)?.get(movie) ?? 0;
  }

  channelRunning(server: string, movie: string): boolean {
    return this.nodes.get(server)?.source?.running().includes(movie) ?? false;
  }

  /** RTP packets a server's channel for the movie has emitted since the server (last) started. */
  packetsEmitted(server: string, movie: string): number {
    return this.nodes.get(server)?.source?.packetsSent(movie) ?? 0;
  }

  /** Sum of data packets sent over every directed link for a movie since the last reset. */
  totalDataPackets(movie: string): number {
    let total = 0;
    for (const perMovie of this.dataPackets.values()) total += perMovie.get(movie) ?? 0;
    return total;
  }

  /** Directed links ("a>b") that carried the movie since the last reset. */
  linksCarrying(movie: string): string[] {
    return [...this.dataPackets]
      .filter(([, m]) => (m.get(movie) ?? 0) > 0)
      .map(([k]) => k)
      .sort();
  }

  private deliver(from: string, to: string, msg: OverlayMessage): void {
    const src = this.nodes.get(from);
    const dst = this.nodes.get(to);
    const link = this.links.get(linkKey(from, to));
    if (src === undefined || dst === undefined || link === undefined || !src.alive) return;
    if (this.tamper !== null) msg = this.tamper(from, to, msg);
    this.tap?.(from, to, msg);
    const wire = this.onTheWire(from, msg);
    if (wire === null) return;
    if (msg.type === 'data') {
      const key = `${from}>${to}`;
      let perMovie = this.dataPackets.get(key);
      if (perMovie === undefined) {
        perMovie = new Map();
        this.dataPackets.set(key, perMovie);
      }
      perMovie.set(msg.movie, (perMovie.get(msg.movie) ?? 0) + 1);
      // Every hop decodes a fresh buffer; its origin tells a packet crossing the same link twice.
      let seen = this.seenData.get(key);
      if (seen === undefined) {
        seen = new WeakSet();
        this.seenData.set(key, seen);
      }
      const origin = this.packetOrigin.get(msg.rtp) ?? msg.rtp;
      if (seen.has(origin)) this.duplicateDataPackets++;
      seen.add(origin);
      if (wire.message.type === 'data') this.packetOrigin.set(wire.message.rtp, origin);
    } else {
      this.controlPackets++;
      this.controlBytes += wire.bytes;
      const key = linkKey(from, to);
      this.controlBytesByLink.set(key, (this.controlBytesByLink.get(key) ?? 0) + wire.bytes);
    }
    if (!link.up || this.dropRule?.(from, to, msg) === true) return;
    if (link.lossPct > 0 && this.random() * 100 < link.lossPct) return;
    // Bound to the receiving process now: a message in flight to a node that restarts is lost.
    const receiver = dst.node;
    this.clock.setTimer(link.delayMs, () => {
      if (dst.alive && link.up && dst.node === receiver) receiver.receive(from, wire.message);
    });
  }

  /** The message as the receiver would decode it from the datagram, and its size; null when it could not be sent. */
  private onTheWire(from: string, msg: OverlayMessage): { message: OverlayMessage; bytes: number } | null {
    const datagram = this.encodes(() => (msg.type === 'data' ? this.encodeData(from, msg) : encodeOverlay(from, msg)));
    if (datagram === null) return null;
    if (!this.decodeControl && msg.type !== 'data') return this.sent(msg, datagram.length);
    const decoded = decodeOverlay(datagram);
    if (!decoded.ok || (decoded.value.message.type === 'data') !== (msg.type === 'data')) {
      this.undecodable++;
      return null;
    }
    let message: OverlayMessage;
    const got = decoded.value.message;
    if (got.type === 'data') {
      const movie = this.movieIds.nameOf(got.movieId);
      if (movie === undefined) {
        this.undecodable++;
        return null;
      }
      message = { type: 'data', movie, rtp: got.rtp };
    } else {
      message = got;
    }
    return this.sent(message, datagram.length);
  }

  /** Counts a datagram sent (by the type of what it carries). */
  private sent(message: OverlayMessage, bytes: number): { message: OverlayMessage; bytes: number } {
    const t = this.sentByType.get(message.type) ?? { datagrams: 0, bytes: 0 };
    t.datagrams++;
    t.bytes += bytes;
    this.sentByType.set(message.type, t);
    this.largestDatagram = Math.max(this.largestDatagram, bytes);
    return { message, bytes };
  }

  /** DATA as the real transport builds it: the sender's header, a nonce, the movie's id, the RTP packet, a tag. */
  private encodeData(from: string, msg: DataMessage): Buffer {
    let header = this.dataHeaders.get(from);
    if (header === undefined) {
      header = encodeHeader(MessageType.data, from);
      this.dataHeaders.set(from, header);
    }
    // A name that cannot have an id throws the codec's own OverlayEncodeError.
    const id = this.movieIds.learn(msg.movie) ?? movieId(msg.movie);
    const counter = this.dataCounter;
    this.dataCounter = (this.dataCounter + 1) % (MAX_NONCE_COUNTER + 1);
    return encodeData(header, { epoch: 1, counter }, id, msg.rtp);
  }

  private encodes<T>(build: () => T): T | null {
    try {
      return build();
    } catch (err) {
      if (!(err instanceof OverlayEncodeError)) throw err;
      return this.refused(err.message);
    }
  }

  private refused(reason: string): null {
    this.oversize++;
    if (this.oversizeReasons.length < 10) this.oversizeReasons.push(reason);
    return null;
  }

  /** xorshift32: deterministic loss. */
  private random(): number {
    let x = this.rngState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rngState = x >>> 0;
    return this.rngState / 0x1_0000_0000;
  }
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function toInfo(m: ChannelMovie): MovieInfo {
  return { name: m.name, fps: m.fps, width: 320, height: 240, frames: m.frames.length };
}

/** A small fake movie for simulations: `frames` frames of `packetsPerFrame` tiny payloads. */
export function fakeMovie(name: string, fps = 25, frames = 50, packetsPerFrame = 2): ChannelMovie {
  return {
    name,
    fps,
    frames: Array.from({ length: frames }, (_, f) =>
      Array.from({ length: packetsPerFrame }, (_, p) => Buffer.from(`${name}:${f}:${p}`)),
    ),
  };
}
