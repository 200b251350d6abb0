import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import type { ServerKeyring } from '../../../common/security/server-keyring.ts';
import { MAX_HELD_PACKETS, StreamVerifier, VERIFY_HOLD_MS } from '../../../onode/core/stream-verifier.ts';
import { keyringOf, signedFrame, testServer } from '../../common/security/signed-frames.ts';

const MOVIE = 'bars.mjpeg';
const s1 = testServer('s1');
const stranger = testServer('stranger');

interface Rig {
  clock: VirtualClock;
  ring: ServerKeyring;
  verifier: StreamVerifier;
  released: Buffer[];
  faulty: { from: string; movie: string; why: string }[];
}

function rig(ring = keyringOf(s1)): Rig {
  const clock = new VirtualClock();
  const released: Buffer[] = [];
  const faulty: Rig['faulty'] = [];
  const verifier = new StreamVerifier({
    clock,
    keyById: (id) => ring.byKeyId(id),
    release: (_from, movie, rtp) => {
      expect(movie).toBe(MOVIE);
      released.push(rtp);
    },
    faulty: (from, movie, why) => faulty.push({ from, movie, why }),
  });
  ring.onKey(() => verifier.keyAdded());
  return { clock, ring, verifier, released, faulty };
}

const seqOf = (b: Buffer): number => b.readUInt16BE(2);

