import { describe, expect, it } from 'vitest';
import { encodeJpeg } from '../../../common/samples/jpeg-encoder.ts';
import { buildJpeg, parseJpeg, type JpegImage } from '../../../common/media/jpeg.ts';
import { renderPattern } from '../../../common/samples/test-pattern.ts';
import { signedPayloadLimit } from '../../../common/wire/frame-auth.ts';
import { decodeRtp, encodeRtp, type RtpPacket } from '../../../common/wire/rtp.ts';
import { packetizeJpegFitted, RTP_JPEG_PAYLOAD_TYPE } from '../../../common/wire/rtp-jpeg.ts';
import { FrameAssembler } from '../../../oclient/core/frame-assembler.ts';
import { FrameVerifier, keyringFromLogin } from '../../../oclient/core/frame-verifier.ts';
import { type TestServer, testServer } from '../../common/security/signed-frames.ts';

const MOVIE = 'bars.mjpeg';
const s1 = testServer('s1');
const forger = testServer('s1'); // signs with a key of its own, which the login did not list

/** `count` frames of the bars pattern as a server sends them, signed by `by(frame index)`. */
function stream(count: number, by: (f: number) => TestServer | null): { packets: Buffer[]; frames: Buffer[] } {
  const packets: Buffer[] = [];
  const frames: Buffer[] = [];
  let seq = 65500;
  for (let f = 0; f < count; f++) {
    const parsed = parseJpeg(encodeJpeg(renderPattern('bars', f, 160, 120)));
    if (!parsed.ok) throw new Error(parsed.detail);
    frames.push(buildJpeg(parsed.value));
    const limit = signedPayloadLimit(600); // small packets: several per frame
    const payloads = packetizeJpegFitted(parsed.value, limit);
    const rtp: RtpPacket[] = payloads.map((payload, i) => ({
      marker: i === payloads.length - 1,
      payloadType: RTP_JPEG_PAYLOAD_TYPE,
      sequenceNumber: (seq + i) & 0xffff,
      timestamp: 3600 * f,
      ssrc: 9,
      csrcs: [],
      payload,
    }));
    seq = (seq + payloads.length) & 0xffff;
    const signer = by(f);
    packets.push(...(signer === null ? rtp.map((p) => encodeRtp(p)) : signer.signer.signFrame(MOVIE, rtp)));
  }
  return { packets, frames };
}

function client(): { asm: FrameAssembler; verifier: FrameVerifier; shown: Buffer[] } {
  const { keyring, invalid } = keyringFromLogin([{ server: 's1', key: s1.raw.toString('base64') }]);
  expect(invalid).toEqual([]);
  const verifier = new FrameVerifier(MOVIE, keyring);
  const shown: Buffer[] = [];
  const asm = new FrameAssembler(
    (img: JpegImage) => shown.push(buildJpeg(img)),
    90_000,
    (p) => verifier.check(p),
  );
  return { asm, verifier, shown };
}

