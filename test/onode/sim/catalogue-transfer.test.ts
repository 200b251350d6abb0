import { describe, expect, it } from 'vitest';
import { MAX_CATALOGUE } from '../../../common/wire/overlay-control.ts';
import { MAX_OVERLAY_DATAGRAM, type CatalogueMessage, type MovieInfo } from '../../../common/wire/overlay.ts';
import { catalogueDigest } from '../../../onode/core/catalogue-digest.ts';
import type { ChannelMovie } from '../../../onode/core/movie-channel.ts';
import { fakeMovie, SimNetwork } from '../../../onode/sim/sim-network.ts';

/** Room another helper's authentication trailer and second name may take in every datagram. */
const HEADROOM = 200;

/** `count` movies with distinct names of exactly `bytes` bytes (one frame of one packet each: cheap). */
function movies(count: number, bytes: number, tag = 'm'): ChannelMovie[] {
  return Array.from({ length: count }, (_, i) => {
    const head = `${tag}${String(i).padStart(5, '0')}-`;
    return fakeMovie(`${head}${'x'.repeat(bytes - head.length - 6)}.mjpeg`, 25, 1, 1);
  });
}

/**
 * Servers s1 (the big catalogue) and s2 (two movies), relays n1..n4, POPs p1..p3, 2-5 ms links:
 *
 *   s1 - n1 - n2 - n3 - p1        p1 is 4 hops from s1
 *        |    |    |
 *        n4 - p2   p3 - s2
 */
function overlay(big: readonly ChannelMovie[], lossPct = 0): SimNetwork {
  const net = new SimNetwork();
  net.addNode('s1', big);
  net.addNode('s2', [fakeMovie('alpha.mjpeg'), fakeMovie('beta.mjpeg')]);
  for (const n of ['n1', 'n2', 'n3', 'n4', 'p1', 'p2', 'p3']) net.addNode(n);
  const links: [string, string, number][] = [
    ['s1', 'n1', 2],
    ['n1', 'n2', 3],
    ['n2', 'n3', 4],
    ['n3', 'p1', 5],
    ['n1', 'n4', 2],
    ['n4', 'p2', 3],
    ['n2', 'p2', 4],
    ['n3', 'p3', 2],
    ['p3', 's2', 3],
  ];
  for (const [a, b, d] of links) net.addLink(a, b, d, lossPct);
  return net;
}

const POPS = ['p1', 'p2', 'p3'];

/** Runs in 50 ms steps until `done`, or fails after `limitMs`; returns the virtual time it took. */
function runUntil(net: SimNetwork, done: () => boolean, limitMs: number): number {
  const start = net.clock.now();
  while (!done()) {
    if (net.clock.now() - start > limitMs) throw new Error(`not done after ${limitMs} ms of virtual time`);
    net.run(50);
  }
  return net.clock.now() - start;
}

function hasAll(net: SimNetwork, node: string, expected: number): boolean {
  return net.node(node).catalogue().length === expected;
}

