/**
 * Hostile RTSP clients against a real POP (topologies/chain.json5 on loopback, p1), each while a
 * normal viewer plays: a SETUP with client_port=0-0, a TEARDOWN with a stolen session id, a
 * table full of idle SETUPs, 128 TCP-interleaved viewers that never read, and a flood of idle
 * connections. The normal viewer's frames must keep coming, and a new viewer must get in.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bindRtpPortPair } from '../../common/net/rtp-port-pair.ts';
import { header } from '../../common/wire/rtsp.ts';
import { MAX_SESSIONS, MAX_SESSIONS_PER_CLIENT } from '../../onode/core/rtsp-sessions.ts';
import type { StatusReport } from '../../common/wire/status-api.ts';
import { RtspClient } from '../../oclient/net/rtsp-client.ts';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { LoopbackRun, ROOT } from './loopback-harness.ts';
import { StallMeter } from './stall-meter.ts';

const PORTS = { bootstrap: 17357, overlay: 14757, status: 17457, rtsp: 18757 };
/** Seconds; short, so the flood test sees idle connections go. */
const IDLE_TIMEOUT_SEC = 2;
const MOVIE = 'bounce.mjpeg';
const RSS_LIMIT_MB = 200;

const movies = mkdtempSync(join(tmpdir(), 'onode-movies-'));
const run = new LoopbackRun(join(ROOT, 'topologies/chain.json5'), movies, PORTS, [
  '--rtsp-idle-timeout',
  String(IDLE_TIMEOUT_SEC),
]);
const pop = (): string => run.topology.nodes.get('p1')?.clientAddresses[0] ?? '';
const url = (): string => `rtsp://${pop()}:${PORTS.rtsp}/${MOVIE}`;

/** Everything a test opened; closed in afterEach. */
const open: { close(): void }[] = [];

/** A minimal player: RTSP SETUP/PLAY, then counts RTP packets and frames (marker bits). */
class Viewer {
  frames = 0;
  packets = 0;
  private constructor(
    readonly client: RtspClient,
    readonly session: string,
  ) {}

  static async open(localAddress: string, transport: 'udp' | 'tcp' = 'udp'): Promise<Viewer> {
    const client = await RtspClient.open(pop(), PORTS.rtsp, localAddress);
    open.push(client);
    let spec = 'RTP/AVP/TCP;unicast;interleaved=0-1';
    const counted: { count: (b: Buffer) => void } = { count: () => {} };
    if (transport === 'udp') {
      const pair = await bindRtpPortPair(localAddress);
      open.push(pair.rtp, pair.rtcp);
      pair.rtp.on('message', (b) => counted.count(b));
      spec = `RTP/AVP;unicast;client_port=${pair.rtp.address().port}-${pair.rtcp.address().port}`;
    } else {
      client.events.on('interleaved', (channel, payload) => channel === 0 && counted.count(payload));
    }
    const setup = await client.request('SETUP', `${url()}/trackID=0`, { Transport: spec }, 10_000);
    if (setup.status !== 200) throw new Error(`SETUP from ${localAddress}: ${setup.status} ${setup.reason}`);
    const session = (header(setup, 'session') ?? '').split(';')[0] ?? '';
    client.session = session;
    const viewer = new Viewer(client, session);
    counted.count = (b) => viewer.count(b);
    const play = await client.request('PLAY', url());
    if (play.status !== 200) throw new Error(`PLAY from ${localAddress}: ${play.status}`);
    return viewer;
  }

  /**
   * Frames that arrive within the next `ms` of the machine's time: the window is extended by the
   * stalls measured during it, which held up the POP as they held up this process.
   */
  async framesWithin(ms: number): Promise<number> {
    const before = this.frames;
    const meter = new StallMeter();
    await sleep(ms);
    meter.stop();
    await sleep(meter.bound(0));
    return this.frames - before;
  }

  private count(b: Buffer): void {
    this.packets++;
    if (b.length >= 12 && ((b[1] ?? 0) & 0x80) !== 0) this.frames++;
  }
}

/**
 * Sends raw requests on a new connection and collects the replies: done when as many replies as
 * requests have come (or the connection closed), or after `ms` at most, so a loaded machine
 * only makes it slower, never emptier.
 */
function exchange(localAddress: string, text: string, ms = 5000): Promise<string> {
  const wanted = text.match(/ RTSP\/1\.0\r\n/g)?.length ?? 1;
  return new Promise((resolve) => {
    const socket = connect({ host: pop(), port: PORTS.rtsp, localAddress });
    open.push({ close: () => socket.destroy() });
    let got = '';
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(finish, ms);
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const replies = got.split('\r\n\r\n').length - 1;
      if (replies >= wanted) finish();
    });
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.on('connect', () => socket.write(text));
  });
}

