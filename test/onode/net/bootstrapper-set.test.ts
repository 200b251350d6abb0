/**
 * A node's links to two real bootstrap servers on loopback (each its own Directory over the same
 * topology): it registers with both, a neighbour is lost only when both say it went, and telemetry
 * moves to the second when the first goes. Binds loopback ports: run under the e2e lock.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/net/logger.ts';
import { parseTopology } from '../../../onode/config/topology.ts';
import { Directory } from '../../../onode/core/directory.ts';
import { BootstrapServer } from '../../../onode/net/bootstrap-server.ts';
import { BootstrapperSet, type BootstrapperSetHandlers } from '../../../onode/net/bootstrapper-set.ts';

const PORT = 17971;
const topo = parseTopology(
  `{ bootstrapper: ['s1', 's2'], nodes: {
      s1: { role: 'server', addresses: ['127.0.97.1'] },
      s2: { role: 'server', addresses: ['127.0.97.2'] },
      n: { role: 'node', addresses: ['127.0.97.3'] },
      x: { role: 'node', addresses: ['127.0.97.4'] } },
    links: [ { between: ['s1', 'n'] }, { between: ['s2', 'n'] }, { between: ['n', 'x'] } ] }`,
  'set.json5',
);
const secret = randomBytes(32);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function bootstrapper(name: 's1' | 's2'): Promise<BootstrapServer> {
  const server = new BootstrapServer({
    directory: new Directory(topo, false, name),
    secret,
    addresses: topo.nodes.get(name)?.addresses ?? [],
    port: PORT,
    catalogue: () => [],
    log: silentLogger,
  });
  await server.start();
  server.registerSelf(name);
  cleanups.push(() => server.stop());
  return server;
}

/** A node's set of links to s1 and s2, from `address`, recording what it is told. */
function node(address: string) {
  const seen = { registered: 0, lost: [] as string[], sinkChanges: 0 };
  const set = new BootstrapperSet();
  const handlers: BootstrapperSetHandlers = {
    registered: () => {
      seen.registered++;
      return true;
    },
    lost: () => {},
    failed: () => {},
    neighbourLost: (name) => seen.lost.push(name),
    serverKey: () => {},
    time: () => {},
    sinkChanged: () => seen.sinkChanges++,
  };
  set.listen(handlers);
  const links = ['127.0.97.1', '127.0.97.2'].map((host) =>
    set.addLink({ host, port: PORT, localAddress: address, secret, log: silentLogger, counters: { badSeal: 0 } }),
  );
  set.startLinks();
  cleanups.push(() => set.stop());
  return { set, seen, links };
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('BootstrapperSet with two bootstrap servers', () => {
  it('registers with both; a neighbour is lost once both say it went; reports move to the second', async () => {
    const s1 = await bootstrapper('s1');
    const s2 = await bootstrapper('s2');
    const n = node('127.0.97.3');
    const x = node('127.0.97.4');
    await until(() => n.seen.registered === 2 && x.seen.registered === 2);
    expect(n.set.sink()).toBe(n.links[0]);
    expect(s1.counters.registrations).toBe(2);
    expect(s2.counters.registrations).toBe(2);

    // x loses its connection to s1 only: still up at s2, so n keeps it.
    x.links[0]?.stop();
    await new Promise((r) => setTimeout(r, 200)); // s1's notice that x went reaches n
    expect(n.seen.lost).toEqual([]);
    // x's process goes (its last connection closes): s2's word loses it.
    x.set.stop();
    await until(() => n.seen.lost.length > 0);
    expect(n.seen.lost).toEqual(['x']);

    // s1 goes: n's telemetry goes to s2 from now on, and the change is reported (the next report is full).
    const changes = n.seen.sinkChanges;
    await s1.stop();
    await until(() => n.set.sink() === n.links[1]);
    expect(n.seen.sinkChanges).toBe(changes + 1);
    // s1's own node never registered with s2 here, so s2 has no word on it: closing s1 loses nobody.
    expect(n.seen.lost).toEqual(['x']);
  });
});
