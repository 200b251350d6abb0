/**
 * The overlay's UDP adapter: one socket per host address, so a node on loopback (127.B.C.D) or
 * in an emulator sends each link's traffic from its own address on that link. Every datagram
 * it sends is sealed with the overlay key (common/wire/overlay-auth.ts); what arrives is acted on
 * only if it passes, in this order (each failure counted, the datagram dropped):
 *
 *   malformed      the header does not decode (or, once authenticated, the body)
 *   unknownSender  the sender named inside is not a neighbour
 *   wrongSource    it did not come from that neighbour's address and overlay port
 *   badMac         its tag is wrong: not made with the overlay key for this node
 *   replayed       its nonce was seen before, or is older than the sender's window
 *   unknownStream  DATA for a movie id this node never learnt the name of
 *
 * Clients' pings are answered with a pong (rate-limited) and nothing else; pongs are ignored.
 * When the network cannot, it applies each link's delay and loss to what it sends.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIPv4 } from 'node:net';
import type { NeighbourInfo } from '../../common/wire/bootstrap.ts';
import { macKey, seal, sealOverlay, verify, type OverlayMacKey } from '../../common/wire/overlay-auth.ts';
import {
  decodeBody,
  decodeHeader,
  encodeData,
  encodeHeader,
  encodeOverlay,
  MAX_NONCE_COUNTER,
  MessageType,
  OverlayEncodeError,
  type ControlMessage,
  type HelloMessage,
  type Nonce,
  type OverlayHeader,
  type OverlayMessage,
} from '../../common/wire/overlay.ts';
import { bindUdp } from '../../common/net/listen.ts';
import type { Logger } from '../../common/net/logger.ts';
import type { Outbox } from '../core/overlay-node.ts';
import { KeyedRateWindows, RateWindow } from '../../common/core/rate-window.ts';
import { Service, type StartContext } from '../../common/core/lifecycle.ts';
import { TypedEmitter } from '../../common/core/typed-emitter.ts';
import { MovieIds } from '../core/movie-ids.ts';
import { ReplayWindows } from '../core/replay-window.ts';

/** Socket buffers asked of the kernel for each overlay socket. */
export const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * Pongs per second to one address: a client sends a handful of pings per POP, so this never
 * throttles one, while a flood (or spoofed pings reflected at a victim) gets no more from a POP.
 */
export const MAX_PONGS_PER_ADDRESS = 20;
/**
 * Addresses with a budget of their own within one second (the table's memory bound); past it, new
 * addresses share what is left of MAX_PONGS_PER_SECOND, so filling the table with spoofed
 * addresses shuts no client out.
 */
export const MAX_PING_ADDRESSES = 4096;
/**
 * Pongs per second in all: a bandwidth ceiling (about 1 MB/s) that many addresses together reach,
 * never one address alone.
 */
export const MAX_PONGS_PER_SECOND = 20_000;
/**
 * A send's outcome is only known through a completion callback, which costs about as much as
 * the rest of a relay's per-branch JavaScript; DATA asks for one every this many sends (control
 * always), so a lasting error (no route) shows in sendErrors while a relay forwards at full speed.
 */
export const DATA_SEND_CHECK_EVERY = 64;

export interface TransportCounters {
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  malformed: number;
  unknownSender: number;
  wrongSource: number;
  badMac: number;
  replayed: number;
  unknownStream: number;
  emulatedLoss: number;
  /** Failed sends seen: every control datagram's, one DATA send's in DATA_SEND_CHECK_EVERY. */
  sendErrors: number;
  pings: number;
  /** Pings not answered: over their address's budget or the total. */
  pingsDropped: number;
  /** Messages that could not be encoded (too big, bad name): logged once per type. */
  oversize: number;
  /** Datagrams dropped on links cut with `onode fault`. */
  faultDrops: number;
}

export interface OverlayTransportEvents {
  packet: [from: string, msg: OverlayMessage];
}

export interface OverlayTransportOptions {
  /** This node's name: the sender of everything it sends, the recipient it checks tags for. */
  readonly self: string;
  readonly addresses: readonly string[];
  readonly port: number;
  /** Apply each link's delay and loss when sending. */
  readonly emulateLinks: boolean;
  /** overlayMacKey(secret): what every datagram is authenticated with. */
  readonly key: Buffer;
  readonly log: Logger;
  readonly random?: () => number;
  /** Nonce epoch: this process's start, ms since 1970 (default now), so a restarted node's nonces are newer. */
  readonly epoch?: number;
  /** Milliseconds, for the pong rate limit (default performance.now). */
  readonly now?: () => number;
}

export class OverlayTransport extends Service implements Outbox {
  readonly counters: TransportCounters = {
    datagramsIn: 0,
    datagramsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    malformed: 0,
    unknownSender: 0,
    wrongSource: 0,
    badMac: 0,
    replayed: 0,
    unknownStream: 0,
    emulatedLoss: 0,
    sendErrors: 0,
    pings: 0,
    pingsDropped: 0,
    oversize: 0,
    faultDrops: 0,
  };
  private readonly sockets = new Map<string, Socket>();
  private neighbours = new Map<string, NeighbourInfo>();
  private readonly pendingDelays = new Set<NodeJS.Timeout>();
  /** Neighbours whose link is cut on purpose (fault injection): nothing goes or comes through. */
  readonly cut = new Set<string>();
  /** `packet`: every authenticated overlay packet from a neighbour. */
  readonly events: TypedEmitter<OverlayTransportEvents>;

