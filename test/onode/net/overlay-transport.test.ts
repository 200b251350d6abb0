/**
 * OverlayTransport with real UDP sockets on loopback: what a neighbour, an outsider and an
 * outsider on a neighbour's address can and cannot get a node to act on. Binds 127.0.212.x:
 * run under the e2e lock (flock /tmp/onode-e2e.lock).
 */
import { createSocket, type Socket } from 'node:dgram';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { overlayMacKey } from '../../../common/security/overlay-keys.ts';
import type { NeighbourInfo } from '../../../common/wire/bootstrap.ts';
import { macKey, openOverlay, seal, sealOverlay } from '../../../common/wire/overlay-auth.ts';
import { encodeOverlay, MAX_DATA_RTP_BYTES, type OverlayMessage } from '../../../common/wire/overlay.ts';
import { encodeRtp } from '../../../common/wire/rtp.ts';
import type { Logger } from '../../../common/net/logger.ts';
import {
  DATA_SEND_CHECK_EVERY,
  MAX_PONGS_PER_ADDRESS,
  OverlayTransport,
} from '../../../onode/net/overlay-transport.ts';

const PORT = 24612;
const SELF = { name: 'o5', address: '127.0.212.5' };
const O4 = { name: 'o4', address: '127.0.212.4' };
const O6 = { name: 'o6', address: '127.0.212.6' };
const OUTSIDER = '127.0.212.99';
const OTHER_CLIENT = '127.0.212.98';
const rawKey = overlayMacKey(Buffer.from('the overlay secret of this test run'));
const key = macKey(rawKey);
const wrongKey = macKey(overlayMacKey(Buffer.from('a secret the attacker guessed wrong')));
const EPOCH = 1_764_000_000_000;
const rtp = encodeRtp({
  marker: true,
  payloadType: 26,
  sequenceNumber: 1,
  timestamp: 0,
  ssrc: 5,
  csrcs: [],
  payload: Buffer.alloc(500, 1),
});

const neighbour = (n: { name: string; address: string }): NeighbourInfo => ({
  name: n.name,
  role: 'node',
  address: n.address,
  localAddress: SELF.address,
  delayMs: 0,
  lossPct: 0,
  rateKbps: null,
  up: true,
});

/** A raw UDP endpoint that records what it receives. */
class Endpoint {
  readonly received: Buffer[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('message', (b) => this.received.push(b));
  }