describe('catalogues in parts', () => {
  it('10,000 movies of 255-byte names reach every POP, four hops away, in datagrams with room to spare', () => {
    const big = movies(MAX_CATALOGUE, 255);
    const net = overlay(big);
    net.start();
    const wall = performance.now();
    // Routes first (the first probes go out before hellos have measured any link)...
    const routed = (p: string): boolean =>
      net
        .node(p)
        .bestRoutes()
        .some((r) => r.server === 's1');
    const routesMs = runUntil(net, () => POPS.every(routed), 10_000);
    // ...then the catalogue, asked for on the first probe that announced its digest.
    const tookMs = runUntil(net, () => POPS.every((p) => hasAll(net, p, MAX_CATALOGUE + 2)), 60_000);
    const wallMs = performance.now() - wall;

    // Every node holds exactly s1's catalogue and s2's, names and details.
    const expected = [...big.map((m) => m.name), 'alpha.mjpeg', 'beta.mjpeg'].sort();
    const cv = catalogueDigest(big.map((m) => ({ name: m.name, fps: 25, width: 320, height: 240, frames: 1 })));
    for (const node of [...POPS, 'n1', 'n2', 'n3', 'n4']) {
      expect(
        net
          .node(node)
          .catalogue()
          .map((m) => m.name),
      ).toEqual(expected);
      expect(net.node(node).routes.catalogueVersion('s1')).toBe(cv);
    }
    // Nothing refused by the encoder or the decoder, and every datagram leaves the headroom.
    expect(net.oversize).toBe(0);
    expect(net.undecodable).toBe(0);
    expect(net.largestDatagram).toBeLessThanOrEqual(MAX_OVERLAY_DATAGRAM - HEADROOM);
    for (const node of net.names()) expect(net.node(node).routing.counters.catalogueRejected, node).toBe(0);

    const parts = net.sentByType.get('catalogue') ?? { datagrams: 0, bytes: 0 };
    const requests = net.sentByType.get('catalogue-request') ?? { datagrams: 0, bytes: 0 };
    const perLink = net.node('n1').routing.counters.cataloguePartsIn;
    process.stdout.write(
      `10,000 x 255-byte catalogue to 3 POPs over 9 links: routes after ${routesMs} ms, the catalogue everywhere ` +
        `${tookMs} ms later (virtual; ${Math.round(wallMs)} ms wall); ` +
        `${parts.datagrams} catalogue datagrams, ${parts.bytes} bytes (n1 took ${perLink} parts); ` +
        `${requests.datagrams} requests, ${requests.bytes} bytes; largest datagram ${net.largestDatagram} bytes\n`,
    );
    expect(tookMs).toBeLessThan(2000);

    // And the POP four hops away plays the last movie of the list.
    const last = expected.filter((n) => n.startsWith('m')).at(-1)!;
    const viewer = net.watch('p1', last);
    net.run(2000);
    expect(viewer.failure).toBeNull();
    expect(viewer.joinedAt).not.toBeNull();
    expect(viewer.packets.length).toBeGreaterThan(20);

    // Six long-named movies through one relay: its carrying announcement takes several datagrams.
    const six = expected.filter((n) => n.startsWith('m')).slice(0, 6);
    for (const name of six) net.watch('p1', name);
    net.run(2000);
    expect(net.sentByType.get('carrying')?.datagrams ?? 0).toBeGreaterThan(0);
    for (const name of [last, ...six]) expect(net.node('n2').carrying.carriers(name, () => true)).toContain('n3');
    expect(net.oversize).toBe(0);
    expect(net.largestDatagram).toBeLessThanOrEqual(MAX_OVERLAY_DATAGRAM - HEADROOM);
  }, 120_000);

  it('arrives complete over links losing 5% of datagrams (missing parts are asked again)', () => {
    const net = overlay(movies(2000, 200), 5);
    net.start();
    runUntil(net, () => POPS.every((p) => hasAll(net, p, 2002)), 60_000);
    const counters = POPS.map((p) => net.node(p).routing.counters);
    expect(counters.some((c) => c.catalogueRequests > Math.ceil(2000 / 5 / 64))).toBe(true);
    expect(net.oversize).toBe(0);
  }, 60_000);

  it('asks again for a catalogue whose fetch was given up, along the best route (routes and RTTs unchanged)', () => {
    const net = overlay(movies(3, 40));
    net.dropRule = (_from, _to, msg) => msg.type === 'catalogue';
    net.start();
    net.run(8000);
    expect(net.node('p1').routes.knownServers()).toEqual(['s1', 's2']);
    expect(POPS.some((p) => hasAll(net, p, 5))).toBe(false);
    expect(net.node('p1').routing.counters.catalogueAbandoned).toBeGreaterThan(0);
    net.dropRule = null;
    // Two neighbours that had asked each other first must not wait on each other for ever.
    runUntil(net, () => [...POPS, 'n1', 'n2', 'n3', 'n4'].every((p) => hasAll(net, p, 5)), 10_000);
  });

  it('follows a server whose catalogue changes, and empties it only when the server announces an empty one', () => {
    const net = overlay(movies(300, 100));
    net.start();
    runUntil(net, () => POPS.every((p) => hasAll(net, p, 302)), 20_000);
    net.restart('s1', movies(50, 60, 'new'));
    runUntil(net, () => POPS.every((p) => hasAll(net, p, 52)), 20_000);
    expect(
      net
        .node('p1')
        .catalogue()
        .filter((m) => m.name.startsWith('new')),
    ).toHaveLength(50);
    net.restart('s1', []);
    runUntil(net, () => POPS.every((p) => hasAll(net, p, 2)), 20_000);
    expect(net.node('p1').routes.catalogueVersion('s1')).toBe(catalogueDigest([]));
  }, 60_000);
});

