/**
 * The dashboard's routes on a real StatusHttp (loopback sockets: run under the e2e lock): the page
 * and its assets, /overlay and /viewers against their schemas, and /feed: a state on connect, an
 * update soon after a change, and a connection that outlives the server's 5 s socket timeout.
 */
import { request } from 'node:http';
import * as v from 'valibot';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../common/core/clock.ts';
import { DashboardStateSchema } from '../../../common/wire/dashboard-api.ts';
import { ViewersReportSchema } from '../../../common/wire/status-api.ts';
import { TelemetryStore } from '../../../onode/core/telemetry-store.ts';
import { DashboardHttp, MAX_FEED_CLIENTS, MAX_FEED_CLIENTS_PER_ADDRESS } from '../../../onode/net/dashboard-http.ts';
import { REQUEST_TIMEOUT_MS, StatusHttp } from '../../../onode/net/status-http.ts';

const HOST = '127.0.94.1';
const PORT = 17_982;
const BASE = `http://${HOST}:${PORT}`;
const TOPO = {
  bootstrapper: 's',
  nodes: [
    { name: 's', role: 'server' as const },
    { name: 'p', role: 'pop' as const },
  ],
  links: [{ a: 's', b: 'p' }],
};

/** An open GET /feed: the `state` events as they arrive, and every heartbeat. */
function openFeed(localAddress: string): Promise<{ states: unknown[]; beats: number; status: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(`${BASE}/feed`, { localAddress }, (res) => {
      const feed = { states: [] as unknown[], beats: 0, status: res.statusCode ?? 0, close: () => req.destroy() };
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
          const msg = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (msg.startsWith(':')) feed.beats++;
          const data = /^data: (.*)$/m.exec(msg);
          if (data?.[1] !== undefined) feed.states.push(JSON.parse(data[1]));
        }
      });
      res.on('error', () => {});
      resolve(feed);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('DashboardHttp on the status server', () => {
  let http: StatusHttp | null = null;
  let dashboard: DashboardHttp | null = null;
  afterEach(async () => {
    dashboard?.stop();
    await http?.stop();
    http = null;
    dashboard = null;
  });

  async function start(): Promise<TelemetryStore> {
    const store = new TelemetryStore(TOPO, new SystemClock());
    http = new StatusHttp([HOST], PORT, () => ({}), 'a'.repeat(64));
    dashboard = new DashboardHttp(store, () => ({ badReports: 3 }));
    dashboard.attach(http);
    await http.start();
    return store;
  }

  it('serves the page, its scripts (cytoscape from node_modules), /overlay and /viewers', async () => {
    await start();
    const page = await fetch(`${BASE}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('/assets/cytoscape.min.js');
    const cy = await fetch(`${BASE}/assets/cytoscape.min.js`);
    expect(cy.status).toBe(200);
    expect((await cy.text()).length).toBeGreaterThan(100_000);
    expect((await fetch(`${BASE}/assets/dashboard.js`)).status).toBe(200);
    const overlay = v.parse(DashboardStateSchema, await (await fetch(`${BASE}/overlay`)).json());
    expect(overlay.nodes.map((n) => n.name)).toEqual(['s', 'p']);
    expect(overlay.counters.badReports).toBe(3);
    expect(v.safeParse(ViewersReportSchema, await (await fetch(`${BASE}/viewers`)).json()).success).toBe(true);
  });

  it('feeds the state on connect, an update within a second of a change, and outlives the socket timeout', async () => {
    const store = await start();
    const feed = await openFeed('127.0.0.1');
    await new Promise((r) => setTimeout(r, 300));
    expect(feed.states).toHaveLength(1);
    store.membership('p', 'registered');
    await new Promise((r) => setTimeout(r, 1000));
    expect(feed.states.length).toBeGreaterThanOrEqual(2);
    const last = v.parse(DashboardStateSchema, feed.states.at(-1));
    expect(last.events.at(-1)).toMatchObject({ node: 'p', kind: 'registered' });
    const updates = feed.states.length;
    await new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS + 1500));
    expect(feed.beats).toBeGreaterThanOrEqual(2);
    store.membership('p', 'gone');
    await new Promise((r) => setTimeout(r, 600));
    expect(feed.states.length).toBe(updates + 1);
    feed.close();
  }, 15_000);

  it(`refuses feed clients past ${MAX_FEED_CLIENTS}`, async () => {
    await start();
    // From several addresses: the status server also caps connections per address.
    const feeds = await Promise.all(
      Array.from({ length: MAX_FEED_CLIENTS + 1 }, (_, i) => openFeed(`127.0.95.${1 + (i % 5)}`)),
    );
    expect(feeds.filter((f) => f.status === 200)).toHaveLength(MAX_FEED_CLIENTS);
    expect(feeds.filter((f) => f.status === 503)).toHaveLength(1);
    for (const f of feeds) f.close();
  });

  it(`refuses feeds past ${MAX_FEED_CLIENTS_PER_ADDRESS} from one address: two cannot take every slot`, async () => {
    await start();
    const feeds = await Promise.all(
      Array.from({ length: MAX_FEED_CLIENTS_PER_ADDRESS + 1 }, () => openFeed('127.0.95.9')),
    );
    expect(feeds.filter((f) => f.status === 200)).toHaveLength(MAX_FEED_CLIENTS_PER_ADDRESS);
    expect(feeds.filter((f) => f.status === 503)).toHaveLength(1);
    for (const f of feeds) f.close();
  });
});
