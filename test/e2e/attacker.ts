/**
 * A stranger on the report's network, as the security issue describes it: a host that is not in
 * the topology (or that borrows a neighbour's address with another port) and speaks the
 * project's own wire format with the project's own code, but without the overlay secret.
 * Every send is bounded; close() releases the sockets.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { splitMovie } from '../../common/media/movie-file.ts';
import { randomBytes } from 'node:crypto';
import { macKey, seal, sealOverlay } from '../../common/wire/overlay-auth.ts';
import {
  encodeData,
  encodeHeader,
  MessageType,
  movieId,
  type ControlMessage,
  type HelloMessage,
  type Nonce,
} from '../../common/wire/overlay.ts';
import { encodeRtp } from '../../common/wire/rtp.ts';
import { parseJpeg } from '../../common/media/jpeg.ts';
import { packetizeJpeg, RTP_JPEG_PAYLOAD_TYPE } from '../../common/wire/rtp-jpeg.ts';

/** A node as the attacker aims at it: one of its overlay addresses, and its name. */
export interface Target {
  readonly address: string;
  readonly name: string;
}

export class Attacker {
  private readonly sockets: Socket[] = [];
  sent = 0;

  private readonly key = macKey(randomBytes(32));
  private counter = 0;

  private constructor(private readonly overlayPort: number) {}

  /** Binds one UDP socket per source (address, port); port 0 picks any. */
  static async open(overlayPort: number, sources: readonly { address: string; port: number }[]): Promise<Attacker> {
    const a = new Attacker(overlayPort);
    for (const s of sources) {
      const socket = createSocket({ type: 'udp4', reuseAddr: false });
      socket.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(s.port, s.address, () => resolve());
      });
      a.sockets.push(socket);
    }
    return a;
  }

  /**
   * Sends a control message or hello in `from`'s name to `to` (a node at one of its overlay
   * addresses), sealed as a member would seal it but with a key of the attacker's own.
   */
  control(to: Target, from: string, msg: ControlMessage | HelloMessage): void {
    let datagram: Buffer;
    try {
      datagram = sealOverlay(this.key, from, to.name, this.nonce(), msg);
    } catch {
      // Our encoder refuses what it would never send (names like ../../etc/passwd): build it by hand.
      const { type, ...fields } = msg;
      const head = encodeHeader(type === 'catalogue' ? MessageType.catalogue : MessageType.routes, from);
      const nonce = Buffer.alloc(12);
      nonce.writeUInt32BE(Math.floor(Date.now() / 1000), 4);
      datagram = Buffer.concat([head, nonce, Buffer.from(JSON.stringify(fields)), randomBytes(16)]);
    }
    this.raw(to.address, datagram);
  }

  /** DATA in `from`'s name carrying a forged RTP packet, sealed with the attacker's key. */
  data(to: Target, from: string, movie: string, rtp: Buffer): void {
    this.raw(
      to.address,
      seal(this.key, '', encodeData(encodeHeader(MessageType.data, from), this.nonce(), movieId(movie), rtp)),
    );
  }

  /** Newer than anything a real node has sent, so only the tag can give it away. */
  private nonce(): Nonce {
    return { epoch: Date.now() + 86_400_000, counter: this.counter++ };
  }

  raw(to: string, datagram: Buffer): void {
    for (const s of this.sockets) {
      s.send(datagram, this.overlayPort, to);
      this.sent++;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.length = 0;
  }
}

/**
 * The RTP packets of a foreign picture (the first frame of another movie), numbered far ahead of
 * any real stream so a receiver that believed them would skip the real packets as old.
 */
export function foreignFrames(moviePath: string, count: number): Buffer[] {
  const split = splitMovie(readFileSync(moviePath), moviePath);
  if (!split.ok) throw new Error(split.detail);
  const first = split.value.frames[0];
  if (first === undefined) throw new Error(`${moviePath} has no frames`);
  const image = parseJpeg(first.jpeg);
  if (!image.ok) throw new Error(`${moviePath}: ${image.detail}`);
  const payloads = packetizeJpeg(image.value, 1000);
  const out: Buffer[] = [];
  let seq = 30_000;
  for (let f = 0; f < count; f++) {
    payloads.forEach((payload, i) => {
      out.push(
        encodeRtp({
          marker: i === payloads.length - 1,
          payloadType: RTP_JPEG_PAYLOAD_TYPE,
          sequenceNumber: seq,
          timestamp: (f * 3600) >>> 0,
          ssrc: 0x0badf00d,
          csrcs: [],
          payload,
        }),
      );
      seq = (seq + 1) & 0xffff;
    });
  }
  return out;
}