describe('forged and unsolicited catalogues', () => {
  const pwned: MovieInfo = { name: 'pwned.mjpeg', fps: 25, width: 320, height: 240, frames: 1 };

  function converged(): { net: SimNetwork; genuine: string[] } {
    const net = overlay(movies(100, 40));
    net.start();
    runUntil(net, () => POPS.every((p) => hasAll(net, p, 102)), 20_000);
    return {
      net,
      genuine: net
        .node('p1')
        .catalogue()
        .map((m) => m.name),
    };
  }

  it('drops a catalogue nobody asked for, empty or not, with the current digest or its own', () => {
    const { net, genuine } = converged();
    const p1 = net.node('p1');
    const cv = p1.routes.catalogueVersion('s1')!;
    const forged: CatalogueMessage[] = [
      { type: 'catalogue', server: 's1', cv, part: 0, parts: 1, movies: [] },
      { type: 'catalogue', server: 's1', cv: catalogueDigest([]), part: 0, parts: 1, movies: [] },
      { type: 'catalogue', server: 's1', cv: catalogueDigest([pwned]), part: 0, parts: 1, movies: [pwned] },
      { type: 'catalogue', server: 's9', cv: catalogueDigest([pwned]), part: 0, parts: 1, movies: [pwned] },
    ];
    for (const msg of forged) p1.receive('n3', msg);
    net.run(5000);
    expect(p1.catalogue().map((m) => m.name)).toEqual(genuine);
    expect(p1.routing.counters.catalogueUnsolicited).toBeGreaterThanOrEqual(forged.length);
    expect(p1.routing.counters.cataloguesInstalled).toBe(2); // s1's and s2's, once each
  }, 30_000);

  it('installs nothing but the genuine catalogue while one is being fetched, whoever sends parts', () => {
    const { net } = converged();
    const p1 = net.node('p1');
    // s1 restarts with another catalogue: p1 will ask n3 for it. Forged parts race the genuine ones
    // (twice: an outsider who can also pose as n3 is for the link MACs to stop).
    const next = movies(80, 30, 'v2');
    net.restart('s1', next);
    let injected = 0;
    net.tap = (from, to, msg) => {
      if (to !== 'n3' || from !== 'p1' || msg.type !== 'catalogue-request' || injected >= 2) return;
      // Whatever p1 asked for, the "answer" comes at once, before the genuine one: from the wrong
      // neighbour, then from the right one with the right digest but other movies, then empty.
      const { cv } = msg;
      p1.receive('n2', { type: 'catalogue', server: 's1', cv, part: 0, parts: 1, movies: [pwned] });
      p1.receive('n3', { type: 'catalogue', server: 's1', cv, part: 0, parts: 2, movies: [pwned] });
      p1.receive('n3', { type: 'catalogue', server: 's1', cv, part: 1, parts: 2, movies: [] });
      injected++;
    };
    const seen = new Set<number>();
    runUntil(
      net,
      () => {
        const names = p1.catalogue().map((m) => m.name);
        expect(names).not.toContain('pwned.mjpeg');
        seen.add(names.length);
        return names.filter((n) => n.startsWith('v2')).length === 80;
      },
      30_000,
    );
    net.tap = null;
    expect(injected).toBeGreaterThan(0);
    // The catalogue went from the old one straight to the new one: never empty, never partial.
    expect([...seen].sort((a, b) => a - b)).toEqual([82, 102]);
    expect(p1.routing.counters.catalogueRejected).toBeGreaterThan(0);
    expect(p1.routing.counters.catalogueUnsolicited).toBeGreaterThan(0);
  }, 60_000);
});
