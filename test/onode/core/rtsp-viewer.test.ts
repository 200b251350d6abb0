import { describe, expect, it } from 'vitest';
import { FrameGate, SEND_QUEUE_LIMIT_BYTES, STUCK_CLOSE_MS } from '../../../onode/core/rtsp-send-gate.ts';
import { MAX_RETRANSMITS_PER_SEC, MAX_SEND_FAILURES, SEND_CHECK_INTERVAL } from '../../../onode/core/rtsp-viewer.ts';
import { rtp, rtspHarness as harness, URL } from './rtsp-harness.ts';

const TCP = 'RTP/AVP/TCP;unicast;interleaved=0-1';

/** What the stream tree does for each packet: every viewer of the movie, in turn. */
function distribute(h: ReturnType<typeof harness>, packet: Buffer): void {
  for (const r of [...h.joined.values()]) r.deliver(packet);
}

/** One frame of `packets` RTP packets, the last with the marker bit. */
function frame(first: number, packets = 3): Buffer[] {
  return Array.from({ length: packets }, (_, i) =>
    rtp(first + i, first * 3000, {
      marker: i === packets - 1,
      bytes: 1000,
    }),
  );
}

describe("one viewer's failures stay its own", () => {
  it('closes a session whose send throws, and every other viewer keeps receiving', () => {
    const h = harness();
    h.badPorts.add(5000);
    const bad = h.setup(h.peer(1, '127.0.6.20'), 'RTP/AVP;unicast;client_port=5000-5001');
    const good = h.setup(h.peer(2, '127.0.7.20'), 'RTP/AVP;unicast;client_port=6000-6001');
    const later = h.setup(h.peer(3, '127.0.8.20'), 'RTP/AVP;unicast;client_port=6000-6001');
    for (const [id, p] of [
      [bad, 1],
      [good, 2],
      [later, 3],
    ] as const)
      h.play(id, h.peer(p, `127.0.${5 + p}.20`));
    expect(() => distribute(h, rtp(1, 0))).not.toThrow();
    expect(h.sent.map((s) => s.peer)).toEqual([2, 3]);
    h.clock.advance(0);
    expect(h.left).toEqual([h.labelOf.get(bad)]);
    expect(h.sessions.counters).toMatchObject({ sendErrors: 1, sessionsFailed: 1 });
    for (let seq = 2; seq <= 50; seq++) distribute(h, rtp(seq, 0));
    expect(h.sent.filter((s) => s.peer === 2)).toHaveLength(50);
    expect(h.sent.filter((s) => s.peer === 3)).toHaveLength(50);
    expect(h.sessions.counters.sendErrors).toBe(1);
  });

  it('asks how one send in SEND_CHECK_INTERVAL went, and closes after MAX_SEND_FAILURES failures in a row', () => {
    const h = harness();
    const id = h.setup();
    h.play(id);
    for (let seq = 0; seq < 4 * SEND_CHECK_INTERVAL; seq++) distribute(h, rtp(seq, 0));
    const checked = h.sent.flatMap((s) => (s.sent ? [s.sent] : []));
    expect(checked).toHaveLength(4);
    const sent = checked[0]!;
    const failure = new Error('send ENOBUFS');
    for (let i = 0; i < 3 * MAX_SEND_FAILURES; i++) sent(i % MAX_SEND_FAILURES === 0 ? null : failure);
    h.clock.advance(0);
    expect(h.left).toEqual([]);
    for (let i = 0; i < MAX_SEND_FAILURES; i++) sent(failure);
    h.clock.advance(0);
    expect(h.left).toEqual([h.labelOf.get(id)]);
    expect(h.sessions.counters.sessionsFailed).toBe(1);
  });

  it("keeps an exception in one viewer's delivery inside that viewer", () => {
    // A sender whose bookkeeping throws for one connection, e.g. a socket torn down under it.
    const h = harness({
      queuedBytes: (p) => {
        if (p.id === 1) throw new Error('boom');
        return 0;
      },
    });
    const a = h.setup(h.peer(1, '127.0.6.20'), TCP);
    const b = h.setup(h.peer(2, '127.0.7.20'));
    h.play(a, h.peer(1, '127.0.6.20'));
    h.play(b, h.peer(2, '127.0.7.20'));
    expect(() => distribute(h, rtp(1, 0, { marker: true }))).not.toThrow();
    expect(h.sent.map((s) => s.peer)).toEqual([2]);
    h.clock.advance(0);
    expect(h.left).toEqual([h.labelOf.get(a)]);
    expect(h.sessions.counters.internalErrors).toBe(1);
    distribute(h, rtp(2, 0, { marker: true }));
    expect(h.sent.map((s) => s.peer)).toEqual([2, 2]);
  });
});

