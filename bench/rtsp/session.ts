/**
 * One light RTSP viewer for the load generator (bench/rtsp/load.ts): DESCRIBE, SETUP
 * (RTP over UDP), PLAY, a receiver report every few seconds as a keep-alive, TEARDOWN; and
 * per-packet counting only (no reordering, no frame assembly), so one process can drive
 * hundreds of sessions. Loss is counted from RTP sequence numbers, as RFC 3550 §A.3 does:
 * expected = extended highest sequence number received − the first one + 1.
 */
import { createSocket, type Socket } from 'node:dgram';
import { encodeRtcp } from '../../common/wire/rtcp.ts';
import { header } from '../../common/wire/rtsp.ts';
import { parseTransport } from '../../common/wire/rtsp-headers.ts';
import { parseSdp } from '../../common/wire/sdp.ts';
import { RtspClient } from '../../oclient/net/rtsp-client.ts';

/** RFC 3550's smallest regular RTCP interval; both servers time sessions out after 60 s of silence. */
const RECEIVER_REPORT_MS = 5000;
/** Room for about 0.7 s of a 25 fps stream while the generator's event loop is busy elsewhere. */
const RECEIVE_BUFFER_BYTES = 1024 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const RTP_HEADER_BYTES = 12;

/** Cumulative counters of one session; differences of two are a measurement window. */
export interface SessionCounters {
  /** RTP packets received (duplicates included, as RFC 3550 counts them). */
  readonly received: number;
  /** Extended highest sequence number received, relative to the first; -1 before any packet. */
  readonly highest: number;
  /** Packets with the marker bit: complete frames sent (the last packet of each). */
  readonly frames: number;
  readonly bytes: number;
  /** Datagrams too short or not RTP version 2. */
  readonly malformed: number;
}

export class LoadSession {
  private received = 0;
  private frames = 0;
  private bytes = 0;
  private malformed = 0;
  /** Sequence-number cycles (multiples of 65536) plus the highest 16-bit sequence number. */
  private cycles = 0;
  private maxSeq = -1;
  private baseSeq = 0;
  /** Arrival time minus RTP time of frame ends, ms: its spread within a window is the delivery jitter. */
  private timestampMs = 0;
  private lastTimestamp = -1;
  private offsetMin = Infinity;
  private offsetMax = -Infinity;
  private reports: NodeJS.Timeout | null = null;
  private closed = false;
  private offClientClose: () => void = () => {};
  /** The local RTP port (RTCP is the next one). */
  readonly rtpPort: number;

  private constructor(
    private readonly client: RtspClient,
    private readonly rtp: Socket,
    private readonly rtcp: Socket,
    private readonly url: string,
  ) {
    this.rtpPort = rtp.address().port;
    rtp.on('message', (buf) => this.receive(buf));
    this.offClientClose = client.events.on('close', () => this.close());
  }

  /**
   * Connects from `localAddress`, binds the RTP/RTCP pair at `rtpPort`/`rtpPort + 1` on it
   * (the next free even pair if taken), and plays `url`. Rejects with the server's status on refusal.
   */
  static async open(url: string, localAddress: string, rtpPort: number): Promise<LoadSession> {
    const target = new URL(url.replace(/^rtsp:/, 'http:'));
    const [rtp, rtcp] = await bindPair(localAddress, rtpPort);
    let client: RtspClient;
    try {
      client = await RtspClient.open(target.hostname, Number(target.port), localAddress, REQUEST_TIMEOUT_MS);
    } catch (err) {
      rtp.close();
      rtcp.close();
      throw err;
    }
    const session = new LoadSession(client, rtp, rtcp, url);
    try {
      await session.start(localAddress);
    } catch (err) {
      session.close();
      throw err;
    }
    return session;
  }

  counters(): SessionCounters {
    return {
      received: this.received,
      highest: this.maxSeq < 0 ? -1 : this.cycles + this.maxSeq - this.baseSeq,
      frames: this.frames,
      bytes: this.bytes,
      malformed: this.malformed,
    };
  }

  /** The spread of (arrival − RTP time) over frames since the last call, ms; null without two frames. */
  takeDelaySpread(): number | null {
    const spread = this.offsetMax - this.offsetMin;
    this.offsetMin = Infinity;
    this.offsetMax = -Infinity;
    return Number.isFinite(spread) ? spread : null;
  }

