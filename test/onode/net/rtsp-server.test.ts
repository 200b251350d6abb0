/**
 * The RTSP adapter on real loopback sockets, with a stub overlay: connection caps at accept,
 * the idle timeout, replies nobody reads, the bounded queue of a TCP viewer that does not read,
 * and UDP send errors reported late. Binds sockets: run under the e2e lock.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../common/core/clock.ts';
import { silentLogger } from '../../../common/net/logger.ts';
import type { MovieInfo } from '../../../common/wire/overlay.ts';
import { encodeRtp } from '../../../common/wire/rtp.ts';
import { MAX_CONNECTIONS_PER_ADDRESS } from '../../../onode/core/rtsp-connections.ts';
import { SEND_QUEUE_LIMIT_BYTES } from '../../../onode/core/rtsp-send-gate.ts';
import { MAX_SEND_FAILURES, SEND_CHECK_INTERVAL } from '../../../onode/core/rtsp-viewer.ts';
import type { LocalReceiver } from '../../../onode/core/stream-tree.ts';
import { type RtspServerOptions, RtspServer } from '../../../onode/net/rtsp-server.ts';
import { RtspClient } from '../../../oclient/net/rtsp-client.ts';

const HOST = '127.0.77.1';
const PORT = 18777;
const URL = `rtsp://${HOST}:${PORT}/bars.mjpeg`;
const MOVIE: MovieInfo = { name: 'bars.mjpeg', fps: 25, width: 320, height: 240, frames: 100 };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(options: RtspServerOptions = {}) {
  const receivers = new Map<string, LocalReceiver>();
  const server = new RtspServer(
    [HOST],
    PORT,
    {
      clock: new SystemClock(),
      catalogue: () => [MOVIE],
      join: (_m, id, r) => {
        receivers.set(id, r);
        r.joined();
      },
      leave: (_m, id) => receivers.delete(id),
      repair: () => [],
      latestFrame: () => [],
    },
    silentLogger,
    options,
  );
  await server.start();
  cleanups.push(() => server.stop());
  /** What the stream tree does with each packet. */
  const distribute = (packet: Buffer): void => {
    for (const r of [...receivers.values()]) r.deliver(packet);
  };
  return { server, distribute, receivers };
}

function frame(seq: number, packets: number, bytes: number): Buffer[] {
  return Array.from({ length: packets }, (_, i) =>
    encodeRtp({
      marker: i === packets - 1,
      payloadType: 26,
      sequenceNumber: (seq + i) & 0xffff,
      timestamp: seq * 3600,
      ssrc: 7,
      csrcs: [],
      payload: Buffer.alloc(bytes, i),
    }),
  );
}

async function client(localAddress: string): Promise<RtspClient> {
  const c = await RtspClient.open(HOST, PORT, localAddress);
  cleanups.push(() => c.close());
  return c;
}

/** A raw TCP connection; resolves once connected, `closed` settles when the server drops it. */
function rawConnection(localAddress: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port: PORT, localAddress });
    cleanups.push(() => socket.destroy());
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

async function udpReceiver(address: string, port: number): Promise<{ socket: UdpSocket; count: () => number }> {
  const socket = createSocket('udp4');
  let n = 0;
  socket.on('message', () => n++);
  await new Promise<void>((r) => socket.bind(port, address, () => r()));
  cleanups.push(() => socket.close());
  return { socket, count: () => n };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await settle(20);
  }
}

