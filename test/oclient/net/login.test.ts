/**
 * Logging in with several bootstrappers: in order, the next one after a refusal, a failure or
 * LOGIN_FAILOVER_MS; one bootstrapper is asked as before. The socket cases bind loopback
 * ports: run under the e2e lock.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BootstrapUnreachable } from '../../../common/net/bootstrap-connection.ts';
import { encodeBootstrap } from '../../../common/wire/bootstrap.ts';
import {
  LOGIN_FAILOVER_MS,
  LOGIN_TIMEOUT_MS,
  login,
  type LoginTarget,
  loginFirst,
  type Welcome,
} from '../../../oclient/net/login.ts';

const WELCOME: Welcome = { pops: [{ name: 'p1', addresses: ['127.0.0.9'] }], catalogue: [], serverKeys: [] };
const A = { host: '127.0.0.1', port: 1 };
const B = { host: '127.0.0.2', port: 2 };
const C = { host: '127.0.0.3', port: 3 };

/** A fake attempt: records each call; `answers` says, per host, what happens. */
function fake(answers: Record<string, 'welcome' | 'refuse' | 'timeout'>) {
  const calls: string[] = [];
  const attempt = async (t: LoginTarget, timeoutMs: number, totalMs?: number): Promise<Welcome> => {
    calls.push(`${t.host} ${timeoutMs}/${totalMs ?? '-'}`);
    const a = answers[t.host];
    if (a === 'welcome') return WELCOME;
    throw new BootstrapUnreachable(a === 'refuse' ? 'the bootstrapper refused the login: busy' : 'no answer');
  };
  return { calls, attempt };
}

describe('loginFirst (fake attempts)', () => {
  it('takes the first bootstrapper that answers, in order, each given LOGIN_FAILOVER_MS in all', async () => {
    const f = fake({ '127.0.0.1': 'timeout', '127.0.0.2': 'refuse', '127.0.0.3': 'welcome' });
    const w = await loginFirst([A, B, C], undefined, f.attempt);
    expect(w.from).toEqual(C);
    expect(w.pops).toEqual(WELCOME.pops);
    expect(f.calls).toEqual([
      `127.0.0.1 ${LOGIN_FAILOVER_MS}/${LOGIN_FAILOVER_MS}`,
      `127.0.0.2 ${LOGIN_FAILOVER_MS}/${LOGIN_FAILOVER_MS}`,
      `127.0.0.3 ${LOGIN_FAILOVER_MS}/${LOGIN_FAILOVER_MS}`,
    ]);
    expect(LOGIN_FAILOVER_MS).toBeLessThan(1000 / 2); // two dead ones still cost under a second
  });

  it('stops at the first welcome', async () => {
    const f = fake({ '127.0.0.1': 'welcome', '127.0.0.2': 'welcome' });
    expect((await loginFirst([A, B], undefined, f.attempt)).from).toEqual(A);
    expect(f.calls).toHaveLength(1);
  });

  it('when none answers in time, asks each again with the full timeout, then says why each failed', async () => {
    const f = fake({ '127.0.0.1': 'timeout', '127.0.0.2': 'refuse' });
    const err = await loginFirst([A, B], undefined, f.attempt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BootstrapUnreachable);
    expect((err as Error).message).toContain('127.0.0.2:2: the bootstrapper refused the login: busy');
    expect(f.calls.slice(2)).toEqual([`127.0.0.1 ${LOGIN_TIMEOUT_MS}/-`, `127.0.0.2 ${LOGIN_TIMEOUT_MS}/-`]);
  });

  it('one bootstrapper: one attempt with the full timeout, its own error (as before)', async () => {
    const f = fake({ '127.0.0.1': 'refuse' });
    await expect(loginFirst([A], undefined, f.attempt)).rejects.toThrow('the bootstrapper refused the login: busy');
    expect(f.calls).toEqual([`127.0.0.1 ${LOGIN_TIMEOUT_MS}/-`]);
  });
});

describe('loginFirst on loopback sockets', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  /** A bootstrapper on an ephemeral port that welcomes logins, or accepts and never answers (stalled). */
  async function bootstrapper(kind: 'welcome' | 'stalled'): Promise<LoginTarget> {
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      if (kind === 'welcome')
        socket.once('data', () =>
          socket.end(encodeBootstrap({ type: 'welcome', ...WELCOME, pops: [...WELCOME.pops] })),
        );
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return { host: '127.0.0.1', port: address.port };
  }

  it('a stalled first bootstrapper costs LOGIN_FAILOVER_MS, then the second welcomes', async () => {
    const stalled = await bootstrapper('stalled');
    const live = await bootstrapper('welcome');
    const w = await loginFirst([stalled, live]);
    expect(w.from).toEqual(live);
    expect(w.pops[0]?.name).toBe('p1');
  });

  it('a dead first bootstrapper (nothing listening) is passed over at once', async () => {
    const gone = await bootstrapper('welcome');
    const live = await bootstrapper('welcome');
    await new Promise((r) => servers.shift()?.close(r));
    expect((await loginFirst([gone, live])).from).toEqual(live);
    await expect(login(gone.host, gone.port)).rejects.toThrow('connection refused');
  });
});