  async teardown(): Promise<void> {
    if (!this.closed) await this.client.request('TEARDOWN', this.url, {}, 2000).catch(() => undefined);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reports !== null) clearInterval(this.reports);
    this.reports = null;
    this.offClientClose();
    this.client.close();
    this.rtp.close();
    this.rtcp.close();
  }

  private async start(localAddress: string): Promise<void> {
    const described = await this.client.request(
      'DESCRIBE',
      this.url,
      { Accept: 'application/sdp' },
      REQUEST_TIMEOUT_MS,
    );
    if (described.status !== 200) throw new Error(`DESCRIBE ${this.url}: ${described.status} ${described.reason}`);
    const sdp = parseSdp(described.body.toString('utf8'));
    if (!sdp.ok) throw new Error(`DESCRIBE ${this.url}: unreadable SDP (${sdp.reason})`);
    const control = sdp.value.media[0]?.attributes.get('control') ?? '';
    const base = header(described, 'content-base') ?? header(described, 'content-location') ?? this.url;
    const track = /^rtsp:\/\//i.test(control)
      ? control
      : control === '' || control === '*'
        ? base
        : `${base.replace(/\/?$/, '/')}${control}`;
    const setup = await this.client.request(
      'SETUP',
      track,
      { Transport: `RTP/AVP;unicast;client_port=${this.rtpPort}-${this.rtpPort + 1}` },
      REQUEST_TIMEOUT_MS,
    );
    if (setup.status !== 200) throw new Error(`SETUP ${track}: ${setup.status} ${setup.reason}`);
    this.client.session = (header(setup, 'session') ?? '').split(';')[0]?.trim() || null;
    const transport = parseTransport(header(setup, 'transport') ?? '');
    const serverRtcp = transport.ok ? transport.value[0]?.serverPort?.[1] : undefined;
    const play = await this.client.request('PLAY', this.url, { Range: 'npt=now-' }, REQUEST_TIMEOUT_MS);
    if (play.status !== 200) throw new Error(`PLAY ${this.url}: ${play.status} ${play.reason}`);
    if (serverRtcp !== undefined) {
      const ssrc = (Math.random() * 0x1_0000_0000) >>> 0;
      const rr = encodeRtcp([
        { type: 'rr', ssrc, reports: [] },
        { type: 'sdes', chunks: [{ ssrc, cname: `load@${localAddress}`, items: [] }] },
      ]);
      const host = new URL(this.url.replace(/^rtsp:/, 'http:')).hostname;
      // Spread over the interval, so hundreds of sessions opened together do not report in bursts.
      const first = setTimeout(() => {
        const send = (): void => {
          if (!this.closed) this.rtcp.send(rr, serverRtcp, host);
        };
        send();
        this.reports = setInterval(send, RECEIVER_REPORT_MS);
      }, Math.random() * RECEIVER_REPORT_MS);
      this.reports = first;
    }
  }

  private receive(buf: Buffer): void {
    const b0 = buf[0];
    const b1 = buf[1];
    if (buf.length < RTP_HEADER_BYTES || b0 === undefined || b1 === undefined || b0 >> 6 !== 2) {
      this.malformed++;
      return;
    }
    const seq = buf.readUInt16BE(2);
    if (this.maxSeq < 0) {
      this.maxSeq = this.baseSeq = seq;
    } else {
      const ahead = (seq - this.maxSeq) & 0xffff;
      // Less than half the sequence space ahead: newer (a wrap adds a cycle); otherwise late or duplicate.
      if (ahead !== 0 && ahead < 0x8000) {
        if (seq < this.maxSeq) this.cycles += 0x10000;
        this.maxSeq = seq;
      }
    }
    this.received++;
    this.bytes += buf.length;
    if ((b1 & 0x80) !== 0) {
      this.frames++;
      const ts = buf.readUInt32BE(4);
      // Unwrapped through the signed 32-bit difference from the previous frame's timestamp.
      if (this.lastTimestamp >= 0) this.timestampMs += ((ts - this.lastTimestamp) | 0) / 90;
      this.lastTimestamp = ts;
      const offset = performance.now() - this.timestampMs;
      if (offset < this.offsetMin) this.offsetMin = offset;
      if (offset > this.offsetMax) this.offsetMax = offset;
    }
  }
}

async function bindPair(address: string, port: number): Promise<[Socket, Socket]> {
  // Servers send RTCP to client_port + 1, so the pair must be consecutive; try a few even pairs.
  let lastError: unknown;
  for (let p = port - (port % 2), tries = 0; tries < 16 && p < 65534; p += 2, tries++) {
    try {
      const rtp = await bindUdp(address, p);
      try {
        return [rtp, await bindUdp(address, p + 1)];
      } catch (err) {
        rtp.close();
        throw err;
      }
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(
    `no free UDP port pair on ${address} from ${port}: ` +
      `${lastError instanceof Error ? lastError.message : String(lastError)}`,
  );
}

function bindUdp(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', recvBufferSize: RECEIVE_BUFFER_BYTES });
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
  });
}
