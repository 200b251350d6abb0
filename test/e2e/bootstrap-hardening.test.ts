/**
 * The bootstrapper under attack, with real processes on loopback (the report's topology): an
 * impostor at a node's address without the overlay secret, thousands of idle connections, and the
 * servers' signing keys as a client and every node receive them.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootstrapConnection, BootstrapUnreachable } from '../../common/net/bootstrap-connection.ts';
import { keyIdOf } from '../../common/security/server-keyring.ts';
import type { BootstrapMessage } from '../../common/wire/bootstrap.ts';
import { MAX_PENDING, MAX_PENDING_PER_ADDRESS, WRONG_SECRET } from '../../onode/core/bootstrap-desk.ts';
import { Registrant } from '../../onode/core/registrant.ts';
import { login } from '../../oclient/net/login.ts';
import { ONODE, ROOT, suiteRun } from './loopback-harness.ts';

/** Ports no other e2e file uses. */
const PORTS = { bootstrap: 17340, overlay: 14740, status: 17440, rtsp: 18740 };
const FLOOD_ADDRESSES = 200;
const FLOOD_PER_ADDRESS = 15;
const FLOOD_BATCH = 200;

const run = suiteRun(join(ROOT, 'topologies/report.json5'), PORTS, { frames: 20 });

/** The bootstrapper's counters this file reads, 0 when absent. */
function bootCounters(c: Readonly<Record<string, number>> = {}) {
  const n = (k: string): number => c[k] ?? 0;
  return {
    registrations: n('registrations'),
    badProof: n('badProof'),
    evicted: n('evicted'),
    pending: n('pending'),
    timedOut: n('timedOut'),
  };
}
type BootCounters = ReturnType<typeof bootCounters>;

async function bootstrapper(): Promise<{ counters: BootCounters; registered: readonly string[]; pid: number }> {
  const st = await run.status('s1');
  return { counters: bootCounters(st.counters?.bootstrapper), registered: st.registered ?? [], pid: st.pid };
}

function target(localAddress: string): { host: string; port: number; localAddress: string } {
  return { host: run.address('s1'), port: PORTS.bootstrap, localAddress };
}

/** Every message the bootstrapper sends on one handshake attempt, until it hangs up. */
async function attempt(localAddress: string, me: Registrant): Promise<BootstrapMessage[]> {
  const conn = await BootstrapConnection.open(target(localAddress));
  const got: BootstrapMessage[] = [];
  try {
    conn.send(me.register());
    for (;;) {
      const msg = await conn.next(3000);
      got.push(msg);
      if (msg.type === 'challenge') conn.send(me.prove(msg));
      if (msg.type === 'sealed' || msg.type === 'error') break;
    }
    // After an error the bootstrapper hangs up; after `registered` we do.
    if (got.at(-1)?.type === 'error') await expect(conn.next(3000)).rejects.toThrow(BootstrapUnreachable);
  } finally {
    conn.close();
  }
  return got;
}

/**
 * Opens connections, FLOOD_BATCH at a time (more at once overflow the listen backlog and wait for
 * SYN retransmits), each resolved once connected or failed; they stay open and idle.
 */