  private readonly self: string;
  private readonly key: OverlayMacKey;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly dataHeader: Buffer;
  private readonly movies = new MovieIds();
  private readonly replay = new ReplayWindows();
  private epoch: number;
  private counter = 0;
  private readonly pongsByAddress = new KeyedRateWindows(
    MAX_PONGS_PER_ADDRESS,
    MAX_PING_ADDRESSES,
    1000,
    MAX_PONGS_PER_SECOND,
  );
  private readonly pongs = new RateWindow(MAX_PONGS_PER_SECOND);
  private dataSends = 0;
  /** Message types whose encode failure was logged already (one line per type, not per datagram). */
  private readonly encodeFailuresLogged = new Set<string>();
  /** One callback for every checked send (no closure per datagram). */
  private readonly afterSend = (err: Error | null): void => {
    if (err) this.counters.sendErrors++;
  };

  constructor(private readonly opts: OverlayTransportOptions) {
    super();
    this.self = opts.self;
    this.key = macKey(opts.key);
    this.log = opts.log;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? (() => performance.now());
    this.epoch = opts.epoch ?? Date.now();
    this.dataHeader = encodeHeader(MessageType.data, opts.self);
    // A listener that throws (a bug) is logged; the socket handler goes on with the next datagram.
    this.events = new TypedEmitter((err, event) =>
      this.log.error(`handling an overlay ${String(event)}: ${(err as Error).stack ?? String(err)}`),
    );
  }

  /** Binds a socket per address; stop() closes them and drops the datagrams held back for emulated delay. */
  protected async open(ctx: StartContext): Promise<void> {
    ctx.defer(() => {
      for (const t of this.pendingDelays) clearTimeout(t);
      this.pendingDelays.clear();
    });
    for (const address of this.opts.addresses) {
      if (this.sockets.has(address)) continue;
      const socket = await bindUdp(address, this.opts.port, { lookup: literalLookup }).catch((err: Error) => {
        throw new Error(`cannot listen on udp ${address}:${this.opts.port}: ${err.message}`);
      });
      socket.on('message', (buf, rinfo) => this.receive(socket, buf, rinfo));
      socket.on('error', (err) => this.log.warn(`udp ${address}:${this.opts.port}: ${err.message}`));
      // The default buffer (~200 KB) holds well under a second of a few streams; a busy host that
      // stalls this process briefly would drop packets in the kernel. The kernel may cap it lower.
      try {
        socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
        socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
      } catch {
        // not fatal: the kernel's limit (net.core.rmem_max) applies
      }
      this.sockets.set(address, socket);
      ctx.defer(() => {
        this.sockets.delete(address);
        socket.close();
      });
    }
  }

  setNeighbours(list: readonly NeighbourInfo[]): void {
    this.neighbours = new Map(list.map((n) => [n.name, n]));
  }

  /** Tells the transport a movie's name, so DATA carrying its id can be delivered. */
  learnMovie(movie: string): void {
    this.movies.learn(movie);
  }

  send(to: string, msg: HelloMessage | ControlMessage): void {
    if (!this.neighbours.has(to)) return;
    this.learnFrom(msg);
    let datagram: Buffer;
    try {
      datagram = sealOverlay(this.key, this.self, to, this.nextNonce(), msg);
    } catch (err) {
      this.encodeFailed(msg.type, err);
      return;
    }
    this.transmit(to, datagram, false);
  }

  /** One datagram (one MAC) per packet, whatever the number of branches. */
  sendData(to: readonly string[], movie: string, rtp: Buffer): void {
    if (to.length === 0) return;
    let datagram: Buffer;
    try {
      const id = this.movies.learn(movie);
      if (id === undefined) throw new OverlayEncodeError(`movie name must be 1..255 bytes: ${movie}`);
      datagram = seal(this.key, '', encodeData(this.dataHeader, this.nextNonce(), id, rtp));
    } catch (err) {
      this.encodeFailed('data', err);
      return;
    }
    for (const n of to) this.transmit(n, datagram, true);
  }

  /** Every datagram gets the next counter; after 2^32 of them, the next epoch. */
  private nextNonce(): Nonce {
    if (this.counter > MAX_NONCE_COUNTER) {
      this.epoch++;
      this.counter = 0;
    }
    return { epoch: this.epoch, counter: this.counter++ };
  }

  /** A message that cannot go on the wire is a local limit (names, sizes): counted and logged, never a crash. */
  private encodeFailed(what: string, err: unknown): void {
    if (!(err instanceof OverlayEncodeError)) throw err;
    this.counters.oversize++;
    if (this.encodeFailuresLogged.has(what)) return;
    this.encodeFailuresLogged.add(what);
    this.log.error(
      `cannot send ${what}: ${err.message} (dropped; counted in counters.transport.oversize, ` +
        'logged once per type)',
    );
  }

