/**
 * NodeProcess's lifecycle on real loopback sockets: concurrent starts bind once, stop() during a
 * start or twice leaves nothing open, and a start that fails on a port in use releases every port
 * it had taken. Binds sockets: run under the e2e lock.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { StartAbortedError } from '../../../common/core/lifecycle.ts';
import { silentLogger } from '../../../common/net/logger.ts';
import { parseStatusReport } from '../../../common/wire/status-api.ts';
import { loopbackTopology, parseTopology } from '../../../onode/config/topology.ts';
import { NodeProcess, type NodeProcessOptions, type Ports } from '../../../onode/net/node-process.ts';

const S1 = '127.0.95.1';
const P1 = '127.0.95.2';
const PORTS: Ports = { bootstrap: 17951, overlay: 14951, status: 17952, rtsp: 18951 };
const TOPOLOGY = loopbackTopology(
  parseTopology(
    `{
      nodes: {
        s1: { role: 'server', addresses: ['10.0.95.1'] },
        p1: { role: 'pop', addresses: ['10.0.95.2'], clientAddresses: ['10.0.95.2'] },
      },
      links: [{ between: ['s1', 'p1'] }],
    }`,
    'node-process.test',
  ),
);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function bootstrapper(overrides: Partial<NodeProcessOptions> = {}): NodeProcess {
  const proc = new NodeProcess({
    role: 'server',
    topology: TOPOLOGY,
    address: S1,
    ports: PORTS,
    secret: randomBytes(32),
    log: silentLogger,
    ...overrides,
  });
  cleanups.push(() => proc.stop());
  return proc;
}

/** Whether a TCP listener can take address:port right now (it is let go at once). */
function tcpFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, address, () => s.close(() => resolve(true)));
  });
}

function udpFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, address, () => s.close(() => resolve(true)));
  });
}

/** Which of the bootstrapper's ports are free: all true once it has let everything go. */
async function s1PortsFree(): Promise<Record<string, boolean>> {
  return {
    bootstrap: await tcpFree(S1, PORTS.bootstrap),
    overlay: await udpFree(S1, PORTS.overlay),
    status: await tcpFree(S1, PORTS.status),
  };
}

const ALL_FREE = { bootstrap: true, overlay: true, status: true };

async function occupy(address: string, port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(port, address, resolve));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

describe('NodeProcess lifecycle', () => {
  it('two concurrent starts share one start and bind once; GET /status serves the one status type', async () => {
    const proc = bootstrapper();
    const first = proc.start();
    const second = proc.start();
    expect(second).toBe(first);
    await Promise.all([first, second]);
    await proc.start(); // started already: nothing more happens
    expect(proc.name).toBe('s1');
    expect(await s1PortsFree()).toEqual({ bootstrap: false, overlay: false, status: false });
    const json: unknown = await (await fetch(`http://${S1}:${PORTS.status}/status`)).json();
    const parsed = parseStatusReport(json);
    expect(parsed.ok).toBe(true);
    // The schema names every field the node writes: parsing drops nothing.
    expect(parsed.ok && parsed.value).toEqual(json);
    expect(json).toMatchObject({ name: 's1', role: 'server', registered: ['s1'], neighbours: [{ name: 'p1' }] });
  });

  it('stop twice (concurrently and again) releases every port once', async () => {
    const proc = bootstrapper();
    await proc.start();
    await Promise.all([proc.stop(), proc.stop()]);
    await proc.stop();
    expect(await s1PortsFree()).toEqual(ALL_FREE);
  });

  // Stopped before the start-up ran, while it binds, and later in it: each way nothing stays open.
  it.each([0, 1, 3, 10])('stop during start (after %i turns of the event loop) leaves no port open', async (turns) => {
    const proc = bootstrapper();
    const started = proc.start();
    for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
    const stopped = proc.stop();
    const outcome = await started.then(
      () => 'started',
      (err: unknown) => (err instanceof StartAbortedError ? 'aborted' : String(err)),
    );
    await stopped;
    // A start that had finished before stop() came resolves; otherwise it says it was stopped.
    expect(['started', 'aborted']).toContain(outcome);
    expect(await s1PortsFree()).toEqual(ALL_FREE);
  });

  it('a start that fails on a port in use releases the ports it had bound, and says which one', async () => {
    await occupy(S1, PORTS.status);
    const proc = bootstrapper();
    await expect(proc.start()).rejects.toThrow(`cannot listen for GET /status on ${S1}:${PORTS.status}`);
    expect({ bootstrap: await tcpFree(S1, PORTS.bootstrap), overlay: await udpFree(S1, PORTS.overlay) }).toEqual({
      bootstrap: true,
      overlay: true,
    });
    expect(proc.report()).toMatchObject({ name: 's1' }); // what it learnt stays readable
    await proc.stop(); // nothing left to release
  });

  it('a POP still waiting for its bootstrapper stops at once when asked, without registering', async () => {
    const pop = new NodeProcess({
      role: 'pop',
      bootstrapper: { host: S1, port: PORTS.bootstrap }, // nothing listens there
      address: P1,
      ports: PORTS,
      secret: randomBytes(32),
      log: silentLogger,
      waitMs: 60_000,
    });
    cleanups.push(() => pop.stop());
    const started = pop.start();
    await new Promise((r) => setTimeout(r, 50)); // a refused attempt or two, then the retry wait
    await pop.stop();
    await expect(started).rejects.toBeInstanceOf(StartAbortedError);
    expect(pop.report()).toMatchObject({ state: 'starting', name: null });
    expect({ overlay: await udpFree(P1, PORTS.overlay), status: await tcpFree(P1, PORTS.status) }).toEqual({
      overlay: true,
      status: true,
    });
  });
});
