import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packetHash, verifyFrame } from '../../../common/security/frame-signature.ts';
import { decodeFrameAuth, FRAME_AUTH_CHAIN_SPAN, signedPayloadLimit } from '../../../common/wire/frame-auth.ts';
import { decodeRtp, encodeRtp } from '../../../common/wire/rtp.ts';
import { assembleJpeg, decodeJpegFragment, packetizeJpegFitted } from '../../../common/wire/rtp-jpeg.ts';
import { keyringOf, plainFrame, signedFrame, testServer } from './signed-frames.ts';

const s1 = testServer('s1');
const s2 = testServer('s2');
const ring = keyringOf(s1, s2);
const lookup = (id: Buffer) => ring.byKeyId(id)?.key;
const MOVIE = 'bars.mjpeg';

describe('signing and verifying frames', () => {
  it.each([1, 2, 41, 100])('a frame of %i packets verifies, and every packet fits 1368 bytes', (n) => {
    const limit = signedPayloadLimit(1368);
    const packets = plainFrame(n).map((p, i) => ({ ...p, payload: Buffer.alloc(limit(i, n), i) }));
    const frame = s1.signer.signFrame(MOVIE, packets);
    expect(frame).toHaveLength(n);
    for (const raw of frame) expect(raw.length).toBe(1368);
    expect(verifyFrame(frame, MOVIE, lookup)).toEqual({ ok: true });
    // The RTP fields and payloads are untouched: a player that skips the extension sees the same packets.
    frame.forEach((raw, i) => {
      const d = decodeRtp(raw);
      expect(d.ok && { ...d.value, extension: undefined }).toEqual({ ...packets[i], extension: undefined });
    });
  });

  it('cuts a large frame (over 100 packets) so that, signed, every packet fits 1368 bytes and it rebuilds', () => {
    const scan = Buffer.alloc(160_000);
    for (let i = 0; i < scan.length; i++) scan[i] = (i * 7919) & 0xff;
    const img = {
      width: 640,
      height: 480,
      type: 1 as const,
      quantTables: Buffer.alloc(128, 3),
      restartInterval: 0,
      scan,
    };
    const payloads = packetizeJpegFitted(img, signedPayloadLimit(1368));
    expect(payloads.length).toBeGreaterThan(100);
    const packets = plainFrame(payloads.length).map((p, i) => ({ ...p, payload: payloads[i]! }));
    const frame = s1.signer.signFrame(MOVIE, packets);
    expect(Math.max(...frame.map((b) => b.length))).toBeLessThanOrEqual(1368);
    expect(verifyFrame(frame, MOVIE, lookup)).toEqual({ ok: true });
    const fragments = frame.map((b) => {
      const d = decodeRtp(b);
      const f = d.ok ? decodeJpegFragment(d.value.payload) : null;
      if (!f?.ok) throw new Error('undecodable fragment');
      return f.value;
    });
    const rebuilt = assembleJpeg(fragments);
    expect(rebuilt.ok && rebuilt.value.scan.equals(scan)).toBe(true);
  });

  it('chains hashes: packet 0 lists packets 1..40, packet 40 lists 41..80, packet 80 the rest', () => {
    const frame = signedFrame(s1, MOVIE, 100, { payloadBytes: 10 });
    const hashesOf = (i: number): Buffer[] => {
      const d = decodeRtp(frame[i]!);
      const a = d.ok ? decodeFrameAuth(d.value.extension) : null;
      return a?.ok ? [...a.value.hashes] : [];
    };
    expect(hashesOf(0)).toEqual(frame.slice(1, 41).map(packetHash));
    expect(hashesOf(40)).toEqual(frame.slice(41, 81).map(packetHash));
    expect(hashesOf(80)).toEqual(frame.slice(81).map(packetHash));
    expect(hashesOf(1)).toEqual([]);
    expect(FRAME_AUTH_CHAIN_SPAN).toBe(40);
  });

  it("rejects a frame signed for another movie, by an unknown server, or with another server's key id", () => {
    const frame = signedFrame(s1, MOVIE, 3);
    expect(verifyFrame(frame, 'other.mjpeg', lookup)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyFrame(signedFrame(testServer('stranger'), MOVIE, 3), MOVIE, lookup)).toEqual({
      ok: false,
      reason: 'unknown-key',
    });
    // s2 signs but claims to be s1: the signature does not check out with s1's key.
    const forged = s2.signer.signFrame(MOVIE, plainFrame(3));
    s1.signer.keyId.copy(forged[0]!, 12 + 4 + 2);
    expect(verifyFrame(forged, MOVIE, lookup)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('rejects unsigned frames, missing, extra and reordered packets', () => {
    const frame = signedFrame(s1, MOVIE, 5);
    expect(
      verifyFrame(
        plainFrame(5).map((p) => encodeRtp(p)),
        MOVIE,
        lookup,
      ),
    ).toEqual({ ok: false, reason: 'unsigned' });
    expect(verifyFrame([], MOVIE, lookup)).toEqual({ ok: false, reason: 'unsigned' });
    expect(verifyFrame([frame[0]!, frame[1]!, frame[3]!, frame[4]!], MOVIE, lookup)).toEqual({
      ok: false,
      reason: 'wrong-count',
    });
    expect(verifyFrame([frame[0]!, frame[2]!, frame[1]!, frame[3]!, frame[4]!], MOVIE, lookup)).toEqual({
      ok: false,
      reason: 'hash-mismatch',
    });
    expect(verifyFrame(frame.slice(1), MOVIE, lookup)).toEqual({ ok: false, reason: 'unsigned' });
    expect(verifyFrame([Buffer.alloc(5)], MOVIE, lookup)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('splices nothing across frames: a packet of another frame with the same sequence number is rejected', () => {
    const a = signedFrame(s1, MOVIE, 3, { timestamp: 1000 });
    const b = signedFrame(s1, MOVIE, 3, { timestamp: 4600 });
    expect(verifyFrame([a[0]!, b[1]!, a[2]!], MOVIE, lookup)).toEqual({ ok: false, reason: 'hash-mismatch' });
  });

  // Every packet of a 3-packet frame; in a 42-packet frame the start of the head (RTP header, key
  // id, count, signature, first hashes), a plain packet, the chain packet 40 and those around it.
  it.each([
    [3, [0, 1, 2], Infinity],
    [42, [0, 1, 39, 40, 41], 120],
  ])('rejects every single-bit flip in the packets of a %i-packet frame', (n, packets, bytes) => {
    const frame = signedFrame(s1, MOVIE, n, { payloadBytes: 4 });
    let flips = 0;
    for (const p of packets) {
      for (let byte = 0; byte < Math.min(bytes, frame[p]!.length); byte++) {
        for (let bit = 0; bit < 8; bit++) {
          const copy = frame.map((b) => Buffer.from(b));
          copy[p]![byte]! ^= 1 << bit;
          expect(verifyFrame(copy, MOVIE, lookup).ok).toBe(false);
          flips++;
        }
      }
    }
    expect(flips).toBe(8 * packets.reduce((sum, p) => sum + Math.min(bytes, frame[p]!.length), 0));
  });

  it('never throws on and never accepts mutated or random frames (fast-check)', () => {
    const frame = signedFrame(s1, MOVIE, 45, { payloadBytes: 8 });
    fc.assert(
      fc.property(fc.nat(44), fc.nat(), fc.integer({ min: 1, max: 255 }), (p, at, xor) => {
        const copy = frame.map((b) => Buffer.from(b));
        copy[p]![at % copy[p]!.length]! ^= xor;
        expect(verifyFrame(copy, MOVIE, lookup).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (raws) => {
        const bufs = raws.map((r) => Buffer.from(r));
        if (bufs[0] !== undefined && bufs[0].length > 0) bufs[0][0] = 0x90; // V=2 with an extension
        expect(verifyFrame(bufs, MOVIE, lookup).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});
