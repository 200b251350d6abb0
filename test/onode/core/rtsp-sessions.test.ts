import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRtcp } from '../../../common/wire/rtcp.ts';
import { decodeRtspMessage, encodeResponse, type RtspRequest } from '../../../common/wire/rtsp.ts';
import type { NakReason } from '../../../common/wire/overlay.ts';
import {
  EVICTION_GRACE_MS,
  FAST_START_INTERVAL_MS,
  MAX_SESSIONS,
  MAX_SESSIONS_PER_CLIENT,
  type RtspReply,
  SESSION_TIMEOUT_SEC,
} from '../../../onode/core/rtsp-sessions.ts';
import type { LocalReceiver } from '../../../onode/core/stream-tree.ts';
import { randomSessionId } from '../../../onode/net/rtsp-server.ts';
import { rtp, rtspHarness as harness, UDP, URL } from './rtsp-harness.ts';

describe('RtspSessions', () => {
  it('answers OPTIONS with the methods and DESCRIBE with an MJPEG SDP', () => {
    const h = harness();
    expect(h.ask('OPTIONS', '*')[0]?.headers.Public).toContain('TEARDOWN');
    const [d] = h.ask('DESCRIBE', URL);
    expect(d?.status).toBe(200);
    const sdp = d?.body?.toString() ?? '';
    expect(sdp).toContain('m=video 0 RTP/AVP 26');
    expect(sdp).toContain('a=rtpmap:26 JPEG/90000');
    expect(sdp).toContain('a=control:trackID=0');
  });

  it('delivers RTP only between PLAY and PAUSE, then TEARDOWN leaves the tree', () => {
    const h = harness();
    const id = h.setup();
    const receiver = h.receiver(id);
    receiver.deliver(rtp(1, 0));
    expect(h.sent).toHaveLength(0);
    expect(h.play(id)).toBe(200);
    receiver.deliver(rtp(2, 0));
    expect(h.ask('PAUSE', URL, { session: id })[0]?.status).toBe(200);
    receiver.deliver(rtp(3, 0));
    expect(h.sent.map((s) => s.rtp.readUInt16BE(2))).toEqual([2]);
    expect(h.ask('TEARDOWN', URL, { session: id })[0]?.status).toBe(200);
    expect(h.left).toEqual([h.labelOf.get(id)]);
    expect(h.play(id)).toBe(454);
  });

  it('answers SETUP for interleaved TCP with the channels', () => {
    const h = harness();
    const [r] = h.ask('SETUP', URL, { transport: 'RTP/AVP/TCP;unicast;interleaved=2-3' });
    expect(r?.status).toBe(200);
    expect(r?.headers.Transport).toContain('interleaved=2-3');
  });

  it.each<[NakReason, number]>([
    ['unknown-movie', 404],
    ['no-route', 503],
    ['timeout', 503],
    ['overloaded', 453],
  ])('turns a NAK %s from the overlay into %i', (reason, status) => {
    const h = harness({ onJoin: (r) => r.failed(reason, 'detail') });
    const [r] = h.ask('SETUP', URL, { transport: UDP });
    expect(r?.status).toBe(status);
    expect(r?.headers['X-Nak-Reason']).toBe(reason);
    expect(h.sessions.list()).toHaveLength(0);
  });

  it('answers SETUP only once the tree is joined', () => {
    let pending: LocalReceiver | undefined;
    const h = harness({
      onJoin: (r) => {
        pending = r;
      },
    });
    const replies = h.ask('SETUP', URL, { transport: UDP });
    expect(replies).toHaveLength(0);
    pending?.joined();
    expect(replies[0]?.status).toBe(200);
  });

  it('refuses bad requests with the proper status', () => {
    const h = harness();
    expect(h.ask('SETUP', 'rtsp://127.0.6.2:8554/nope.mjpeg', { transport: UDP })[0]?.status).toBe(404);
    expect(h.ask('SETUP', URL)[0]?.status).toBe(400);
    expect(h.ask('SETUP', URL, { transport: 'RTP/AVP;multicast' })[0]?.status).toBe(461);
    expect(h.ask('SETUP', URL, { transport: 'RAW/RAW/UDP;unicast' })[0]?.status).toBe(461);
    expect(h.ask('PLAY', URL, { session: 'nope' })[0]?.status).toBe(454);
    expect(h.ask('RECORD', URL)[0]?.status).toBe(501);
    expect(h.ask('DESCRIBE', 'http://x/bars.mjpeg')[0]?.status).toBe(400);
    const noCseq: RtspRequest = {
      type: 'request',
      method: 'OPTIONS',
      uri: '*',
      headers: new Map(),
      body: Buffer.alloc(0),
    };
    const replies: RtspReply[] = [];
    h.sessions.handle(h.peer(), noCseq, (r) => replies.push(r));
    expect(replies[0]?.status).toBe(400);
  });

  it('limits sessions per client address', () => {
    const h = harness();
    for (let i = 0; i < MAX_SESSIONS_PER_CLIENT; i++) h.setup(h.peer(i));
    expect(h.ask('SETUP', URL, { transport: UDP }, h.peer(99))[0]?.status).toBe(453);
    expect(h.ask('SETUP', URL, { transport: UDP }, h.peer(100, '127.0.7.20'))[0]?.status).toBe(200);
  });

  it('reaps a session without keep-alives after its timeout, and keeps one that sends them', () => {
    const h = harness();
    const quiet = h.setup(h.peer(1));
    const chatty = h.setup(h.peer(2, '127.0.7.20'));
    for (let t = 0; t < SESSION_TIMEOUT_SEC + 5; t += 10) {
      h.clock.advance(10_000);
      h.ask('GET_PARAMETER', URL, { session: chatty }, h.peer(2, '127.0.7.20'));
    }
    expect(h.left).toEqual([h.labelOf.get(quiet)]);
    expect(h.sessions.counters.sessionsReaped).toBe(1);
  });

  it('ends the sessions of a closed connection', () => {
    const h = harness();
    const id = h.setup();
    h.sessions.disconnected(h.peer());
    expect(h.left).toEqual([h.labelOf.get(id)]);
  });

  it("sends RTCP sender reports for playing sessions with the stream's SSRC", () => {
    const h = harness();
    const id = h.setup();
    h.play(id);
    h.receiver(id).deliver(rtp(7, 1000));
    h.clock.advance(5000);
    expect(h.rtcpSent).toHaveLength(1);
    const d = decodeRtcp(h.rtcpSent[0]!.rtp);
    expect(d.ok && d.value[0]).toMatchObject({ type: 'sr', ssrc: 0xabc, packetCount: 1 });
  });

  it('resends packets a client NACKs, and a receiver report keeps the session alive', () => {
    const h = harness();
    const id = h.setup();
    h.play(id);
    h.cache.set(5, rtp(5, 0));
    h.cache.set(6, rtp(6, 0));
    const from = { address: '127.0.6.20', port: 5001 };
    h.sessions.rtcp(from, [{ type: 'nack', senderSsrc: 1, mediaSsrc: 0xabc, lost: [5, 6, 9] }]);
    expect(h.sent.map((p) => p.rtp.readUInt16BE(2))).toEqual([5, 6]);
    expect(h.sessions.counters.retransmitted).toBe(2);
    for (let t = 0; t < SESSION_TIMEOUT_SEC + 10; t += 10) {
      h.clock.advance(10_000);
      h.sessions.rtcp(from, [{ type: 'rr', ssrc: 1, reports: [] }]);
    }
    expect(h.left).toEqual([]);
  });

  it('starts a viewer with the newest complete frame on PLAY, not on PAUSE → PLAY twice', () => {
    const h = harness();
    h.latest.push(rtp(40, 9000), rtp(41, 9000, { marker: true }));
    const id = h.setup();
    h.play(id);
    expect(h.sent.map((p) => p.rtp.readUInt16BE(2))).toEqual([40, 41]);
    h.play(id);
    expect(h.sent).toHaveLength(2);
  });

  it("skips the fast-start frame when the player's X-Last-Frame says it has it (same SSRC only)", () => {
    const h = harness();
    h.latest.push(rtp(40, 9000), rtp(41, 9000, { marker: true }));
    const playWith = (lastFrame: string): number => {
      const id = h.setup();
      const before = h.sent.length;
      expect(h.ask('PLAY', URL, { session: id, 'x-last-frame': lastFrame })[0]?.status).toBe(200);
      return h.sent.length - before;
    };
    expect(playWith('ssrc=00000ABC;rtptime=9000')).toBe(0); // the very frame
    expect(playWith('ssrc=abc;rtptime=12600')).toBe(0); // a later one
    expect(playWith(`ssrc=abc;rtptime=${9000 + 0x7fff_0000}`)).toBe(0); // later, modulo 2^32
    expect(playWith('ssrc=abc;rtptime=5400')).toBe(2); // an earlier one: this frame is new to it
    expect(playWith('ssrc=abd;rtptime=9000')).toBe(2); // another source's timeline
    expect(playWith('ssrc=abc;rtptime=x')).toBe(2); // unreadable: as if absent (ffmpeg sends none)
  });

  it('never throws on random requests', () => {
    const h = harness();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.string({ maxLength: 300 }), (bytes, text) => {
        for (const input of [
          Buffer.from(bytes),
          Buffer.from(`${text}\r\n\r\n`),
          Buffer.from(`SETUP ${text} RTSP/1.0\r\nCSeq: 1\r\nTransport: ${text}\r\n\r\n`),
        ]) {
          const d = decodeRtspMessage(input);
          if (d.ok && d.value.type === 'request') h.sessions.handle(h.peer(), d.value, () => {});
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('RtspSessions against hostile clients', () => {
  it.each([
    'RTP/AVP;unicast;client_port=0-0',
    'RTP/AVP;unicast;client_port=0-1',
    'RTP/AVP;unicast;client_port=0',
    'RTP/AVP;unicast;client_port=5001-5002',
    'RTP/AVP;unicast;client_port=5000-5002',
    'RTP/AVP;unicast;client_port=5000-4999',
    'RTP/AVP;unicast;client_port=65535',
    'RTP/AVP;unicast;client_port=70000-70001',
    'RTP/AVP;unicast',
    'RTP/AVP/TCP;unicast;interleaved=1-2',
    'RTP/AVP/TCP;unicast;interleaved=0-0',
    'RTP/AVP/TCP;unicast;interleaved=4-6',
    'RTP/AVP/TCP;unicast;interleaved=255',
    'RTP/AVP/TCP;unicast;interleaved=256-257',
  ])('answers %s with 461 and creates no session', (transport) => {
    const h = harness();
    expect(h.ask('SETUP', URL, { transport })[0]?.status).toBe(461);
    expect(h.sessions.list()).toEqual([]);
    expect(h.joined.size).toBe(0);
    expect(h.sessions.counters.sessionsOpened).toBe(0);
  });

  it('takes the first usable alternative when an earlier one has a bad port pair', () => {
    const h = harness();
    const transport = 'RTP/AVP;unicast;client_port=0-0,RTP/AVP;unicast;client_port=6000-6001';
    const [r] = h.ask('SETUP', URL, { transport });
    expect(r?.status).toBe(200);
    expect(r?.headers.Transport).toContain('client_port=6000-6001');
  });

  it('refuses interleaved channels the connection already uses, and picks free ones when none are named', () => {
    const h = harness();
    h.setup(h.peer(1), 'RTP/AVP/TCP;unicast;interleaved=0-1');
    expect(h.ask('SETUP', URL, { transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' })[0]?.status).toBe(461);
    const [r] = h.ask('SETUP', URL, { transport: 'RTP/AVP/TCP;unicast' });
    expect(r?.headers.Transport).toContain('interleaved=2-3');
    // Another connection has channels of its own.
    expect(h.ask('SETUP', URL, { transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' }, h.peer(2))[0]?.status).toBe(200);
  });

  it('uses random 64-bit session ids, and refuses to hand out weak ones', () => {
    const ids = new Set(Array.from({ length: 2000 }, randomSessionId));
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^[0-9A-F]{16}$/);
    const h = harness({ randomId: randomSessionId });
    expect(h.setup()).toMatch(/^[0-9A-F]{16}$/);
    let n = 0;
    const weak = harness({ randomId: () => `S${++n}` });
    expect(weak.ask('SETUP', URL, { transport: UDP })[0]?.status).toBe(500);
    expect(weak.sessions.list()).toEqual([]);
  });

  it('answers 454 to PLAY, PAUSE, TEARDOWN and GET_PARAMETER naming a UDP session from another address', () => {
    const h = harness();
    const owner = h.peer(1, '127.0.6.20');
    const id = h.setup(owner);
    expect(h.play(id, owner)).toBe(200);
    const stranger = h.peer(2, '127.0.99.99');
    for (const method of ['PAUSE', 'TEARDOWN', 'PLAY', 'GET_PARAMETER', 'SETUP']) {
      const [r] = h.ask(method, URL, { session: id, transport: UDP }, stranger);
      expect(r, method).toMatchObject({ status: 454 });
      expect(JSON.stringify(r?.headers)).not.toContain(id);
    }
    // Exactly what an id that never existed gets.
    expect(h.ask('TEARDOWN', URL, { session: 'FFFFFFFFFFFFFFFF' }, stranger)[0]?.status).toBe(454);
    expect(h.left).toEqual([]);
    h.receiver(id).deliver(rtp(1, 0));
    expect(h.sent).toHaveLength(1);
    expect(h.sessions.counters.sessionNotFound).toBe(6);
  });

  it('lets a UDP player come back on a new connection from its own address', () => {
    const h = harness();
    const id = h.setup(h.peer(1, '127.0.6.20'));
    expect(h.play(id, h.peer(7, '127.0.6.20'))).toBe(200);
    expect(h.ask('TEARDOWN', URL, { session: id }, h.peer(8, '127.0.6.20'))[0]?.status).toBe(200);
  });

  it('binds a TCP-interleaved session to its connection, even from the same address', () => {
    const h = harness();
    const id = h.setup(h.peer(1), 'RTP/AVP/TCP;unicast;interleaved=0-1');
    expect(h.ask('TEARDOWN', URL, { session: id }, h.peer(2))[0]?.status).toBe(454);
    expect(h.play(id, h.peer(1))).toBe(200);
  });

  it('keeps session ids out of the status list', () => {
    const h = harness({ randomId: randomSessionId });
    const udp = h.setup(h.peer(1));
    const tcp = h.setup(h.peer(2, '127.0.7.20'), 'RTP/AVP/TCP;unicast;interleaved=0-1');
    h.play(udp);
    const list = h.sessions.list();
    expect(JSON.stringify(list)).not.toContain(udp);
    expect(JSON.stringify(list)).not.toContain(tcp);
    expect(list).toEqual([
      expect.objectContaining({
        client: '127.0.6.20',
        movie: 'bars.mjpeg',
        state: 'playing',
        transport: 'udp',
        packets: 0,
      }),
      expect.objectContaining({ client: '127.0.7.20', movie: 'bars.mjpeg', state: 'ready', transport: 'tcp' }),
    ]);
    for (const s of list) expect(Object.keys(s)).not.toContain('id');
  });

  it('evicts the oldest sessions that never played when the table is full, never a playing one', () => {
    const h = harness();
    const address = (i: number): string => `127.1.${Math.floor(i / MAX_SESSIONS_PER_CLIENT)}.1`;
    const ids: string[] = [];
    for (let i = 0; i < MAX_SESSIONS; i++) {
      const p = h.peer(i + 1, address(i));
      ids.push(h.setup(p));
      if (i % 2 === 0) h.play(ids[i]!, p); // every other one plays
    }
    // Too fresh to evict: the players may be between SETUP and PLAY.
    expect(h.ask('SETUP', URL, { transport: UDP }, h.peer(5000, '127.0.50.1'))[0]?.status).toBe(453);
    h.clock.advance(EVICTION_GRACE_MS);
    const fresh = [1, 2, 3].map((k) => h.setup(h.peer(5000 + k, `127.0.50.${k}`)));
    expect(fresh).toHaveLength(3);
    expect(h.sessions.counters.sessionsEvicted).toBe(3);
    // The three oldest that never played: 1, 3 and 5.
    expect(h.left).toEqual([1, 3, 5].map((i) => h.labelOf.get(ids[i]!)));
    expect(h.play(ids[1]!, h.peer(2, address(1)))).toBe(454);
    expect(h.play(ids[0]!, h.peer(1, address(0)))).toBe(200);
  });

  it('answers 453 when every session in a full table has played', () => {
    const h = harness();
    for (let i = 0; i < MAX_SESSIONS; i++) {
      const p = h.peer(i + 1, `127.1.${Math.floor(i / MAX_SESSIONS_PER_CLIENT)}.1`);
      h.play(h.setup(p), p);
    }
    h.clock.advance(EVICTION_GRACE_MS);
    expect(h.ask('SETUP', URL, { transport: UDP }, h.peer(5000, '127.0.50.1'))[0]?.status).toBe(453);
    expect(h.sessions.counters.refused).toBe(1);
    expect(h.sessions.list()).toHaveLength(MAX_SESSIONS);
  });

  it('answers an evicted SETUP that was still joining the tree with 453', () => {
    const pending: LocalReceiver[] = [];
    let hold = true;
    const h = harness({ onJoin: (r) => (hold ? pending.push(r) : r.joined()) });
    const replies: RtspReply[][] = [];
    for (let i = 0; i < MAX_SESSIONS; i++) {
      const p = h.peer(i + 1, `127.1.${Math.floor(i / MAX_SESSIONS_PER_CLIENT)}.1`);
      replies.push(h.ask('SETUP', URL, { transport: UDP }, p));
    }
    hold = false;
    h.clock.advance(EVICTION_GRACE_MS);
    expect(h.ask('SETUP', URL, { transport: UDP }, h.peer(5000, '127.0.50.1'))[0]?.status).toBe(200);
    expect(replies[0]?.[0]?.status).toBe(453);
    pending[0]?.joined(); // a late join answer for it changes nothing
    expect(replies[0]).toHaveLength(1);
  });

  it('gives the fast-start frame at most once per FAST_START_INTERVAL_MS, however often PLAY follows PAUSE', () => {
    const h = harness();
    h.latest.push(rtp(40, 9000), rtp(41, 9000, { marker: true }));
    const id = h.setup();
    for (let i = 0; i < 100; i++) {
      expect(h.play(id)).toBe(200);
      expect(h.ask('PAUSE', URL, { session: id })[0]?.status).toBe(200);
    }
    expect(h.sent).toHaveLength(2);
    h.clock.advance(FAST_START_INTERVAL_MS);
    h.play(id);
    expect(h.sent).toHaveLength(4);
  });

  it('answers over-long URIs with 414 and never echoes a malformed CSeq', () => {
    const h = harness();
    const [long] = h.ask('DESCRIBE', `${URL}?${'a'.repeat(8000)}`);
    expect(long?.status).toBe(414);
    const req: RtspRequest = {
      type: 'request',
      method: 'OPTIONS',
      uri: '*',
      headers: new Map([['cseq', 'x'.repeat(8150)]]),
      body: Buffer.alloc(0),
    };
    const replies: RtspReply[] = [];
    h.sessions.handle(h.peer(), req, (r) => replies.push(r));
    expect(replies[0]).toMatchObject({ status: 400, headers: { CSeq: '0' } });
    // Both replies fit the codec's limits (encoding would throw otherwise).
    expect(encodeResponse(replies[0]!).length).toBeLessThan(200);
    expect(encodeResponse(long!).length).toBeLessThan(200);
  });

  it('answers 500 to a DESCRIBE the SDP builder refuses, and keeps serving', () => {
    // A catalogue entry is data from the overlay: the POP must not trust it to be sane.
    const h = harness({ catalogue: [{ name: 'bad.mjpeg', fps: 0, width: 0, height: 0, frames: 1 }] });
    expect(h.ask('DESCRIBE', 'rtsp://127.0.6.2:8554/bad.mjpeg')[0]?.status).toBe(500);
    expect(h.sessions.counters.internalErrors).toBe(1);
    expect(h.ask('OPTIONS', '*')[0]?.status).toBe(200);
  });

  it('answers exactly once even when the reply callback throws', () => {
    const h = harness();
    const req: RtspRequest = {
      type: 'request',
      method: 'OPTIONS',
      uri: '*',
      headers: new Map([['cseq', '1']]),
      body: Buffer.alloc(0),
    };
    let calls = 0;
    expect(() =>
      h.sessions.handle(h.peer(), req, () => {
        calls++;
        throw new Error('socket gone');
      }),
    ).not.toThrow();
    expect(calls).toBe(1);
    expect(h.sessions.counters.internalErrors).toBe(1);
  });
});