describe('stream verifier (POP side, virtual time)', () => {
  let r: Rig;
  beforeEach(() => {
    r = rig();
  });

  it.each([1, 2, 41, 100])('releases a %i-packet frame in order as it arrives', (n) => {
    const frame = signedFrame(s1, MOVIE, n, { payloadBytes: 50 });
    for (const p of frame) r.verifier.push('o4', MOVIE, p);
    expect(r.released).toEqual(frame);
    expect(r.verifier.counters).toMatchObject({ verified: n, rejected: 0, held: 0, expired: 0, unknownKey: 0 });
  });

  it('holds packets whose first packet is late, and releases them in order when it arrives', () => {
    const frame = signedFrame(s1, MOVIE, 6);
    for (const p of frame.slice(1)) r.verifier.push('o4', MOVIE, p);
    expect(r.released).toEqual([]);
    expect(r.verifier.holding).toBe(5);
    r.clock.advance(VERIFY_HOLD_MS - 10);
    r.verifier.push('o4', MOVIE, frame[0]!);
    expect(r.released).toEqual(frame);
    expect(r.verifier.counters).toMatchObject({ verified: 6, held: 5, expired: 0 });
    expect(r.verifier.holding).toBe(0);
  });

  it('walks the hash chain of a 100-packet frame received backwards', () => {
    const frame = signedFrame(s1, MOVIE, 100, { payloadBytes: 20 });
    for (const p of [...frame].reverse()) r.verifier.push('o4', MOVIE, p);
    expect(r.released.map(seqOf)).toEqual(frame.map(seqOf));
    expect(r.verifier.counters.verified).toBe(100);
  });

  it('gives up packets whose first packet never comes, after VERIFY_HOLD_MS', () => {
    const frame = signedFrame(s1, MOVIE, 4);
    for (const p of frame.slice(1)) r.verifier.push('o4', MOVIE, p);
    r.clock.advance(VERIFY_HOLD_MS + 60);
    expect(r.verifier.counters).toMatchObject({ expired: 3, verified: 0 });
    r.verifier.push('o4', MOVIE, frame[0]!);
    expect(r.released).toEqual([frame[0]]); // the late first packet alone: the others are gone
  });

  it('verifies a retransmission of an earlier packet by its listed hash (repairs, NACKs)', () => {
    const frame = signedFrame(s1, MOVIE, 3);
    for (const p of frame) r.verifier.push('o4', MOVIE, p);
    r.verifier.push('o3', MOVIE, Buffer.from(frame[1]!));
    expect(r.released).toHaveLength(4);
    expect(r.verifier.counters.rejected).toBe(0);
  });

  it('rejects a frame signed for another movie and reports the sender faulty', () => {
    const frame = signedFrame(s1, 'other.mjpeg', 3);
    for (const p of frame) r.verifier.push('o4', MOVIE, p);
    r.clock.advance(VERIFY_HOLD_MS + 60);
    expect(r.released).toEqual([]);
    expect(r.verifier.counters).toMatchObject({ rejected: 1, expired: 2, verified: 0 });
    expect(r.faulty).toEqual([{ from: 'o4', movie: MOVIE, why: expect.stringContaining('not signed by s1') }]);
  });

  it("rejects a tampered packet (before or after its frame's first packet), and releases the rest", () => {
    const frame = signedFrame(s1, MOVIE, 5);
    const bad = Buffer.from(frame[3]!);
    bad[bad.length - 1]! ^= 1;
    r.verifier.push('o4', MOVIE, bad);
    for (const p of [frame[0]!, frame[1]!, frame[2]!, frame[4]!]) r.verifier.push('o4', MOVIE, p);
    expect(r.released).toEqual([frame[0], frame[1], frame[2], frame[4]]);
    expect(r.faulty.map((f) => f.from)).toEqual(['o4']);
    const later = Buffer.from(frame[2]!);
    later[20]! ^= 0x80;
    r.verifier.push('o9', MOVIE, later);
    expect(r.verifier.counters.rejected).toBe(2);
    expect(r.faulty.map((f) => f.from)).toEqual(['o4', 'o9']);
    expect(r.released).toHaveLength(4);
  });

  it('holds a frame from a server whose key is unknown, then drops it as unknownKey (never faulty)', () => {
    for (const p of signedFrame(stranger, MOVIE, 3)) r.verifier.push('o4', MOVIE, p);
    expect(r.verifier.holding).toBe(3);
    r.clock.advance(VERIFY_HOLD_MS + 60);
    expect(r.released).toEqual([]);
    expect(r.verifier.counters).toMatchObject({ unknownKey: 1, expired: 2, rejected: 0 });
    expect(r.faulty).toEqual([]);
  });

  it("releases a held frame as soon as its server's key becomes known", () => {
    const frame = signedFrame(stranger, MOVIE, 3);
    for (const p of frame) r.verifier.push('o4', MOVIE, p);
    r.clock.advance(100);
    r.ring.set('stranger', stranger.raw);
    expect(r.released).toEqual(frame);
    expect(r.verifier.counters).toMatchObject({ verified: 3, unknownKey: 0, expired: 0 });
  });

  it('never releases unsigned packets', () => {
    const plain = signedFrame(s1, MOVIE, 3).map((b) => {
      const c = Buffer.from(b.subarray(0, 12));
      c[0] = 0x80; // no extension, no payload
      return c;
    });
    for (const p of plain) r.verifier.push('o4', MOVIE, p);
    r.clock.advance(VERIFY_HOLD_MS + 60);
    expect(r.released).toEqual([]);
    expect(r.verifier.counters.expired).toBe(3);
  });

  it(`keeps at most ${MAX_HELD_PACKETS} packets waiting per stream, dropping the oldest`, () => {
    const frame = signedFrame(s1, MOVIE, MAX_HELD_PACKETS + 11, { payloadBytes: 4 });
    for (const p of frame.slice(1)) r.verifier.push('o4', MOVIE, p);
    expect(r.verifier.holding).toBe(MAX_HELD_PACKETS);
    expect(r.verifier.counters.expired).toBe(10);
  });

  it('counts runts and broken extensions as malformed', () => {
    r.verifier.push('o4', MOVIE, Buffer.alloc(5));
    r.verifier.push('o4', MOVIE, Buffer.from('90000001000000000000000110000001ffffffff', 'hex'));
    expect(r.verifier.counters.malformed).toBe(2);
    expect(r.verifier.holding).toBe(0);
  });

  it('never throws on, and never releases, random or mutated packets (fast-check)', () => {
    const frame = signedFrame(s1, MOVIE, 45, { payloadBytes: 8 });
    // Up to 5 edits: (packet, byte, XOR mask).
    const edit = fc.tuple(fc.nat(44), fc.nat(), fc.integer({ min: 1, max: 255 }));
    const edits = fc.array(edit, { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(edits, (edits) => {
        const t = rig();
        const copy = frame.map((b) => Buffer.from(b));
        for (const [p, at, xor] of edits) copy[p]![at % copy[p]!.length]! ^= xor;
        for (const p of copy) t.verifier.push('o4', MOVIE, p);
        t.clock.advance(VERIFY_HOLD_MS + 60);
        const changed = new Set<Buffer>(copy.filter((b, i) => !b.equals(frame[i]!)));
        for (const b of t.released) expect(changed.has(b)).toBe(false);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 8 }), (raws) => {
        const t = rig();
        for (const raw of raws) t.verifier.push('o4', MOVIE, Buffer.from(raw));
        t.clock.advance(VERIFY_HOLD_MS + 60);
        expect(t.released).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});
