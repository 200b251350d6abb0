/**
 * start()/stop() of the node's listeners (GET /status and RTSP) on real loopback sockets:
 * concurrent starts listen once, a start that fails on its second address frees the first, stop
 * during a start or twice leaves nothing listening. Binds sockets: run under the e2e lock.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../common/core/clock.ts';
import { StartAbortedError } from '../../../common/core/lifecycle.ts';
import { silentLogger } from '../../../common/net/logger.ts';
import { RtspServer } from '../../../onode/net/rtsp-server.ts';
import { StatusHttp } from '../../../onode/net/status-http.ts';

const A = '127.0.96.1';
const B = '127.0.96.2';
const PORT = 17961;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

const kinds: [string, (addresses: string[]) => Startable][] = [
  ['StatusHttp', (addresses) => new StatusHttp(addresses, PORT, () => ({ ok: true }), 'token')],
  [
    'RtspServer',
    (addresses) =>
      new RtspServer(
        addresses,
        PORT,
        {
          clock: new SystemClock(),
          catalogue: () => [],
          join: () => {},
          leave: () => {},
          repair: () => [],
          latestFrame: () => [],
        },
        silentLogger,
      ),
  ],
];

function make(kind: (addresses: string[]) => Startable, addresses: string[]): Startable {
  const c = kind(addresses);
  cleanups.push(() => c.stop());
  return c;
}

function tcpFree(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(PORT, address, () => s.close(() => resolve(true)));
  });
}

async function occupy(address: string): Promise<Server> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(PORT, address, resolve));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

describe.each(kinds)('%s lifecycle', (_name, kind) => {
  it('concurrent starts listen once; stop twice closes once; a start after stop listens again', async () => {
    const c = make(kind, [A, B]);
    const first = c.start();
    expect(c.start()).toBe(first);
    await Promise.all([first, c.start()]);
    expect([await tcpFree(A), await tcpFree(B)]).toEqual([false, false]);
    await Promise.all([c.stop(), c.stop()]);
    await c.stop();
    expect([await tcpFree(A), await tcpFree(B)]).toEqual([true, true]);
    await c.start();
    expect(await tcpFree(A)).toBe(false);
  });

  it('a start that fails on its second address closes the first and rethrows', async () => {
    await occupy(B);
    const c = make(kind, [A, B]);
    await expect(c.start()).rejects.toThrow(`on ${B}:${PORT}`);
    expect(await tcpFree(A)).toBe(true);
    await c.stop();
  });

  it('stop during start leaves nothing listening', async () => {
    const c = make(kind, [A, B]);
    const started = c.start();
    await new Promise((r) => setImmediate(r));
    await c.stop();
    await started.catch((err: unknown) => expect(err).toBeInstanceOf(StartAbortedError));
    expect([await tcpFree(A), await tcpFree(B)]).toEqual([true, true]);
  });
});
