/**
 * NodeProcess.referenceClock() on real loopback sockets: a server that registers measures the
 * bootstrapper's clock over its registration; the bootstrapper's own server is the reference.
 * Both run in this process, on one clock, so the two reference clocks must agree within the
 * error bound, under 1 ms. Binds sockets: run under the e2e lock.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/net/logger.ts';
import { loopbackTopology, parseTopology } from '../../../onode/config/topology.ts';
import { NodeProcess, type Ports } from '../../../onode/net/node-process.ts';

const S1 = '127.0.96.1';
const S2 = '127.0.96.2';
const PORTS: Ports = { bootstrap: 17961, overlay: 14961, status: 17962, rtsp: 18961 };
const TOPOLOGY = loopbackTopology(
  parseTopology(
    `{
      nodes: {
        s1: { role: 'server', addresses: ['10.0.96.1'] },
        s2: { role: 'server', addresses: ['10.0.96.2'] },
      },
      links: [{ between: ['s1', 's2'] }],
    }`,
    'node-time-sync.test',
  ),
);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function start(proc: NodeProcess): Promise<void> {
  cleanups.push(() => proc.stop());
  return proc.start();
}

describe('NodeProcess: the reference clock', () => {
  it('a server syncs to the bootstrapper within 1 ms; the bootstrapper is the reference', async () => {
    const secret = randomBytes(32);
    const common = { role: 'server', ports: PORTS, secret, log: silentLogger } as const;
    const s1 = new NodeProcess({ ...common, topology: TOPOLOGY, address: S1 });
    await start(s1);
    const s2 = new NodeProcess({ ...common, address: S2, bootstrapper: { host: S1, port: PORTS.bootstrap } });
    await start(s2);
    const self = s1.referenceClock();
    expect(self).toMatchObject({ synced: true, offsetMs: 0, errorMs: 0 });
    const ref = s2.referenceClock();
    if (ref === null || self === null) throw new Error('no reference clock on a server');
    // The burst takes under a second; a busy machine may need a few more samples to get under 1 ms.
    const deadline = Date.now() + 15_000;
    while (!(ref.synced && ref.errorMs < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(ref.synced).toBe(true);
    expect(ref.errorMs).toBeLessThan(1);
    // One host, one clock: the estimate of the bootstrapper's time is its time, within the bound.
    const a = self.now();
    const b = ref.now();
    const c = self.now();
    expect(Math.abs(b - (a + c) / 2)).toBeLessThanOrEqual(ref.errorMs + (c - a) / 2);
    expect(Math.abs(ref.offsetMs)).toBeLessThan(1);
    // The reference is ms since 1970.
    expect(Math.abs(b - Date.now())).toBeLessThan(1000);
    expect(s2.report().clock).toMatchObject({ reference: 'bootstrapper', synced: true });
    expect(s1.report().counters?.bootstrapper?.timeAnswered ?? 0).toBeGreaterThan(0);
  });
});
