/**
 * Pings one POP's overlay port while the client waits on it (its SETUP being answered), and says
 * when it answers: the POP's liveness, apart from its RTSP answers (see core/silence-watch.ts).
 * A pong counts only when it answers one of the last few pings this client sent, from that POP.
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { decodeOverlay, encodeOverlay } from '../../common/wire/overlay.ts';

export const PING_INTERVAL_MS = 250;
/** Pings remembered for matching pongs; older ones are forgotten (a late pong then does not count). */
const IDS_KEPT = 8;

export class PopPinger {
  private socket: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly sent: number[] = [];
  private nextId = randomInt(0x1_0000_0000);

  constructor(
    private readonly address: string,
    private readonly port: number,
    private readonly onPong: () => void,
    private readonly localAddress?: string,
  ) {}

  /** Starts pinging (idempotent); a socket that cannot bind leaves the POP unwatched. */
  start(): void {
    if (this.socket !== null) return;
    const socket = createSocket('udp4');
    this.socket = socket;
    socket.on('error', () => this.stop());
    socket.on('message', (buf, rinfo) => {
      if (rinfo.address !== this.address || rinfo.port !== this.port) return;
      const d = decodeOverlay(buf);
      if (!d.ok || d.value.message.type !== 'pong' || !this.sent.includes(d.value.message.id)) return;
      this.onPong();
    });
    socket.bind(0, this.localAddress, () => {
      if (this.socket !== socket) return;
      this.ping();
      this.timer = setInterval(() => this.ping(), PING_INTERVAL_MS);
    });
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    try {
      socket?.close();
    } catch {
      // closed already
    }
  }

  private ping(): void {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    this.sent.push(id);
    if (this.sent.length > IDS_KEPT) this.sent.shift();
    this.socket?.send(
      encodeOverlay('client', { type: 'ping', id, sentAt: performance.now() }),
      this.port,
      this.address,
    );
  }
}