function request(method: string, extra: string, cseq = 1): string {
  return `${method} ${url()} RTSP/1.0\r\nCSeq: ${cseq}\r\n${extra}\r\n`;
}

function popStatus(): Promise<StatusReport> {
  return run.status('p1');
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}

/** A TCP-interleaved viewer that SETUPs and PLAYs, then never reads again. */
function stalledViewer(localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: pop(), port: PORTS.rtsp, localAddress });
    open.push({ close: () => socket.destroy() });
    let got = '';
    let playSent = false;
    const timer = setTimeout(
      () => reject(new Error(`stalled viewer ${localAddress}: no answer (${got.slice(0, 80)})`)),
      10_000,
    );
    socket.on('error', (err) => reject(err));
    socket.on('connect', () => socket.write(request('SETUP', 'Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n')));
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const id = /Session: ([0-9A-F]+)/.exec(got)?.[1];
      if (id !== undefined && !playSent) {
        playSent = true;
        socket.write(request('PLAY', `Session: ${id}\r\n`, 2));
      }
      if (got.includes('CSeq: 2')) {
        clearTimeout(timer);
        socket.removeAllListeners('data');
        socket.pause(); // from now on nothing is read: the POP's queue for it fills up
        resolve(socket);
      }
    });
  });
}

beforeAll(async () => {
  // 640x480 at quality 90: ~20 kB frames, so a viewer that does not read falls behind fast.
  makeSampleMovies(movies, { frames: 50, width: 640, height: 480, quality: 90 });
  run.start();
  await run.converged();
}, 40_000);

afterEach(async () => {
  for (const o of open.splice(0).reverse()) {
    try {
      o.close();
    } catch {
      // already closed
    }
  }
  await sleep(300); // let the POP see the connections go
});

afterAll(async () => {
  await run.stop();
  rmSync(movies, { recursive: true, force: true });
});