  static async bind(address: string, port: number): Promise<Endpoint> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(port, address, resolve));
    return new Endpoint(socket);
  }

  send(datagram: Buffer): void {
    this.socket.send(datagram, PORT, SELF.address);
  }

  close(): void {
    this.socket.close();
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let transport: OverlayTransport;
let delivered: { from: string; msg: OverlayMessage }[];
let warnings: string[];
let now: number;
let o4: Endpoint;
let o6: Endpoint;
let endpoints: Endpoint[];
let o4Counter: number;

/** A datagram as the real o4 would send it (its next nonce), for `to`. */
const fromO4 = (msg: Parameters<typeof sealOverlay>[4], to = SELF.name): Buffer =>
  sealOverlay(key, O4.name, to, { epoch: EPOCH, counter: o4Counter++ }, msg);

beforeEach(async () => {
  delivered = [];
  warnings = [];
  now = 0;
  o4Counter = 0;
  const log: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
  transport = new OverlayTransport({
    self: SELF.name,
    addresses: [SELF.address],
    port: PORT,
    emulateLinks: false,
    key: rawKey,
    log,
    epoch: EPOCH + 5,
    now: () => now,
  });
  transport.events.on('packet', (from, msg) => delivered.push({ from, msg }));
  await transport.start();
  transport.setNeighbours([neighbour(O4), neighbour(O6)]);
  o4 = await Endpoint.bind(O4.address, PORT);
  o6 = await Endpoint.bind(O6.address, PORT);
  endpoints = [o4, o6];
});

afterEach(async () => {
  for (const e of endpoints) e.close();
  await transport.stop();
});

const extra = async (address: string, port: number): Promise<Endpoint> => {
  const e = await Endpoint.bind(address, port);
  endpoints.push(e);
  return e;
};

describe('OverlayTransport, authenticated', () => {
  it("acts on a neighbour's hello, leave and DATA (once it knows the movie's name)", async () => {
    o4.send(fromO4({ type: 'hello', seq: 1, sentAtUs: 2, echoSeq: 0, echoSentAtUs: 0, holdUs: 0 }));
    o4.send(fromO4({ type: 'data', movie: 'bars.mjpeg', rtp }));
    await until(() => transport.counters.unknownStream === 1, 'DATA of an unknown movie');
    // A join sent upstream teaches the transport the name; DATA of it now goes through.
    transport.send(O4.name, { type: 'join', movie: 'bars.mjpeg', path: [SELF.name] });
    o4.send(fromO4({ type: 'data', movie: 'bars.mjpeg', rtp }));
    o4.send(fromO4({ type: 'leave', movie: 'bars.mjpeg' }));
    await until(() => delivered.length === 3, 'three packets');
    expect(delivered).toEqual([
      { from: 'o4', msg: { type: 'hello', seq: 1, sentAtUs: 2, echoSeq: 0, echoSentAtUs: 0, holdUs: 0 } },
      { from: 'o4', msg: { type: 'data', movie: 'bars.mjpeg', rtp } },
      { from: 'o4', msg: { type: 'leave', movie: 'bars.mjpeg' } },
    ]);
    expect(transport.counters).toMatchObject({
      malformed: 0,
      unknownSender: 0,
      wrongSource: 0,
      badMac: 0,
      replayed: 0,
      unknownStream: 1,
    });
  });

  it('learns movie names from what neighbours send too, and when told', async () => {
    o4.send(fromO4({ type: 'carrying', movies: ['a.mjpeg', 'b.mjpeg'] }));
    transport.learnMovie('c.mjpeg');
    await until(() => delivered.length === 1, 'carrying');
    for (const movie of ['a.mjpeg', 'b.mjpeg', 'c.mjpeg']) o4.send(fromO4({ type: 'data', movie, rtp }));
    await until(() => delivered.length === 4, 'DATA of the three movies');
    const movies = delivered.slice(1).map((d) => d.msg.type === 'data' && d.msg.movie);
    expect(movies).toEqual(['a.mjpeg', 'b.mjpeg', 'c.mjpeg']);
  });

  it('drops DATA, hello and leave naming a neighbour from a non-neighbour address, even correctly sealed', async () => {
    transport.learnMovie('bars.mjpeg');
    const outsider = await extra(OUTSIDER, PORT);
    outsider.send(fromO4({ type: 'data', movie: 'bars.mjpeg', rtp }));
    outsider.send(fromO4({ type: 'hello', seq: 9, sentAtUs: 1, echoSeq: 0, echoSentAtUs: 0, holdUs: 0 }));
    outsider.send(fromO4({ type: 'leave', movie: 'bars.mjpeg' }));
    await until(() => transport.counters.wrongSource === 3, 'three wrong sources');
    expect(delivered).toEqual([]);
  });

  it("drops them from a neighbour's IP with another port", async () => {
    transport.learnMovie('bars.mjpeg');
    const samehost = await extra(O4.address, PORT + 1);
    samehost.send(fromO4({ type: 'data', movie: 'bars.mjpeg', rtp }));
    samehost.send(fromO4({ type: 'hello', seq: 9, sentAtUs: 1, echoSeq: 0, echoSentAtUs: 0, holdUs: 0 }));
    samehost.send(fromO4({ type: 'leave', movie: 'bars.mjpeg' }));
    await until(() => transport.counters.wrongSource === 3, 'three wrong sources');
    expect(delivered).toEqual([]);
  });

  it("drops them from the neighbour's own address and port with no tag or a wrong key", async () => {
    transport.learnMovie('bars.mjpeg');
    // A far newer epoch: had a forgery reached the replay window, o4's own datagrams would look old.
    const nonce = { epoch: EPOCH + 1_000_000, counter: 0 };
    const forged: OverlayMessage[] = [
      { type: 'data', movie: 'bars.mjpeg', rtp },
      { type: 'hello', seq: 9, sentAtUs: 1, echoSeq: 0, echoSentAtUs: 0, holdUs: 0 },
      { type: 'leave', movie: 'bars.mjpeg' },
    ];
    for (const msg of forged) {
      o4.send(encodeOverlay(O4.name, msg, nonce));
      o4.send(sealOverlay(wrongKey, O4.name, SELF.name, nonce, msg));
    }
    await until(() => transport.counters.badMac === 6, 'six bad MACs');
    expect(delivered).toEqual([]);
    // The forgeries moved no replay window: the real o4's next datagram still counts.
    o4.send(fromO4({ type: 'leave', movie: 'bars.mjpeg' }));
    await until(() => delivered.length === 1, "o4's leave");
  });

  it('drops a control datagram sealed for another neighbour, and one naming a non-neighbour', async () => {
    o4.send(fromO4({ type: 'leave', movie: 'bars.mjpeg' }, O6.name));
    o4.send(sealOverlay(key, 'x9', SELF.name, { epoch: EPOCH, counter: 0 }, { type: 'leave', movie: 'bars.mjpeg' }));
    const { counters } = transport;
    await until(() => counters.badMac === 1 && counters.unknownSender === 1, 'bad MAC and unknown sender');
    expect(delivered).toEqual([]);
  });

  it('counts a replayed genuine datagram as replayed and acts on it once', async () => {
    const leave = fromO4({ type: 'leave', movie: 'bars.mjpeg' });
    const hello = fromO4({ type: 'hello', seq: 1, sentAtUs: 2, echoSeq: 0, echoSentAtUs: 0, holdUs: 0 });
    o4.send(leave);
    o4.send(hello);
    await until(() => delivered.length === 2, 'the originals');
    o4.send(leave);
    o4.send(hello);
    await until(() => transport.counters.replayed === 2, 'two replays');
    expect(delivered).toHaveLength(2);
  });

  it('checks tag and replay window before parsing: an authentic but malformed datagram spends its nonce', async () => {
    // A genuine sender's datagram whose body is not a message, sealed properly: parsed once (malformed),
    // and its replay is dropped as replayed before any parsing.
    const bad = fromO4({ type: 'leave', movie: 'bars.mjpeg' });
    bad[bad.indexOf('{')] = 0x58; // the body's JSON no longer parses
    seal(key, SELF.name, bad);
    o4.send(bad);
    await until(() => transport.counters.malformed === 1, 'the malformed original');
    o4.send(bad);
    await until(() => transport.counters.replayed === 1, 'its replay');
    expect(transport.counters.malformed).toBe(1);
    expect(transport.counters.badMac).toBe(0);
    expect(delivered).toEqual([]);
  });

  it('seals what it sends: control for its recipient only, DATA one datagram for every branch', async () => {
    transport.send(O4.name, { type: 'hello', seq: 3, sentAtUs: 4, echoSeq: 0, echoSentAtUs: 0, holdUs: 0 });
    transport.sendData([O4.name, O6.name], 'bars.mjpeg', rtp);
    await until(() => o4.received.length === 2 && o6.received.length === 1, 'the datagrams');
    const [hello, data] = o4.received as [Buffer, Buffer];
    expect(openOverlay(key, O4.name, hello)).toMatchObject({
      ok: true,
      value: { from: 'o5', nonce: { epoch: EPOCH + 5, counter: 0 } },
    });
    expect(openOverlay(key, O6.name, hello)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(o6.received[0]).toEqual(data);
    expect(openOverlay(key, O6.name, data)).toMatchObject({
      ok: true,
      value: { nonce: { epoch: EPOCH + 5, counter: 1 }, message: { type: 'data', rtp } },
    });
  });

  it('counts failed sends: every control one, one DATA send in DATA_SEND_CHECK_EVERY', async () => {
    // Broadcast without SO_BROADCAST: the kernel refuses every send (EACCES).
    transport.setNeighbours([neighbour(O4), neighbour({ name: 'o9', address: '255.255.255.255' })]);
    transport.send('o9', { type: 'leave', movie: 'bars.mjpeg' });
    await until(() => transport.counters.sendErrors === 1, 'the failed control send');
    for (let i = 0; i < DATA_SEND_CHECK_EVERY; i++) transport.sendData(['o9'], 'bars.mjpeg', rtp);
    await until(() => transport.counters.sendErrors === 2, 'one failed DATA send seen');
  });

  it('counts and logs once what it cannot encode', () => {
    const huge = Buffer.concat([rtp, Buffer.alloc(MAX_DATA_RTP_BYTES)]);
    transport.sendData([O4.name], 'bars.mjpeg', huge);
    transport.sendData([O4.name], 'bars.mjpeg', huge);
    transport.sendData([O4.name], 'x'.repeat(256), rtp);
    expect(transport.counters.oversize).toBe(3);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cannot send data: an RTP packet of \d+ bytes makes a \d+-byte datagram, over 1472/);
  });
});

describe('OverlayTransport, pings', () => {
  it('answers a ping with a pong, and acts on no pong', async () => {
    const client = await extra(OUTSIDER, 40_000);
    client.send(encodeOverlay('client', { type: 'ping', id: 7, sentAt: 1.5 }));
    o4.send(encodeOverlay(O4.name, { type: 'pong', id: 7, sentAt: 1.5, node: O4.name }));
    await until(() => client.received.length === 1, 'the pong');
    expect(openOverlay(key, 'client', client.received[0]!)).toEqual({
      ok: true,
      value: { from: 'o5', nonce: null, message: { type: 'pong', id: 7, sentAt: 1.5, node: 'o5' } },
    });
    await until(() => transport.counters.datagramsIn === 2, 'the pong to arrive');
    expect(delivered).toEqual([]);
  });

  it(`answers at most ${MAX_PONGS_PER_ADDRESS} pings a second to one address, and others all the same`, async () => {
    const flooder = await extra(OUTSIDER, 40_001);
    const ping = encodeOverlay('client', { type: 'ping', id: 1, sentAt: 0 });
    for (let i = 0; i < MAX_PONGS_PER_ADDRESS + 10; i++) flooder.send(ping);
    const { counters } = transport;
    await until(() => counters.pings + counters.pingsDropped === MAX_PONGS_PER_ADDRESS + 10, 'every ping');
    expect(transport.counters).toMatchObject({ pings: MAX_PONGS_PER_ADDRESS, pingsDropped: 10 });
    // An honest client in the same second is not silenced by the flood.
    const client = await extra(OTHER_CLIENT, 40_002);
    client.send(ping);
    await until(() => client.received.length === 1, 'a pong for another address');
    now += 1000;
    flooder.send(ping);
    await until(() => transport.counters.pings === MAX_PONGS_PER_ADDRESS + 2, 'a ping in the next second');
  });
});

/** Every datagram the transport refused, whatever the reason. */
const refused = (c: OverlayTransport['counters']): number =>
  c.malformed + c.unknownSender + c.wrongSource + c.badMac + c.replayed + c.unknownStream;

describe('OverlayTransport, hostile input', () => {
  const corruptionTitle =
    'drops random bytes and every one-bit corruption of a genuine datagram, counting each, never throwing';
  it(corruptionTitle, async () => {
    transport.learnMovie('bars.mjpeg');
    const junk = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 1500 }), { numRuns: 150, seed: 14 });
    const genuine = fromO4({ type: 'data', movie: 'bars.mjpeg', rtp });
    // Every bit of the header, nonce and movie id, and a sample of the rest.
    const bits = [...Array.from({ length: 8 * 40 }, (_, i) => i), ...fc.sample(fc.nat(genuine.length * 8 - 1), 100)];
    for (const b of junk) o4.send(Buffer.from(b));
    for (const bit of bits) {
      const bad = Buffer.from(genuine);
      bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      o4.send(bad);
    }
    const sent = junk.length + bits.length;
    const c = transport.counters;
    await until(() => refused(c) + c.pings + c.pingsDropped === sent, `${sent} refusals`);
    expect(delivered).toEqual([]);
    expect(c.malformed).toBeGreaterThan(junk.length - 5);
    expect(c.badMac).toBeGreaterThan(100);
    // The genuine datagram itself still counts: no corruption moved o4's replay window.
    o4.send(genuine);
    await until(() => delivered.length === 1, 'the genuine DATA');
  });

  it("refuses a genuine datagram from the sender's previous epoch once a newer one arrived", async () => {
    const old = fromO4({ type: 'leave', movie: 'bars.mjpeg' });
    const newer = sealOverlay(key, O4.name, SELF.name, { epoch: EPOCH + 1, counter: 0 }, { type: 'leave', movie: 'm' });
    o4.send(newer);
    await until(() => delivered.length === 1, 'the newer epoch');
    o4.send(old);
    await until(() => transport.counters.replayed === 1, 'the old epoch refused');
    expect(delivered).toHaveLength(1);
  });

  it('answers no malformed ping, and a pong from anyone is never acted on', async () => {
    const client = await extra(OUTSIDER, 40_003);
    const ping = encodeOverlay('client', { type: 'ping', id: 1, sentAt: 0 });
    client.send(ping.subarray(0, ping.length - 3));
    client.send(Buffer.concat([ping.subarray(0, ping.length - 1), Buffer.from('x}')]));
    await until(() => transport.counters.malformed === 2, 'two malformed pings');
    expect(transport.counters.pings).toBe(0);
    expect(client.received).toEqual([]);
  });

  it('a listener that throws is logged; the other listeners and the next datagram still get through', async () => {
    let calls = 0;
    transport.events.on('packet', () => {
      if (++calls === 1) throw new Error('handler bug');
    });
    o4.send(fromO4({ type: 'leave', movie: 'a.mjpeg' }));
    o4.send(fromO4({ type: 'leave', movie: 'b.mjpeg' }));
    await until(() => delivered.length === 2, 'both leaves');
    expect(delivered.map((d) => d.msg)).toEqual([
      { type: 'leave', movie: 'a.mjpeg' },
      { type: 'leave', movie: 'b.mjpeg' },
    ]);
    expect(calls).toBe(2);
    expect(warnings.some((w) => w.includes('handling an overlay packet') && w.includes('handler bug'))).toBe(true);
  });

  it('a cut link passes nothing either way; sends to a non-neighbour go nowhere', async () => {
    transport.cut.add(O4.name);
    o4.send(fromO4({ type: 'leave', movie: 'bars.mjpeg' }));
    transport.send(O4.name, { type: 'leave', movie: 'bars.mjpeg' });
    transport.sendData([O4.name], 'bars.mjpeg', rtp);
    transport.send('x9', { type: 'leave', movie: 'bars.mjpeg' });
    await until(() => transport.counters.faultDrops === 3, 'three fault drops');
    transport.cut.delete(O4.name);
    transport.send(O4.name, { type: 'leave', movie: 'after.mjpeg' });
    await until(() => o4.received.length === 1, 'the send after the cut healed');
    expect(openOverlay(key, O4.name, o4.received[0]!)).toMatchObject({
      ok: true,
      value: { message: { type: 'leave', movie: 'after.mjpeg' } },
    });
    expect(delivered).toEqual([]);
    expect(transport.counters.datagramsOut).toBe(1);
  });
});