async function openIdle(addresses: readonly string[]): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < addresses.length; i += FLOOD_BATCH) {
    const batch = addresses.slice(i, i + FLOOD_BATCH).map(
      (localAddress) =>
        new Promise<Socket>((resolve) => {
          const s = connect({ host: run.address('s1'), port: PORTS.bootstrap, localAddress });
          s.on('error', () => {});
          s.once('connect', () => resolve(s));
          s.once('close', () => resolve(s));
        }),
    );
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('bootstrapper hardening on loopback', () => {
  it("an impostor at o4's address without the secret is refused; o4 stays, no neighbour leaks", async () => {
    const before = await bootstrapper();
    expect(before.registered).toContain('o4');
    const impostor = new Registrant(Buffer.from('not the overlay secret of this run'), 4242);
    const got = await attempt(run.address('o4'), impostor);
    expect(got.map((m) => m.type)).toEqual(['challenge', 'error']);
    expect(got[0]).toMatchObject({ type: 'challenge', name: 'o4' });
    expect(got[1]).toEqual({ type: 'error', reason: 'bad-proof', detail: WRONG_SECRET });
    expect(JSON.stringify(got)).not.toMatch(/neighbours|10\.0\.|127\.0\.26\.2/);

    const after = await bootstrapper();
    expect(after.counters.badProof).toBe(before.counters.badProof + 1);
    expect(after.counters.registrations).toBe(before.counters.registrations);
    expect(after.registered).toEqual(before.registered);
    // o4 never lost its connection, and its neighbours never heard it go.
    expect(run.lines.filter((l) => l.startsWith('[o4]') && l.includes('lost the bootstrapper'))).toEqual([]);
    expect(run.lines.filter((l) => l.includes('o4 is gone'))).toEqual([]);
    const refusal = `refused o4 from ${run.address('o4')}: ${WRONG_SECRET}`;
    expect(run.lines.some((l) => l.startsWith('[s1]') && l.includes(refusal))).toBe(true);
    const o4 = await run.status('o4');
    expect((o4.neighbours ?? []).every((n) => n.alive)).toBe(true);
  });

  it('a node started with another secret stops with a clear message; the real one is untouched', async () => {
    const before = await bootstrapper();
    const child = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          ONODE,
          'node',
          '--bootstrapper',
          `${run.address('s1')}:${PORTS.bootstrap}`,
          '--address',
          run.address('o8'),
          '--overlay-port',
          String(PORTS.overlay),
          '--status-port',
          String(PORTS.status),
          '--wait',
          '5',
        ],
        { timeout: 20_000, env: { ...process.env, ONODE_SECRET: 'a secret of another overlay entirely' } },
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(child.code).toBe(2);
    expect(child.stderr).toContain(`the bootstrapper refused o8: ${WRONG_SECRET}`);
    const after = await bootstrapper();
    expect(after.counters.badProof).toBe(before.counters.badProof + 1);
    expect(after.registered).toContain('o8');
  });

  it("a client's welcome carries every server's signing key, the same keys every node holds", async () => {
    const welcome = await login(run.address('s1'), PORTS.bootstrap, '127.0.6.21');
    const keyId = (key: string): string => keyIdOf(Buffer.from(key, 'base64')).toString('hex');
    const fromWelcome = welcome.serverKeys.map((k) => ({ server: k.server, keyId: keyId(k.key) }));
    expect(fromWelcome.map((k) => k.server)).toEqual(['s1', 's2']);
    // Each key is the one its server signs with.
    for (const { server, keyId } of fromWelcome) expect((await run.status(server)).signingKeyId).toBe(keyId);
    for (const name of run.topology.nodes.keys()) {
      const st = await run.status(name);
      expect(st.serverKeys, name).toEqual(fromWelcome);
    }
  });

  it('idle connections from many addresses never lock out a login or a registration', async () => {
    // One address: only MAX_PENDING_PER_ADDRESS of its idle connections stay open.
    const one = await openIdle(Array.from({ length: 100 }, () => '127.0.97.1'));
    const open = (): number => one.filter((s) => !s.destroyed && !s.readableEnded).length;
    expect(await until(() => open() <= MAX_PENDING_PER_ADDRESS, 3000)).toBe(true);
    expect(open()).toBe(MAX_PENDING_PER_ADDRESS);
    for (const s of one) s.destroy();

    const before = await bootstrapper();
    const fdsBefore = readdirSync(`/proc/${before.pid}/fd`).length;
    const addresses = Array.from(
      { length: FLOOD_ADDRESSES * FLOOD_PER_ADDRESS },
      (_, i) => `127.0.99.${1 + (i % FLOOD_ADDRESSES)}`,
    );
    const started = performance.now();
    const flood = await openIdle(addresses);
    const floodMs = performance.now() - started;
    try {
      // A client logs in while the flood is held open.
      const t0 = performance.now();
      const welcome = await login(run.address('s1'), PORTS.bootstrap, '127.0.98.1');
      const loginMs = performance.now() - t0;
      expect(welcome.pops.map((p) => p.name)).toEqual(['o5', 'o6', 'o7']);

      // A node proves its identity and registers (the run's secret, o9's address): it displaces the
      // running o9, which must re-register on its own afterwards.
      const t1 = performance.now();
      const me = new Registrant(Buffer.from(run.emulator.secret, 'utf8'), process.pid);
      const got = await attempt(run.address('o9'), me);
      const registerMs = performance.now() - t1;
      const last = got.at(-1);
      expect(last?.type).toBe('sealed');
      const opened = last?.type === 'sealed' ? me.open(last) : null;
      expect(opened?.ok && opened.value.type === 'registered' && opened.value.name).toBe('o9');

      // Connections the kernel completed may still wait in the accept queue: let the bootstrapper take them all.
      const b = before.counters;
      const closed = (c: BootCounters): number => c.evicted + c.timedOut - b.evicted - b.timedOut;
      let during = await bootstrapper();
      await until(async () => {
        during = await bootstrapper();
        return closed(during.counters) >= addresses.length - MAX_PENDING;
      }, 5000);
      const fdsDuring = readdirSync(`/proc/${during.pid}/fd`).length;
      expect(during.counters.pending).toBeLessThanOrEqual(MAX_PENDING);
      expect(closed(during.counters)).toBeGreaterThanOrEqual(addresses.length - MAX_PENDING);
      expect(fdsDuring - fdsBefore).toBeLessThanOrEqual(MAX_PENDING + 8);
      console.log(
        `flood of ${addresses.length} idle connections opened in ${Math.round(floodMs)} ms; ` +
          `login ${loginMs.toFixed(1)} ms, registration ${registerMs.toFixed(1)} ms; ` +
          `bootstrapper fds ${fdsBefore} → ${fdsDuring}; ` +
          `evicted ${during.counters.evicted - before.counters.evicted}, pending ${during.counters.pending}`,
      );
    } finally {
      for (const s of flood) s.destroy();
    }
    // The real o9 comes back by itself.
    const back = (): boolean => run.lines.some((l) => l.startsWith('[o9]') && l.includes('re-registered'));
    expect(await until(back, 10_000)).toBe(true);
    expect([...(await bootstrapper()).registered].sort()).toEqual([...run.topology.nodes.keys()].sort());
  }, 60_000);
});