  private transmit(to: string, datagram: Buffer, data: boolean): void {
    const n = this.neighbours.get(to);
    if (n === undefined) return;
    if (this.cut.has(to)) {
      this.counters.faultDrops++;
      return;
    }
    if (this.opts.emulateLinks) {
      if (n.lossPct > 0 && this.random() * 100 < n.lossPct) {
        this.counters.emulatedLoss++;
        return;
      }
      if (n.delayMs > 0) {
        const t = setTimeout(() => {
          this.pendingDelays.delete(t);
          this.write(n, datagram, data);
        }, n.delayMs);
        this.pendingDelays.add(t);
        return;
      }
    }
    this.write(n, datagram, data);
  }

  private write(n: NeighbourInfo, datagram: Buffer, data: boolean): void {
    const socket = this.sockets.get(n.localAddress) ?? this.sockets.values().next().value;
    if (socket === undefined) return;
    this.counters.datagramsOut++;
    this.counters.bytesOut += datagram.length;
    if (data && ++this.dataSends % DATA_SEND_CHECK_EVERY !== 0) socket.send(datagram, this.opts.port, n.address);
    else socket.send(datagram, this.opts.port, n.address, this.afterSend);
  }

  private receive(socket: Socket, buf: Buffer, rinfo: RemoteInfo): void {
    this.counters.datagramsIn++;
    this.counters.bytesIn += buf.length;
    const decoded = decodeHeader(buf);
    if (!decoded.ok) {
      this.counters.malformed++;
      return;
    }
    const header = decoded.value;
    const { from, nonce } = header;
    if (nonce === null) {
      // Pings and pongs carry no tag: a ping only ever gets a pong, and a pong is never acted on.
      if (header.type === MessageType.ping) this.answerPing(socket, buf, header, rinfo);
      return;
    }
    const n = this.neighbours.get(from);
    if (n === undefined) {
      this.counters.unknownSender++;
      return;
    }
    if (rinfo.address !== n.address || rinfo.port !== this.opts.port) {
      this.counters.wrongSource++;
      return;
    }
    // The cheap checks first: a replayed or cut datagram is dropped before its body is parsed.
    if (!verify(this.key, this.self, buf)) {
      this.counters.badMac++;
      return;
    }
    if (this.replay.check(from, nonce) !== 'fresh') {
      this.counters.replayed++;
      return;
    }
    if (this.cut.has(from)) {
      this.counters.faultDrops++;
      return;
    }
    const body = decodeBody(buf, header);
    if (!body.ok) {
      this.counters.malformed++;
      return;
    }
    let message: OverlayMessage;
    if (body.value.type === 'data') {
      const movie = this.movies.nameOf(body.value.movieId);
      if (movie === undefined) {
        this.counters.unknownStream++;
        return;
      }
      message = { type: 'data', movie, rtp: body.value.rtp };
    } else {
      message = body.value;
      this.learnFrom(message);
    }
    this.events.emit('packet', from, message);
  }

  /**
   * Clients measure their RTT to POPs with these: answered at once, never delayed. Only a well-formed
   * ping spends a budget, its address's first, so one address flooding cannot silence the others.
   */
  private answerPing(socket: Socket, buf: Buffer, header: OverlayHeader, rinfo: RemoteInfo): void {
    const ping = decodeBody(buf, header);
    if (!ping.ok || ping.value.type !== 'ping') {
      this.counters.malformed++;
      return;
    }
    if (rinfo.port === 0) return; // not a port anyone can receive on (and send() would throw)
    const now = this.now();
    if (!this.pongsByAddress.take(now, rinfo.address) || !this.pongs.take(now)) {
      this.counters.pingsDropped++;
      return;
    }
    this.counters.pings++;
    const { id, sentAt } = ping.value;
    const pong = encodeOverlay(this.self, { type: 'pong', id, sentAt, node: this.self });
    socket.send(pong, rinfo.port, rinfo.address, this.afterSend);
  }

  /** Movie names passing through, so DATA naming them by id can be delivered. */
  private learnFrom(msg: OverlayMessage | HelloMessage | ControlMessage): void {
    switch (msg.type) {
      case 'join':
      case 'join-ack':
      case 'nak':
      case 'leave':
      case 'repair':
        this.movies.learn(msg.movie);
        return;
      case 'carrying':
        for (const m of msg.movies) this.movies.learn(m);
        return;
      default:
        return;
    }
  }
}

/**
 * Neighbours and clients are addressed by IPv4 literals: resolve those at once. Node's default
 * lookup defers every send to a later tick (a closure and a nextTick per datagram), even for a
 * literal; a relay sends one per branch per packet.
 */
type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

function literalLookup(hostname: string, options: LookupOneOptions, callback: LookupCallback): void {
  if (isIPv4(hostname)) callback(null, hostname, 4);
  else dnsLookup(hostname, options, callback);
}