describe('OverlayTransport, emulated links', () => {
  it("applies a link's loss to what it sends, and stop() cancels what its delay still holds", async () => {
    const lossy = new OverlayTransport({
      self: O6.name,
      addresses: ['127.0.212.7'],
      port: PORT,
      emulateLinks: true,
      key: rawKey,
      log: { debug() {}, info() {}, warn() {}, error() {} },
      random: () => 0.5,
    });
    await lossy.start();
    try {
      const to = (name: string, lossPct: number, delayMs: number): NeighbourInfo => ({
        ...neighbour({ name, address: O4.address }),
        localAddress: '127.0.212.7',
        lossPct,
        delayMs,
      });
      lossy.setNeighbours([to('lost', 60, 0), to('kept', 40, 0), to('late', 0, 10_000)]);
      lossy.send('lost', { type: 'leave', movie: 'bars.mjpeg' });
      lossy.send('kept', { type: 'leave', movie: 'bars.mjpeg' });
      lossy.send('late', { type: 'leave', movie: 'bars.mjpeg' });
      expect(lossy.counters.emulatedLoss).toBe(1);
      expect((lossy as unknown as { pendingDelays: Set<unknown> }).pendingDelays.size).toBe(1);
      await until(() => o4.received.length === 1, "the 'kept' link's datagram");
      expect(openOverlay(key, 'kept', o4.received[0]!).ok).toBe(true);
    } finally {
      await lossy.stop();
    }
    // The delayed datagram went with the sockets: no timer is left to keep the process alive.
    expect((lossy as unknown as { pendingDelays: Set<unknown> }).pendingDelays.size).toBe(0);
    expect(lossy.counters.datagramsOut).toBe(1);
  });
});
