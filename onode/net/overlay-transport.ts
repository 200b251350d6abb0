/**
 * The overlay's UDP adapter: one socket per host address, so a node on loopback (127.B.C.D) or
 * in an emulator sends each link's traffic from its own address on that link. It decodes what
 * arrives (malformed datagrams are counted and dropped), answers clients' pings, and, when the
 * network cannot, applies each link's delay and loss to what it sends.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { NeighbourInfo } from '../../common/wire/bootstrap.ts';
import { decodeOverlay, encodeDataPrefix, encodeOverlay, MAX_CATALOGUE, OverlayEncodeError, withDataPrefix, type ControlMessage, type HelloMessage, type OverlayMessage } from '../../common/wire/overlay.ts';
import type { Logger } from '../../common/net/logger.ts';
import type { Outbox } from '../core/overlay-node.ts';

/** Socket buffers asked of the kernel for each overlay socket. */
export const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export interface TransportCounters {
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  malformed: number;
  unknownSender: number;
  emulatedLoss: number;
  sendErrors: number;
  pings: number;
  oversize: number;
  /** Datagrams dropped on links cut with `onode fault`. */
  faultDrops: number;
}

export class OverlayTransport implements Outbox {
  readonly counters: TransportCounters = {
    datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0, malformed: 0, unknownSender: 0, emulatedLoss: 0, sendErrors: 0, pings: 0, oversize: 0, faultDrops: 0,
  };
  private readonly sockets = new Map<string, Socket>();
  private neighbours = new Map<string, NeighbourInfo>();
  private readonly pendingDelays = new Set<NodeJS.Timeout>();
  /** Neighbours whose link is cut on purpose (fault injection): nothing goes or comes through. */
  readonly cut = new Set<string>();
  private readonly dataPrefixes = new Map<string, Buffer>();
  /** Message types whose oversize was logged (a handful of names). */
  private readonly oversizeLogged = new Set<string>();
  /** Receives every decoded overlay packet from a known neighbour. */
  onPacket: (from: string, msg: OverlayMessage) => void = () => {};

  constructor(
    private readonly self: string,
    private readonly addresses: readonly string[],
    private readonly port: number,
    private readonly emulateLinks: boolean,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  async start(): Promise<void> {
    for (const address of this.addresses) {
      if (this.sockets.has(address)) continue;
      const socket = createSocket({ type: 'udp4' });
      socket.on('message', (buf, rinfo) => this.receive(socket, buf, rinfo));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(this.port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      }).catch((err: Error) => {
        socket.close();
        throw new Error(`cannot listen on udp ${address}:${this.port}: ${err.message}`);
      });
      socket.on('error', (err) => this.log.warn(`udp ${address}:${this.port}: ${err.message}`));
      // The default buffer (~200 KB) holds well under a second of a few streams; a busy host that
      // stalls this process briefly would drop packets in the kernel. The kernel may cap it lower.
      try {
        socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
        socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
      } catch {
        // not fatal: the kernel's limit (net.core.rmem_max) applies
      }
      this.sockets.set(address, socket);
    }
  }

  async stop(): Promise<void> {
    for (const t of this.pendingDelays) clearTimeout(t);
    this.pendingDelays.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  setNeighbours(list: readonly NeighbourInfo[]): void {
    this.neighbours = new Map(list.map((n) => [n.name, n]));
  }

  send(to: string, msg: HelloMessage | ControlMessage): void {
    const datagram = this.encode(() => encodeOverlay(this.self, msg), msg.type);
    if (datagram !== null) this.transmit(to, datagram);
  }

  sendData(to: readonly string[], movie: string, rtp: Buffer): void {
    if (to.length === 0) return;
    const datagram = this.encode(() => withDataPrefix(this.prefixFor(movie), rtp), 'data');
    if (datagram !== null) for (const n of to) this.transmit(n, datagram);
  }

  /** The DATA header for a movie, built once: every forwarded packet reuses it. */
  private prefixFor(movie: string): Buffer {
    let prefix = this.dataPrefixes.get(movie);
    if (prefix === undefined) {
      if (this.dataPrefixes.size >= MAX_CATALOGUE) this.dataPrefixes.clear();
      prefix = encodeDataPrefix(this.self, movie);
      this.dataPrefixes.set(movie, prefix);
    }
    return prefix;
  }

  /** A message too big for one datagram is a local limit (names, catalogue size): count and log it, never crash. */
  private encode(build: () => Buffer, what: string): Buffer | null {
    try {
      return build();
    } catch (err) {
      if (!(err instanceof OverlayEncodeError)) throw err;
      this.counters.oversize++;
      // Once per message type: the message says the cause and the fix; the counter says how often.
      if (!this.oversizeLogged.has(what)) {
        this.oversizeLogged.add(what);
        this.log.error(`cannot send ${what} (counted in counters.transport.oversize): ${err.message}`);
      }
      return null;
    }
  }

  private transmit(to: string, datagram: Buffer): void {
    const n = this.neighbours.get(to);
    if (n === undefined) return;
    if (this.cut.has(to)) {
      this.counters.faultDrops++;
      return;
    }
    if (this.emulateLinks) {
      if (n.lossPct > 0 && this.random() * 100 < n.lossPct) {
        this.counters.emulatedLoss++;
        return;
      }
      if (n.delayMs > 0) {
        const t = setTimeout(() => {
          this.pendingDelays.delete(t);
          this.write(n, datagram);
        }, n.delayMs);
        this.pendingDelays.add(t);
        return;
      }
    }
    this.write(n, datagram);
  }

  private write(n: NeighbourInfo, datagram: Buffer): void {
    const socket = this.sockets.get(n.localAddress) ?? this.sockets.values().next().value;
    if (socket === undefined) return;
    this.counters.datagramsOut++;
    this.counters.bytesOut += datagram.length;
    socket.send(datagram, this.port, n.address, (err) => {
      if (err) this.counters.sendErrors++;
    });
  }

  private receive(socket: Socket, buf: Buffer, rinfo: RemoteInfo): void {
    this.counters.datagramsIn++;
    this.counters.bytesIn += buf.length;
    const decoded = decodeOverlay(buf);
    if (!decoded.ok) {
      this.counters.malformed++;
      return;
    }
    const { from, message } = decoded.value;
    if (message.type === 'ping') {
      // Clients measure their RTT to POPs with these; answered at once, never delayed.
      this.counters.pings++;
      socket.send(encodeOverlay(this.self, { type: 'pong', id: message.id, sentAt: message.sentAt, node: this.self }), rinfo.port, rinfo.address);
      return;
    }
    if (!this.neighbours.has(from)) {
      this.counters.unknownSender++;
      return;
    }
    if (this.cut.has(from)) {
      this.counters.faultDrops++;
      return;
    }
    try {
      this.onPacket(from, message);
    } catch (err) {
      this.log.error(`handling ${message.type} from ${from}: ${(err as Error).stack ?? String(err)}`);
    }
  }
}