describe('client frame verification', () => {
  it('shows every frame of a signed stream, pixel for pixel', () => {
    const { packets, frames } = stream(5, () => s1);
    expect(packets.length).toBeGreaterThan(10);
    const { asm, verifier, shown } = client();
    for (const p of packets) asm.push(p, 0);
    expect(shown).toEqual(frames);
    expect(verifier.counters).toMatchObject({ framesVerified: 5, framesRejected: 0 });
    expect(asm.stats).toMatchObject({ framesReceived: 5, framesRejected: 0, framesLost: 0 });
  });

  it('counts a forged frame in framesRejected and shows the genuine ones around it', () => {
    const { packets, frames } = stream(5, (f) => (f === 2 ? forger : s1));
    const { asm, verifier, shown } = client();
    for (const p of packets) asm.push(p, 0);
    expect(shown).toEqual([frames[0], frames[1], frames[3], frames[4]]);
    expect(asm.stats).toMatchObject({ framesReceived: 4, framesRejected: 1, framesLost: 0 });
    expect(verifier.counters.reasons).toEqual({ 'unknown-key': 1 });
  });

  it('a forged frame numbered far ahead moves nothing: the genuine frames after it are all shown', () => {
    const { packets, frames } = stream(6, () => s1);
    const forged = stream(1, () => forger).packets.map((p) => {
      const d = decodeRtp(p);
      if (!d.ok) throw new Error('bad packet');
      return encodeRtp({
        ...d.value,
        sequenceNumber: (d.value.sequenceNumber + 30_000) & 0xffff,
        timestamp: 0x70000000,
      });
    });
    const { asm, shown } = client();
    for (const p of packets.slice(0, 3)) asm.push(p, 0);
    for (const p of forged) asm.push(p, 0);
    for (const p of packets.slice(3)) asm.push(p, 0);
    expect(shown).toEqual(frames);
    expect(asm.stats.framesRejected).toBe(1);
  });

  it("rejects a frame whose payload was altered on the way, an unsigned frame, and another movie's frame", () => {
    const { packets } = stream(4, (f) => (f === 1 ? null : s1));
    const altered = packets.map((p) => Buffer.from(p));
    const d = decodeRtp(altered[2]!);
    const frame0 = d.ok ? d.value.timestamp === 0 : false;
    expect(frame0).toBe(true);
    altered[2]![altered[2]!.length - 1]! ^= 0x10; // a scan byte of frame 0
    const { asm, verifier } = client();
    for (const p of altered) asm.push(p, 0);
    expect(verifier.counters).toMatchObject({ framesVerified: 2, framesRejected: 2 });
    expect(verifier.counters.reasons).toEqual({ 'hash-mismatch': 1, unsigned: 1 });

    const { keyring } = keyringFromLogin([{ server: 's1', key: s1.raw.toString('base64') }]);
    const other = new FrameVerifier('other.mjpeg', keyring);
    const asm2 = new FrameAssembler(
      () => {},
      90_000,
      (p) => other.check(p),
    );
    for (const p of stream(1, () => s1).packets) asm2.push(p, 0);
    expect(asm2.stats.framesRejected).toBe(1);
  });

  it('refuses to show frames fed without their bytes when it must check them', () => {
    const { packets } = stream(2, () => s1);
    const { asm, shown } = client();
    for (const p of packets) {
      const d = decodeRtp(p);
      if (d.ok) asm.pushPacket(d.value, 0);
    }
    expect(shown).toEqual([]);
    expect(asm.stats.framesRejected).toBe(2);
  });

  it('asks for the keys again when a frame names a key the login did not list, and accepts it once known', () => {
    const restarted = testServer('s1'); // s1 after a restart: a new key
    const { keyring } = keyringFromLogin([{ server: 's1', key: s1.raw.toString('base64') }]);
    const verifier = new FrameVerifier(MOVIE, keyring);
    let asked = 0;
    verifier.events.on('unknown-key', () => {
      asked++;
    });
    const shown: Buffer[] = [];
    const asm = new FrameAssembler(
      (img) => shown.push(buildJpeg(img)),
      90_000,
      (p) => verifier.check(p),
    );
    const { packets, frames } = stream(3, () => restarted);
    const firstFrame = packets.filter((p) => p.readUInt32BE(4) === 0);
    for (const p of firstFrame) asm.push(p, 0);
    expect(asked).toBe(1);
    keyring.set('s1', restarted.raw);
    for (const p of packets.slice(firstFrame.length)) asm.push(p, 0);
    expect(shown).toEqual(frames.slice(1));
    expect(asm.stats).toMatchObject({ framesRejected: 1, framesReceived: 2 });
  });

  it('names the servers whose login key is not an Ed25519 key', () => {
    const { keyring, invalid } = keyringFromLogin([
      { server: 's1', key: s1.raw.toString('base64') },
      { server: 's2', key: 'bm90IGEga2V5' },
    ]);
    expect(invalid).toEqual(['s2']);
    expect(keyring.list().map((k) => k.server)).toEqual(['s1']);
  });
});