describe('RtspServer on loopback', () => {
  it('resets connections over the per-address cap at accept, and serves other addresses', async () => {
    const { server } = await startServer();
    const extra = 8;
    const attempts = MAX_CONNECTIONS_PER_ADDRESS + extra;
    const conns = await Promise.all(Array.from({ length: attempts }, () => rawConnection('127.0.77.10')));
    let dropped = 0;
    for (const c of conns) void c.closed.then(() => dropped++);
    await until('the server to drop the extra connections', () => dropped >= extra);
    await settle(200);
    expect(dropped).toBe(extra);
    expect(server.report().connections).toMatchObject({ open: MAX_CONNECTIONS_PER_ADDRESS, refusedPerAddress: extra });
    const other = await client('127.0.77.11');
    expect((await other.request('OPTIONS', '*')).status).toBe(200);
  });

  it('closes a connection that holds no session after the idle timeout, not one with a session', async () => {
    const { server } = await startServer({ connections: { idleTimeoutMs: 300 } });
    const idle = await rawConnection('127.0.77.20');
    const viewer = await client('127.0.77.21');
    const setup = await viewer.request('SETUP', URL, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
    expect(setup.status).toBe(200);
    await Promise.race([idle.closed, settle(3000)]);
    expect(idle.socket.destroyed).toBe(true);
    await settle(800);
    expect((await viewer.request('OPTIONS', '*')).status).toBe(200);
    expect(server.report().connections.idleClosed).toBe(1);
  });

  it('cuts a client that pipelines requests without reading the replies', async () => {
    const { server } = await startServer();
    const { socket, closed } = await rawConnection('127.0.77.30');
    socket.pause();
    const chunk = Buffer.from('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n'.repeat(2000));
    let written = 0;
    let gone = false;
    void closed.then(() => {
      gone = true;
    });
    // At most 64 MB of requests; the replies stop being accepted long before.
    while (!gone && written < 64 * 1024 * 1024) {
      if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
      written += chunk.length;
    }
    await Promise.race([closed, settle(5000)]);
    expect(gone).toBe(true);
    expect(server.report().connections.replyBacklogClosed).toBe(1);
  });

  it('drops frames for a TCP viewer that does not read, instead of queueing them', async () => {
    const { server, distribute } = await startServer();
    const { socket } = await rawConnection('127.0.77.40');
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    socket.write(`SETUP ${URL} RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`);
    await until('the SETUP reply', () => /Session: ([0-9A-F]+)/.test(text));
    const id = /Session: ([0-9A-F]+)/.exec(text)?.[1] ?? '';
    socket.write(`PLAY ${URL} RTSP/1.0\r\nCSeq: 2\r\nSession: ${id}\r\n\r\n`);
    await until('the PLAY reply', () => text.includes('CSeq: 2'));
    socket.pause(); // from here on, nothing is read
    // 40 MB of frames (8 packets of 1200 bytes each), far more than the kernel's buffers hold.
    for (let f = 0; f < 4000; f++) {
      for (const p of frame(f * 8, 8, 1200)) distribute(p);
      if (f % 100 === 99) await settle(5);
    }
    const [s] = server.sessions.list();
    expect(s?.framesDropped).toBeGreaterThan(1000);
    // What was queued is bounded by the limit plus one frame, not by what was offered.
    const sockets = (server as unknown as { sockets: Map<number, Socket> }).sockets;
    const queued = sockets.values().next().value?.writableLength ?? 0;
    expect(queued).toBeLessThanOrEqual(SEND_QUEUE_LIMIT_BYTES + 8 * 1300);
    expect(server.report()).toMatchObject({ framesDropped: s?.framesDropped });
  });

  it('closes a UDP session whose sends keep failing, and another viewer keeps receiving', async () => {
    const { server, distribute, receivers } = await startServer();
    const good = await udpReceiver('127.0.77.51', 40_000);
    await udpReceiver('127.0.77.51', 40_001);
    for (const address of ['127.0.77.50', '127.0.77.51']) {
      const c = await client(address);
      const r = await c.request('SETUP', URL, { Transport: 'RTP/AVP;unicast;client_port=40000-40001' });
      expect(r.status).toBe(200);
      c.session = (r.headers.get('session') ?? '').split(';')[0] ?? null;
      expect((await c.request('PLAY', URL)).status).toBe(200);
    }
    const [failing, healthy] = server.sessions.list();
    expect(failing?.client).toBe('127.0.77.50');
    // Too big for a datagram: the send fails after the call returns (EMSGSIZE, in dgram's callback).
    const [header] = frame(1, 1, 0);
    const huge = Buffer.concat([header!, Buffer.alloc(70_000)]);
    const failingReceiver = receivers.get(failing?.viewer ?? '');
    for (let i = 0; i < MAX_SEND_FAILURES * SEND_CHECK_INTERVAL; i++) failingReceiver?.deliver(huge);
    await until('the failing session to close', () => server.sessions.list().length === 1);
    expect(server.sessions.list()).toEqual([healthy]);
    expect(server.report()).toMatchObject({ sendErrors: MAX_SEND_FAILURES, sessionsFailed: 1 });
    for (const p of frame(100, 4, 1000)) distribute(p);
    await until('the other viewer to receive', () => good.count() >= 4);
  });
});
