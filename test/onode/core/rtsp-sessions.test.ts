import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import type { MovieInfo, NakReason } from '../../../common/wire/overlay.ts';
import { decodeRtcp } from '../../../common/wire/rtcp.ts';
import { encodeRtp } from '../../../common/wire/rtp.ts';
import { decodeRtspMessage, type RtspRequest } from '../../../common/wire/rtsp.ts';
import { MAX_SESSIONS_PER_CLIENT, type RtspReply, RtspSessions, SESSION_TIMEOUT_SEC } from '../../../onode/core/rtsp-sessions.ts';
import type { LocalReceiver } from '../../../onode/core/stream-tree.ts';

const MOVIE: MovieInfo = { name: 'bars.mjpeg', fps: 25, width: 320, height: 240, frames: 100 };
const URL = 'rtsp://127.0.6.2:8554/bars.mjpeg';

function rtp(seq: number, timestamp: number): Buffer {
  return encodeRtp({ marker: false, payloadType: 26, sequenceNumber: seq, timestamp, ssrc: 0xabc, csrcs: [], payload: Buffer.alloc(20) });
}

function harness(onJoin: (r: LocalReceiver, movie: string) => void = (r) => r.joined()) {
  const clock = new VirtualClock();
  const joined = new Map<string, LocalReceiver>();
  const left: string[] = [];
  const sent: { peer: number; rtp: Buffer }[] = [];
  const rtcpSent: { peer: number; rtcp: Buffer }[] = [];
  const cache = new Map<number, Buffer>();
  const latest: Buffer[] = [];
  let n = 0;
  const sessions = new RtspSessions({
    clock,
    catalogue: () => [MOVIE],
    join: (movie, id, r) => { joined.set(id, r); onJoin(r, movie); },
    leave: (_m, id) => { left.push(id); joined.delete(id); },
    sendRtp: (peer, _d, rtp) => sent.push({ peer: peer.id, rtp }),
    sendRtcp: (peer, _d, rtcp) => rtcpSent.push({ peer: peer.id, rtcp }),
    repair: (_m, _ssrc, seqs) => seqs.filter((q) => cache.has(q)).map((q) => cache.get(q)!),
    wallClockMs: () => 1_700_000_000_000 + clock.now(),
    latestFrame: () => latest,
    serverPorts: () => [6000, 6001],
    randomId: () => `S${++n}`,
  });
  sessions.start();
  const peer = (id = 1, remoteAddress = '127.0.6.20') => ({ id, remoteAddress, localAddress: '127.0.6.2' });
  const ask = (method: string, uri: string, headers: Record<string, string> = {}, p = peer()): RtspReply[] => {
    const replies: RtspReply[] = [];
    const req: RtspRequest = { type: 'request', method, uri, headers: new Map(Object.entries({ cseq: '1', ...headers })), body: Buffer.alloc(0) };
    sessions.handle(p, req, (r) => replies.push(r));
    return replies;
  };
  const setup = (p = peer()): string => {
    const [r] = ask('SETUP', `${URL}/trackID=0`, { transport: 'RTP/AVP;unicast;client_port=5000-5001' }, p);
    expect(r?.status).toBe(200);
    return String(r?.headers.Session).split(';')[0] ?? '';
  };
  return { clock, sessions, joined, left, sent, rtcpSent, cache, latest, ask, setup, peer };
}

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
    const receiver = h.joined.get(id);
    receiver?.deliver(rtp(1, 0));
    expect(h.sent).toHaveLength(0);
    expect(h.ask('PLAY', URL, { session: id })[0]?.status).toBe(200);
    receiver?.deliver(rtp(2, 0));
    expect(h.ask('PAUSE', URL, { session: id })[0]?.status).toBe(200);
    receiver?.deliver(rtp(3, 0));
    expect(h.sent.map((s) => s.rtp.readUInt16BE(2))).toEqual([2]);
    expect(h.ask('TEARDOWN', URL, { session: id })[0]?.status).toBe(200);
    expect(h.left).toEqual([id]);
    expect(h.ask('PLAY', URL, { session: id })[0]?.status).toBe(454);
  });

  it('answers SETUP for interleaved TCP with the channels', () => {
    const h = harness();
    const [r] = h.ask('SETUP', URL, { transport: 'RTP/AVP/TCP;unicast;interleaved=2-3' });
    expect(r?.status).toBe(200);
    expect(r?.headers.Transport).toContain('interleaved=2-3');
  });

  it.each<[NakReason, number]>([['unknown-movie', 404], ['no-route', 503], ['timeout', 503], ['overloaded', 453]])(
    'turns a NAK %s from the overlay into %i', (reason, status) => {
      const h = harness((r) => r.failed(reason, 'detail'));
      const [r] = h.ask('SETUP', URL, { transport: 'RTP/AVP;unicast;client_port=5000-5001' });
      expect(r?.status).toBe(status);
      expect(r?.headers['X-Nak-Reason']).toBe(reason);
      expect(h.sessions.list()).toHaveLength(0);
    });

  it('answers SETUP only once the tree is joined', () => {
    let pending: LocalReceiver | undefined;
    const h = harness((r) => { pending = r; });
    const replies = h.ask('SETUP', URL, { transport: 'RTP/AVP;unicast;client_port=5000-5001' });
    expect(replies).toHaveLength(0);
    pending?.joined();
    expect(replies[0]?.status).toBe(200);
  });

  it('refuses bad requests with the proper status', () => {
    const h = harness();
    expect(h.ask('SETUP', 'rtsp://127.0.6.2:8554/nope.mjpeg', { transport: 'RTP/AVP;unicast;client_port=5000-5001' })[0]?.status).toBe(404);
    expect(h.ask('SETUP', URL)[0]?.status).toBe(400);
    expect(h.ask('SETUP', URL, { transport: 'RTP/AVP;multicast' })[0]?.status).toBe(461);
    expect(h.ask('SETUP', URL, { transport: 'RAW/RAW/UDP;unicast' })[0]?.status).toBe(461);
    expect(h.ask('PLAY', URL, { session: 'nope' })[0]?.status).toBe(454);
    expect(h.ask('RECORD', URL)[0]?.status).toBe(501);
    expect(h.ask('DESCRIBE', 'http://x/bars.mjpeg')[0]?.status).toBe(400);
    const noCseq: RtspRequest = { type: 'request', method: 'OPTIONS', uri: '*', headers: new Map(), body: Buffer.alloc(0) };
    const replies: RtspReply[] = [];
    h.sessions.handle(h.peer(), noCseq, (r) => replies.push(r));
    expect(replies[0]?.status).toBe(400);
  });

  it('limits sessions per client address', () => {
    const h = harness();
    for (let i = 0; i < MAX_SESSIONS_PER_CLIENT; i++) h.setup(h.peer(i));
    expect(h.ask('SETUP', URL, { transport: 'RTP/AVP;unicast;client_port=5000-5001' }, h.peer(99))[0]?.status).toBe(453);
    expect(h.ask('SETUP', URL, { transport: 'RTP/AVP;unicast;client_port=5000-5001' }, h.peer(100, '127.0.7.20'))[0]?.status).toBe(200);
  });

  it('reaps a session without keep-alives after its timeout, and keeps one that sends them', () => {
    const h = harness();
    const quiet = h.setup(h.peer(1));
    const chatty = h.setup(h.peer(2, '127.0.7.20'));
    for (let t = 0; t < SESSION_TIMEOUT_SEC + 5; t += 10) {
      h.clock.advance(10_000);
      h.ask('GET_PARAMETER', URL, { session: chatty }, h.peer(2, '127.0.7.20'));
    }
    expect(h.left).toEqual([quiet]);
    expect(h.sessions.counters.sessionsReaped).toBe(1);
  });

  it('ends the sessions of a closed connection', () => {
    const h = harness();
    const id = h.setup();
    h.sessions.disconnected(h.peer());
    expect(h.left).toEqual([id]);
  });

  it('sends RTCP sender reports for playing sessions with the stream\'s SSRC', () => {
    const h = harness();
    const id = h.setup();
    h.ask('PLAY', URL, { session: id });
    h.joined.get(id)?.deliver(rtp(7, 1000));
    h.clock.advance(5000);
    expect(h.rtcpSent).toHaveLength(1);
    const d = decodeRtcp(h.rtcpSent[0]!.rtcp);
    expect(d.ok && d.value[0]).toMatchObject({ type: 'sr', ssrc: 0xabc, packetCount: 1 });
  });

  it('resends packets a client NACKs, and a receiver report keeps the session alive', () => {
    const h = harness();
    const id = h.setup();
    h.ask('PLAY', URL, { session: id });
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
    h.latest.push(rtp(40, 9000), rtp(41, 9000));
    const id = h.setup();
    h.ask('PLAY', URL, { session: id });
    expect(h.sent.map((p) => p.rtp.readUInt16BE(2))).toEqual([40, 41]);
    h.ask('PLAY', URL, { session: id });
    expect(h.sent).toHaveLength(2);
  });

  it('never throws on random requests', () => {
    const h = harness();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.string({ maxLength: 300 }), (bytes, text) => {
      for (const input of [Buffer.from(bytes), Buffer.from(`${text}\r\n\r\n`), Buffer.from(`SETUP ${text} RTSP/1.0\r\nCSeq: 1\r\nTransport: ${text}\r\n\r\n`)]) {
        const d = decodeRtspMessage(input);
        if (d.ok && d.value.type === 'request') h.sessions.handle(h.peer(), d.value, () => {});
      }
    }), { numRuns: 300 });
  });
});