describe('a POP under hostile RTSP clients', () => {
  it('answers client_port=0-0 and odd pairs with 461, and viewers before and after keep getting frames', async () => {
    const viewer = await Viewer.open('127.2.100.20');
    expect(await viewer.framesWithin(1000)).toBeGreaterThan(10);
    for (const ports of ['0-0', '0-1', '5001-5002', '5000-5003', '70000-70001']) {
      const setup = request('SETUP', `Transport: RTP/AVP;unicast;client_port=${ports}\r\n`);
      const reply = await exchange('127.2.100.66', setup);
      expect(reply, ports).toMatch(/^RTSP\/1\.0 461 /);
      expect(reply).not.toMatch(/Session:/i);
    }
    // The old attack, all in one go: SETUP 0-0 then PLAY naming whatever came back.
    const attack = await exchange(
      '127.2.100.66',
      request('SETUP', 'Transport: RTP/AVP;unicast;client_port=0-0\r\n') +
        request('PLAY', 'Session: 0000000000000001\r\n', 2),
    );
    expect(attack).toMatch(/^RTSP\/1\.0 461 [\s\S]*RTSP\/1\.0 454 /);
    // Half the frame rate over 2 s: "keeps getting frames", and a loaded host's stall does not fail it.
    expect(await viewer.framesWithin(2000)).toBeGreaterThan(25);
    const later = await Viewer.open('127.2.100.21');
    expect(await later.framesWithin(2000)).toBeGreaterThan(25);
    const st = await popStatus();
    expect(st.counters?.rtsp).toMatchObject({ internalErrors: 0, sessionsFailed: 0 });
    expect(run.lines.join('\n')).not.toMatch(/ERR_SOCKET_BAD_PORT|RangeError/);
  }, 30_000);

  it('answers TEARDOWN and PAUSE with a stolen session id from elsewhere with 454; the viewer plays on', async () => {
    const udp = await Viewer.open('127.2.100.22');
    const tcp = await Viewer.open('127.2.100.23', 'tcp');
    // /status no longer publishes ids: an attacker would have to sniff them; the test just knows them.
    const status = await run.statusText('p1');
    expect(status).not.toContain(udp.session);
    expect(status).not.toContain(tcp.session);
    const tries = [
      [udp.session, '127.0.99.99'],
      [tcp.session, '127.0.99.99'],
      [tcp.session, '127.2.100.23'],
    ] as const;
    for (const [id, from] of tries) {
      for (const method of ['TEARDOWN', 'PAUSE', 'GET_PARAMETER']) {
        const reply = await exchange(from, request(method, `Session: ${id}\r\n`));
        expect(reply, `${method} ${id} from ${from}`).toMatch(/^RTSP\/1\.0 454 /);
      }
    }
    expect(await udp.framesWithin(1500)).toBeGreaterThan(20);
    expect(await tcp.framesWithin(1500)).toBeGreaterThan(20);
    // The owner still controls its session.
    expect((await udp.client.request('TEARDOWN', url())).status).toBe(200);
  }, 30_000);

  it('lets a new viewer in while 64 addresses hold 16 idle SETUPs each', async () => {
    const attackers = 64;
    await Promise.all(
      Array.from({ length: attackers }, async (_, a) => {
        const c = await RtspClient.open(pop(), PORTS.rtsp, `127.99.1.${a + 1}`);
        open.push(c);
        for (let s = 0; s < MAX_SESSIONS_PER_CLIENT; s++) {
          const transport = `RTP/AVP;unicast;client_port=${20000 + 2 * s}-${20001 + 2 * s}`;
          // A flood this size can starve the POP's probes on a loaded machine: a refusal is asked again (bounded).
          let r = await c.request('SETUP', url(), { Transport: transport }, 10_000);
          for (let retry = 0; r.status !== 200 && retry < 10; retry++) {
            await sleep(300);
            r = await c.request('SETUP', url(), { Transport: transport }, 10_000);
          }
          if (r.status !== 200) throw new Error(`attacker SETUP ${a}/${s}: ${r.status}`);
        }
      }),
    );
    expect((await popStatus()).sessions).toHaveLength(MAX_SESSIONS);
    await sleep(2500); // past the eviction grace period
    const viewer = await Viewer.open('127.2.100.24');
    expect(await viewer.framesWithin(1500)).toBeGreaterThan(20);
    expect((await popStatus()).counters?.rtsp?.sessionsEvicted).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('stays under 200 MB while 128 TCP-interleaved viewers never read; a normal viewer still plays', async () => {
    const viewer = await Viewer.open('127.2.100.25');
    const stuck: Socket[] = [];
    const sources = 8;
    await Promise.all(
      Array.from({ length: sources }, async (_, a) => {
        for (let s = 0; s < 128 / sources; s++) stuck.push(await stalledViewer(`127.99.2.${a + 1}`));
      }),
    );
    expect(stuck).toHaveLength(128);
    const { pid } = await popStatus();
    let peak = rssMb(pid);
    // Kernel buffers take the first seconds; before the fix the POP passed 500 MB by 16 s.
    for (let i = 0; i < 32; i++) {
      await sleep(500);
      peak = Math.max(peak, rssMb(pid));
    }
    const st = await popStatus();
    const dropping = (st.sessions ?? []).filter((s) => s.transport === 'tcp' && s.framesDropped > 0);
    console.log(`POP peak RSS ${peak.toFixed(0)} MB with 128 stalled TCP viewers; ${dropping.length} dropping frames`);
    expect(peak).toBeLessThan(RSS_LIMIT_MB);
    expect(dropping.length).toBeGreaterThan(100); // the limit was reached: without it the queues would grow
    expect(await viewer.framesWithin(2000)).toBeGreaterThan(30);
  }, 60_000);

  it('lets a new viewer in during a flood of 3000 idle connections, and closes them when idle', async () => {
    const viewer = await Viewer.open('127.2.100.26');
    const flood: Socket[] = [];
    let closedByPop = 0;
    const connectFrom = (localAddress: string) =>
      new Promise<void>((resolve) => {
        const socket = connect({ host: pop(), port: PORTS.rtsp, localAddress });
        flood.push(socket);
        open.push({ close: () => socket.destroy() });
        socket.on('error', () => {});
        socket.once('close', () => closedByPop++);
        socket.once('connect', () => resolve());
        socket.once('error', () => resolve());
      });
    // A few addresses that try far more than their share, and many that stay under it.
    for (let a = 1; a <= 10; a++) for (let i = 0; i < 90; i++) await connectFrom(`127.99.3.${a}`);
    for (let a = 1; a <= 70; a++) await Promise.all(Array.from({ length: 30 }, () => connectFrom(`127.99.4.${a}`)));
    expect(flood).toHaveLength(3000);
    const during = await Viewer.open('127.2.100.27');
    const [fresh, earlier] = await Promise.all([during.framesWithin(2000), viewer.framesWithin(2000)]);
    expect(fresh).toBeGreaterThan(25);
    expect(earlier).toBeGreaterThan(25);
    const busy = (await popStatus()).counters?.rtsp?.connections;
    expect(busy?.refusedPerAddress).toBeGreaterThan(500);
    expect(busy?.open).toBeLessThanOrEqual(2048);
    // Idle ones go after the timeout; the viewers' connections stay.
    await sleep((IDLE_TIMEOUT_SEC + 2) * 1000);
    const after = (await popStatus()).counters?.rtsp?.connections;
    expect(after?.open).toBeLessThan(10);
    expect(closedByPop).toBeGreaterThan(2990);
    expect(await during.framesWithin(2000)).toBeGreaterThan(25);
  }, 90_000);
});
