import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import {
  MAX_CONNECTIONS_PER_ADDRESS,
  REPORT_BUILDS_PER_WINDOW,
  REPORT_WINDOW_MS,
  REQUEST_TIMEOUT_MS,
  StatusHttp,
} from '../../../onode/net/status-http.ts';
import type { FaultsRequest } from '../../../common/wire/ops-api.ts';

const HOST = '127.0.93.1';
const PORT = 17_981;
const TOKEN = 'a'.repeat(64);
const URL_FAULTS = `http://${HOST}:${PORT}/faults`;

describe('StatusHttp: the operations API', () => {
  let http: StatusHttp | null = null;
  const calls: FaultsRequest[] = [];

  async function start(): Promise<void> {
    http = new StatusHttp(
      [HOST],
      PORT,
      () => ({ name: 'o4', role: 'node', pid: 1 }),
      TOKEN,
      (body) => {
        calls.push(body);
        return { status: 200, body: { name: 'o4', cut: body.cut ?? [] } };
      },
    );
    await http.start();
  }

  afterEach(async () => {
    await http?.stop();
    http = null;
    calls.length = 0;
  });

  const post = (headers: Record<string, string>, body: string): Promise<Response> =>
    fetch(URL_FAULTS, { method: 'POST', headers, body });

  it('serves GET /status to anyone, without CORS headers', async () => {
    await start();
    const res = await fetch(`http://${HOST}:${PORT}/status`, { headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: 'o4', role: 'node', pid: 1 });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses POST /faults without the token, with a wrong token, or without a JSON content type', async () => {
    await start();
    const body = JSON.stringify({ cut: ['o3'] });
    expect((await post({ 'content-type': 'application/json' }, body)).status).toBe(401);
    expect(
      (await post({ 'content-type': 'application/json', authorization: `Bearer ${'b'.repeat(64)}` }, body)).status,
    ).toBe(401);
    expect(
      (await post({ 'content-type': 'application/json', authorization: `Bearer ${TOKEN.slice(1)}` }, body)).status,
    ).toBe(401);
    // A cross-site form or fetch without preflight can only send text/plain or form types.
    expect((await post({ 'content-type': 'text/plain', authorization: `Bearer ${TOKEN}` }, body)).status).toBe(415);
    expect(calls).toEqual([]);
    expect(http?.counters.unauthorized).toBe(3);
  });

  it('validates the body against the schema and names the field', async () => {
    await start();
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
    const bad = await post(auth, JSON.stringify({ cut: 'o3' }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/cut/);
    expect((await post(auth, JSON.stringify({ cut: ['o3'], role: 'banana' }))).status).toBe(400);
    expect((await post(auth, '{not json')).status).toBe(400);
    expect((await post(auth, JSON.stringify({ cut: ['x'.repeat(5000)] }))).status).toBe(413);
    expect(calls).toEqual([]);
    const ok = await post(auth, JSON.stringify({ cut: ['o3'] }));
    expect(ok.status).toBe(200);
    expect(calls).toEqual([{ cut: ['o3'] }]);
  });

  it('answers a CORS preflight and other methods without allowing anything', async () => {
    await start();
    const pre = await fetch(URL_FAULTS, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(405);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect((await fetch(URL_FAULTS)).status).toBe(405);
  });

  const burstTitle = `builds a fresh report for each read, and past ${
    REPORT_BUILDS_PER_WINDOW
  } per window serves the last one`;
  it(burstTitle, async () => {
    let builds = 0;
    let now = 0;
    http = new StatusHttp(
      [HOST],
      PORT,
      () => ({ builds: ++builds }),
      TOKEN,
      null,
      () => now,
    );
    await http.start();
    const read = async () => (await (await fetch(`http://${HOST}:${PORT}/status`)).json()) as { builds: number };
    expect(await read()).toEqual({ builds: 1 });
    expect(await read()).toEqual({ builds: 2 });
    const burst = await Promise.all(Array.from({ length: 3 * REPORT_BUILDS_PER_WINDOW }, read));
    expect(builds).toBe(REPORT_BUILDS_PER_WINDOW);
    expect(burst.filter((b) => b.builds === REPORT_BUILDS_PER_WINDOW).length).toBeGreaterThan(REPORT_BUILDS_PER_WINDOW);
    now += REPORT_WINDOW_MS;
    expect(await read()).toEqual({ builds: REPORT_BUILDS_PER_WINDOW + 1 });
  });

  it('counts GET /status, a JSON route and the report other routes read against one build budget', async () => {
    let reports = 0;
    let views = 0;
    const now = 0;
    http = new StatusHttp(
      [HOST],
      PORT,
      () => ({ reports: ++reports }),
      TOKEN,
      null,
      () => now,
    );
    http.addJsonRoute('/view', () => ({ views: ++views }));
    await http.start();
    const get = async (path: string) => (await fetch(`http://${HOST}:${PORT}${path}`)).json();
    for (let i = 0; i < 2 * REPORT_BUILDS_PER_WINDOW; i++) {
      await get('/status');
      await get('/view');
      http.latestReport();
    }
    expect(reports + views).toBe(REPORT_BUILDS_PER_WINDOW);
    expect(await get('/view')).toEqual({ views });
  });

  it('frees the slots of connections that pipeline requests and never read the answers', async () => {
    // A large report, so the answers fill the socket buffers and the server can make no progress.
    const big = { blob: 'x'.repeat(200_000) };
    http = new StatusHttp([HOST], PORT, () => big, TOKEN);
    await http.start();
    const from = '127.0.93.8';
    const open = (): Promise<Socket> =>
      new Promise((resolve) => {
        const s = connect({ host: HOST, port: PORT, localAddress: from }, () => resolve(s));
        s.on('error', () => {});
      });
    const stalled = await Promise.all(Array.from({ length: MAX_CONNECTIONS_PER_ADDRESS }, open));
    for (const s of stalled) {
      s.pause();
      s.write('GET /status HTTP/1.1\r\nhost: x\r\n\r\n'.repeat(200));
    }
    /** Whether a new connection from the same address gets an answer (the address's slots are free). */
    const answered = async (): Promise<boolean> => {
      const s = await open();
      s.write('GET /status HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
      return new Promise((resolve) => {
        s.once('data', (b: Buffer) => resolve(b.toString().startsWith('HTTP/1.1 200')));
        s.once('close', () => resolve(false));
      }).finally(() => s.destroy()) as Promise<boolean>;
    };
    const deadline = Date.now() + 3 * REQUEST_TIMEOUT_MS;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      ok = await answered();
      if (!ok) await new Promise((r) => setTimeout(r, 500));
    }
    for (const s of stalled) s.destroy();
    expect(ok).toBe(true);
  }, 30_000);

  it(`closes an address's connections past ${MAX_CONNECTIONS_PER_ADDRESS}; others still get answers`, async () => {
    await start();
    const sockets = await Promise.all(
      Array.from(
        { length: MAX_CONNECTIONS_PER_ADDRESS + 2 },
        () =>
          new Promise<Socket>((resolve) => {
            const s = connect({ host: HOST, port: PORT, localAddress: '127.0.93.7' }, () => resolve(s));
            s.on('error', () => {});
          }),
      ),
    );
    const closed = await Promise.all(
      sockets.map(
        (s) =>
          new Promise<boolean>((resolve) => {
            if (s.destroyed) return resolve(true);
            s.once('close', () => resolve(true));
            setTimeout(() => resolve(false), 300);
          }),
      ),
    );
    expect(closed.filter(Boolean)).toHaveLength(2);
    expect(http?.counters.refusedConnections).toBe(2);
    expect((await fetch(`http://${HOST}:${PORT}/status`)).status).toBe(200);
    for (const s of sockets) s.destroy();
  });

  it('start and stop are idempotent', async () => {
    await start();
    await http?.start();
    await http?.stop();
    await http?.stop();
  });
});