describe('the bounded send queue of a TCP-interleaved viewer', () => {
  it('drops whole frames while the connection has more than the limit waiting, and counts them', () => {
    const h = harness();
    const id = h.setup(h.peer(1), TCP);
    h.play(id);
    for (const p of frame(10)) distribute(h, p);
    expect(h.sent).toHaveLength(3);
    h.queued.set(1, SEND_QUEUE_LIMIT_BYTES + 1);
    for (const p of frame(20)) distribute(h, p);
    // The reader catches up mid-frame: the rest of that frame is still dropped, the next one goes.
    const [first, ...rest] = frame(30);
    distribute(h, first!);
    h.queued.set(1, 0);
    for (const p of rest) distribute(h, p);
    for (const p of frame(40)) distribute(h, p);
    expect(h.sent.map((s) => s.rtp.readUInt16BE(2))).toEqual([10, 11, 12, 40, 41, 42]);
    expect(h.sessions.list()[0]).toMatchObject({ transport: 'tcp', packets: 6, packetsDropped: 6, framesDropped: 2 });
    expect(h.sessions.counters).toMatchObject({ packetsDropped: 6, framesDropped: 2 });
  });

  it('never queues for a UDP viewer, whatever the connection reports', () => {
    const h = harness();
    const id = h.setup();
    h.play(id);
    h.queued.set(1, 100 * SEND_QUEUE_LIMIT_BYTES);
    for (const p of frame(1)) distribute(h, p);
    expect(h.sent).toHaveLength(3);
  });

  it('closes a viewer that stays over the limit for STUCK_CLOSE_MS, and its connection', () => {
    const h = harness();
    const stuck = h.setup(h.peer(1), TCP);
    const healthy = h.setup(h.peer(2, '127.0.7.20'), TCP);
    h.play(stuck);
    h.play(healthy, h.peer(2, '127.0.7.20'));
    h.queued.set(1, SEND_QUEUE_LIMIT_BYTES * 4);
    let seq = 0;
    for (let t = 0; t <= STUCK_CLOSE_MS; t += 40) {
      for (const p of frame(seq)) distribute(h, p);
      seq += 3;
      h.clock.advance(40);
    }
    expect(h.closedConnections).toEqual([1]);
    expect(h.left).toEqual([h.labelOf.get(stuck)]);
    expect(h.sessions.counters.sessionsStuck).toBe(1);
    expect(h.sent.every((s) => s.peer === 2)).toBe(true);
    expect(h.sent.length).toBe(seq);
  });

  it('starts the stuck clock again when the viewer drains in time', () => {
    const h = harness();
    const id = h.setup(h.peer(1), TCP);
    h.play(id);
    let seq = 0;
    for (let t = 0; t < 3 * STUCK_CLOSE_MS; t += 40) {
      // Over the limit most of the time, but it reads now and then.
      h.queued.set(1, t % (STUCK_CLOSE_MS / 2) < 40 ? 0 : SEND_QUEUE_LIMIT_BYTES + 1);
      for (const p of frame(seq)) distribute(h, p);
      seq += 3;
      h.clock.advance(40);
    }
    expect(h.closedConnections).toEqual([]);
    expect(h.sessions.list()).toHaveLength(1);
  });

  it('sends neither retransmissions nor sender reports into a full queue', () => {
    const h = harness();
    const id = h.setup(h.peer(1), TCP);
    h.play(id);
    distribute(h, rtp(1, 0, { marker: true }));
    h.cache.set(1, rtp(1, 0));
    h.queued.set(1, SEND_QUEUE_LIMIT_BYTES + 1);
    h.sessions.rtcp({ peerId: 1, channel: 1 }, [{ type: 'nack', senderSsrc: 1, mediaSsrc: 0xabc, lost: [1] }]);
    h.clock.advance(5000);
    expect(h.sent).toHaveLength(1);
    expect(h.rtcpSent).toHaveLength(0);
  });
});

