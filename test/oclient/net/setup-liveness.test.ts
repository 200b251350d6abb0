/**
 * A POP that froze (SIGSTOP: its TCP connection open, nothing answered) while the client's SETUP
 * waited for its tree join is given up once it stops answering pings, not after SETUP's 10 s; a
 * POP still answering pings is waited for, however long its join takes.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeOverlay, encodeOverlay } from '../../../common/wire/overlay.ts';
import { PlaySession } from '../../../oclient/net/play-session.ts';
import { RtspClientError } from '../../../oclient/net/rtsp-client.ts';

const POP = '127.0.95.1';
const RTSP_PORT = 47_451;
const OVERLAY_PORT = 47_452;

/** A POP whose pings are answered while `answering` says so, and whose RTSP holds every request. */
class FakePop {
  answering = true;
  readonly requests: string[] = [];
  private readonly conns: TcpSocket[] = [];
  private constructor(
    private readonly udp: Socket,
    private readonly tcp: Server,
  ) {}

  static async start(): Promise<FakePop> {
    const udp = createSocket('udp4');
    const tcp = createServer();
    const pop = new FakePop(udp, tcp);
    udp.on('message', (buf, rinfo) => {
      const d = decodeOverlay(buf);
      if (!pop.answering || !d.ok || d.value.message.type !== 'ping') return;
      const { id, sentAt } = d.value.message;
      udp.send(encodeOverlay('p1', { type: 'pong', id, sentAt, node: 'p1' }), rinfo.port, rinfo.address);
    });
    tcp.on('connection', (c) => {
      pop.conns.push(c);
      c.on('data', (b) => pop.requests.push(b.toString('latin1')));
      c.on('error', () => {});
    });
    await new Promise<void>((resolve) => udp.bind(OVERLAY_PORT, POP, () => resolve()));
    await new Promise<void>((resolve) => tcp.listen(RTSP_PORT, POP, () => resolve()));
    return pop;
  }

  /** Answers the SETUP held so far with 200. */
  answerSetup(): void {
    const cseq = /CSeq: (\d+)/i.exec(this.requests.join(''))?.[1];
    const reply = `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nSession: 12345678\r\nTransport: RTP/AVP;unicast\r\n\r\n`;
    this.conns[0]?.write(reply);
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    this.udp.close();
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }
}

function session(answersPings = true): PlaySession {
  return new PlaySession({
    popAddress: POP,
    rtspPort: RTSP_PORT,
    movie: 'bars.mjpeg',
    localAddress: '127.0.0.1',
    transport: 'tcp',
    reportIntervalMs: 0,
    liveness: { overlayPort: OVERLAY_PORT, silentMs: 500, answersPings },
  });
}

describe('SETUP against a POP that freezes', () => {
  let pop: FakePop | null = null;
  let s: PlaySession | null = null;
  afterEach(async () => {
    s?.close();
    s = null;
    await pop?.stop();
    pop = null;
  });

  it('gives the POP up once it stops answering pings, naming why', async () => {
    pop = await FakePop.start();
    s = session();
    const started = performance.now();
    const setup = s.setup();
    await new Promise((r) => setTimeout(r, 700));
    pop.answering = false; // frozen while its join goes on
    const err = await setup.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RtspClientError);
    expect((err as Error).message).toMatch(/answered no ping for \d+ ms while SETUP waited/);
    expect(performance.now() - started).toBeLessThan(5000);
  }, 15_000);

  it('waits for a POP that answers pings, however long its join takes', async () => {
    pop = await FakePop.start();
    s = session();
    const setup = s.setup();
    await new Promise((r) => setTimeout(r, 2000));
    expect(pop.requests.join('')).toMatch(/^SETUP /m);
    pop.answerSetup();
    await expect(setup).resolves.toBeUndefined();
  }, 15_000);

  it('does not count silence from a POP that never answered pings (its probe went unanswered too)', async () => {
    pop = await FakePop.start();
    pop.answering = false;
    s = session(false);
    const setup = s.setup();
    await new Promise((r) => setTimeout(r, 1500));
    pop.answerSetup();
    await expect(setup).resolves.toBeUndefined();
  }, 15_000);
});
