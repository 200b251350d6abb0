/**
 * The attacks of the security issue, run for real against the report's topology on loopback, from
 * a host that is not in the topology (127.0.99.99) and from a neighbour's address with another
 * port, with the project's own wire code but without the overlay secret. While they run, a viewer
 * at o5 must see exactly the source's frames: none foreign, none lost, no POP switch, no gap longer
 * than its jitter buffer; afterwards routes, RTTs and catalogues must be what they were.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Attacker, foreignFrames } from './attacker.ts';
import { decodedFrames, matchConsecutive, ROOT, suiteRun } from './loopback-harness.ts';
import { StallMeter } from './stall-meter.ts';

const PORTS = { bootstrap: 17400, overlay: 14800, status: 17480, rtsp: 18900 };
const STRANGER = '127.0.99.99';
const JITTER_MS = 200;
const MOVIE = 'bars.mjpeg';

interface Stats {
  framesReceived: number;
  framesLost: number;
  longestGapMs: number;
  popsUsed: string[];
  framesRejected?: number;
}

describe('an attacker without the overlay secret (report topology, loopback)', () => {
  const run = suiteRun(join(ROOT, 'topologies/report.json5'), PORTS);
  const movies = run.moviesDir;
  let extraPort = 41_000;
  /** Measures the machine's stalls during the last watchUnder: wall-clock bounds widen by them. */
  let meter = new StallMeter();

  /** Where a node listens on the link to a neighbour (its overlay address there). */
  function linkAddress(node: string, neighbour: string): string {
    const link = run.topology.links.find(
      (l) => (l.a === node && l.b === neighbour) || (l.b === node && l.a === neighbour),
    );
    if (link === undefined) throw new Error(`${node} and ${neighbour} are not neighbours`);
    return link.a === node ? link.addressOfA : link.addressOfB;
  }

  /** A node as seen from a neighbour: its address on their link, and its name. */
  function at(node: string, neighbour: string): { address: string; name: string } {
    return { address: linkAddress(node, neighbour), name: node };
  }

  /** A viewer on c1 at o5 plays while `attack` runs every few ms; returns its stats once checked. */
  async function watchUnder(attack: (a: Attacker) => void, impostorOf: string, attacking = true): Promise<Stats> {
    const attacker = await Attacker.open(PORTS.overlay, [
      { address: STRANGER, port: 0 },
      // A neighbour's own address, another port: the address alone proves nothing.
      { address: linkAddress(impostorOf, 'o5' === impostorOf ? 'o4' : 'o5'), port: extraPort++ },
    ]);
    const out = join(run.dir, `viewer-${Date.now()}.mjpeg`);
    meter.stop();
    meter = new StallMeter();
    const client = run.client([
      '--address',
      '127.0.6.20',
      '--pop',
      '127.0.6.2',
      '--movie',
      MOVIE,
      '--headless',
      '--duration',
      '5',
      '--jitter-buffer',
      String(JITTER_MS),
      '--output',
      out,
    ]);
    try {
      await sleep(1500);
      const until = Date.now() + 2500;
      while (Date.now() < until) {
        attack(attacker);
        await sleep(4);
      }
    } finally {
      await attacker.close();
    }
    const c = await client;
    meter.stop();
    expect(c.code, c.stderr).toBe(0);
    const stats = JSON.parse(c.stdout) as Stats;
    expect(stats.framesLost).toBe(0);
    expect(stats.popsUsed).toEqual(['o5']);
    const gapBound = meter.bound(JITTER_MS + 50);
    expect(stats.longestGapMs, `bound ${gapBound} ms (worst stall ${meter.worstLateMs} ms)`).toBeLessThanOrEqual(
      gapBound,
    );
    // Every frame is the source's next one, pixel for pixel: nothing foreign, nothing skipped.
    expect(matchConsecutive(decodedFrames(out), decodedFrames(join(movies, MOVIE)))).toBe(stats.framesReceived);
    expect(stats.framesReceived).toBeGreaterThan(80);
    if (attacking) expect(attacker.sent).toBeGreaterThan(100);
    return stats;
  }

  async function dropped(node: string): Promise<number> {
    const t = (await run.status(node)).counters?.transport ?? {};
    return ['malformed', 'unknownSender', 'wrongSource', 'badMac', 'replayed'].reduce((n, k) => n + (t[k] ?? 0), 0);
  }

  it("forged DATA in o4's name puts no foreign frame into the viewer's picture", async () => {
    const before = await dropped('o5');
    const forged = foreignFrames(join(movies, 'gradient.mjpeg'), 20);
    let i = 0;
    await watchUnder((a) => {
      for (let k = 0; k < 4; k++) a.data(at('o5', 'o4'), 'o4', MOVIE, forged[i++ % forged.length]!);
    }, 'o4');
    expect(await dropped('o5')).toBeGreaterThan(before);
  }, 60_000);

  it('forged LEAVE and NAK do not silence or cut the movie', async () => {
    await watchUnder((a) => {
      a.control(at('o4', 'o5'), 'o5', { type: 'leave', movie: MOVIE });
      a.control(at('o5', 'o4'), 'o4', { type: 'nak', movie: MOVIE, reason: 'no-route', detail: 'forged' });
    }, 'o4');
  }, 60_000);

  it('forged route updates and catalogues change no route and no catalogue', async () => {
    const routeBefore = ((await run.status('o4')).routes ?? []).find((r) => r.server === 's1')?.via;
    let seq = 1_000_000;
    const evil = [
      { name: 'pwned.mjpeg', fps: 25, width: 320, height: 240, frames: 1 },
      { name: '../../etc/passwd', fps: 25, width: 320, height: 240, frames: 1 },
    ];
    await watchUnder((a) => {
      // A better route to s1 through a POP, announcing a new catalogue, then that catalogue.
      a.control(at('o4', 'o5'), 'o5', {
        type: 'routes',
        routes: [{ server: 's1', seq: seq++, latencyMs: 0, hops: 0, cv: 1, path: ['o4', 's1'] }],
        withdrawn: [],
      });
      a.control(at('o4', 'o5'), 'o5', { type: 'catalogue', server: 's1', cv: 1, part: 0, parts: 1, movies: evil });
      // Empty catalogues for both servers, to the POP.
      a.control(at('o5', 'o4'), 'o4', { type: 'catalogue', server: 's1', cv: 7, part: 0, parts: 1, movies: [] });
      a.control(at('o5', 'o4'), 'o4', { type: 'catalogue', server: 's2', cv: 7, part: 0, parts: 1, movies: [] });
    }, 'o4');
    const routeAfter = ((await run.status('o4')).routes ?? []).find((r) => r.server === 's1')?.via;
    // o4 has two routes to s1 within a few ms (via o3 and via o8): on a loaded machine the measured
    // latencies move and it may switch between them. Any real route will do; the forged one, via o5, must not.
    expect(routeAfter).not.toBe('o5');
    if (routeAfter !== routeBefore) {
      expect(['o3', 'o8'], `o4 switched from ${routeBefore} to ${routeAfter}`).toContain(routeAfter);
      const theirs = ((await run.status(routeAfter ?? '')).routes ?? []).find((r) => r.server === 's1');
      expect(theirs?.via).not.toBe('o4');
    }
    for (const node of ['s1', 'o4', 'o5']) {
      const names = ((await run.status(node)).catalogue ?? []).map((m) => m.name);
      expect(names).toContain(MOVIE);
      expect(names).not.toContain('pwned.mjpeg');
      expect(names).not.toContain('../../etc/passwd');
    }
  }, 60_000);

  it('forged hellos with random echo times leave the measured RTT alone', async () => {
    let seq = 1;
    await watchUnder((a) => {
      const r = (): number => Math.floor(Math.random() * 0xffffffff);
      a.control(at('o4', 'o3'), 'o3', {
        type: 'hello',
        seq: seq++,
        sentAtUs: r(),
        echoSeq: r(),
        echoSentAtUs: r(),
        holdUs: 0,
      });
      a.control(at('o4', 'o5'), 'o5', {
        type: 'hello',
        seq: seq++,
        sentAtUs: r(),
        echoSeq: r(),
        echoSentAtUs: r(),
        holdUs: 0,
      });
    }, 'o4');
    const o3 = ((await run.status('o4')).neighbours ?? []).find((n) => n.name === 'o3');
    expect(o3?.alive).toBe(true);
    // Random echo times would make it anything up to 2^32 µs; a loaded machine adds its stalls.
    expect(o3?.rttMs).toBeLessThan(meter.bound(50));
  }, 60_000);

  it('a stranger can neither cut links through the operations API nor read session ids', async () => {
    const post = (headers: Record<string, string>): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            host: run.address('o4'),
            port: PORTS.status,
            path: '/faults',
            method: 'POST',
            localAddress: STRANGER,
            headers,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ cut: ['o3', 'o5', 'o6', 'o8'] }));
      });
    expect(await post({ 'content-type': 'application/json' })).toBe(401);
    expect(await post({ 'content-type': 'text/plain' })).toBe(401);
    expect(await post({ 'content-type': 'application/json', authorization: 'Bearer 00' })).toBe(401);
    expect((await run.status('o4')).faults?.cut).toEqual([]);

    const client = run.client([
      '--address',
      '127.0.6.21',
      '--pop',
      '127.0.6.2',
      '--movie',
      MOVIE,
      '--headless',
      '--duration',
      '3',
    ]);
    await sleep(1500);
    // The raw JSON: parsing would drop a field the schema does not know, such as a leaked id.
    const sessions = (JSON.parse(await run.statusText('o5')) as { sessions: object[] }).sessions;
    expect(sessions.length).toBeGreaterThan(0);
    for (const s of sessions) expect(Object.keys(s)).not.toContain('id');
    expect((await client).code).toBe(0);
  }, 60_000);

  it("registering from o4's address without the secret neither displaces o4 nor learns its neighbours", async () => {
    const lines: string[] = [];
    await new Promise<void>((resolve) => {
      const socket = connect({ host: run.address('s1'), port: PORTS.bootstrap, localAddress: linkAddress('o4', 'o5') });
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        lines.push(...chunk.split('\n').filter((l) => l !== ''));
        // Whatever the bootstrapper asks, answer with a made-up proof.
        if (lines.some((l) => l.includes('"challenge"')))
          socket.write(`${JSON.stringify({ type: 'prove', mac: '00'.repeat(32) })}\n`);
      });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.write(`${JSON.stringify({ type: 'register', pid: 1, nonce: '11'.repeat(16) })}\n`);
      setTimeout(() => socket.destroy(), 3000).unref();
    });
    expect(lines.join('\n')).not.toMatch(/"registered"|neighbours/);
    expect((await run.status('s1')).registered).toContain('o4');
    // o4 kept its place: the stream through it to o5 plays on untouched.
    await watchUnder(() => {}, 'o4', false);
  }, 60_000);

  it("hellos in a dead neighbour's name, from its own address and port, do not keep the link alive", async () => {
    run.emulator.kill('o8');
    await sleep(300);
    const attacker = await Attacker.open(PORTS.overlay, [{ address: linkAddress('o8', 'o4'), port: PORTS.overlay }]);
    try {
      let seq = 1;
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        attacker.control(at('o4', 'o8'), 'o8', {
          type: 'hello',
          seq: seq++,
          sentAtUs: seq * 1000,
          echoSeq: 0,
          echoSentAtUs: 0,
          holdUs: 0,
        });
        await sleep(20);
      }
      const o8 = ((await run.status('o4')).neighbours ?? []).find((n) => n.name === 'o8');
      expect(o8?.alive).toBe(false);
    } finally {
      await attacker.close();
    }
  }, 60_000);
});