describe('retransmissions', () => {
  it('resend each lost packet once per NACK and at most MAX_RETRANSMITS_PER_SEC a second', () => {
    const h = harness();
    const id = h.setup();
    h.play(id);
    for (let q = 0; q < 300; q++) h.cache.set(q, rtp(q, 0));
    const from = { address: '127.0.6.20', port: 5001 };
    const nack = (lost: number[]) => h.sessions.rtcp(from, [{ type: 'nack', senderSsrc: 1, mediaSsrc: 0xabc, lost }]);
    nack([7, 7, 7, 7, 8]);
    expect(h.sent.map((s) => s.rtp.readUInt16BE(2))).toEqual([7, 8]);
    // A flood of NACKs (spoofable over UDP) within one second.
    for (let i = 0; i < 50; i++) nack(Array.from({ length: 256 }, (_, k) => k));
    expect(h.sent).toHaveLength(MAX_RETRANSMITS_PER_SEC);
    h.clock.advance(1000);
    nack([1, 2, 3]);
    expect(h.sent).toHaveLength(MAX_RETRANSMITS_PER_SEC + 3);
    expect(h.sessions.counters.retransmitsLimited).toBeGreaterThan(0);
    expect(h.ask('GET_PARAMETER', URL, { session: id })[0]?.status).toBe(200);
  });
});

describe('retransmissions of what the POP lacks', () => {
  it('spend the budget too: NACKs for packets nobody has cannot keep the POP asking upstream', () => {
    const h = harness();
    const id = h.setup();
    h.play(id);
    h.cache.set(7, rtp(7, 0));
    const from = { address: '127.0.6.20', port: 5001 };
    const nack = (lost: number[]) => h.sessions.rtcp(from, [{ type: 'nack', senderSsrc: 1, mediaSsrc: 0xabc, lost }]);
    for (let i = 0; i < 50; i++) nack(Array.from({ length: 256 }, (_, k) => 1000 + k));
    nack([7]);
    expect(h.sent).toEqual([]);
    expect(h.sessions.counters.retransmitsLimited).toBeGreaterThan(0);
    h.clock.advance(1000);
    nack([7]);
    expect(h.sent.map((s) => s.rtp.readUInt16BE(2))).toEqual([7]);
  });
});

describe('FrameGate', () => {
  it('decides at frame starts only, and reports stuck after the bound', () => {
    const gate = new FrameGate(100, 1000);
    expect(gate.decide(0, false, 0)).toBe('send');
    expect(gate.decide(1000, true, 0)).toBe('send'); // the frame already started goes out whole
    expect(gate.decide(101, false, 10)).toBe('drop');
    expect(gate.decide(0, true, 20)).toBe('drop');
    expect(gate.decide(101, true, 1009)).toBe('drop');
    expect(gate.decide(101, true, 1010)).toBe('stuck');
    expect(gate.decide(100, true, 1020)).toBe('send');
    expect(gate.decide(101, true, 1030)).toBe('drop'); // the stuck clock restarted
    expect({ packets: gate.packetsDropped, frames: gate.framesDropped }).toEqual({ packets: 5, frames: 4 });
  });
});
