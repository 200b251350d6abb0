/** Fixtures for tests of signed streams: server keys, plain RTP frames and signed ones. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { FrameSigner } from '../../../common/security/frame-signature.ts';
import { rawEd25519, ServerKeyring } from '../../../common/security/server-keyring.ts';
import type { RtpPacket } from '../../../common/wire/rtp.ts';

export interface TestServer {
  readonly name: string;
  readonly signer: FrameSigner;
  readonly publicKey: KeyObject;
  readonly raw: Buffer;
}

export function testServer(name = 's1'): TestServer {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { name, signer: new FrameSigner(privateKey, publicKey), publicKey, raw: rawEd25519(publicKey) };
}

export function keyringOf(...servers: TestServer[]): ServerKeyring {
  const ring = new ServerKeyring();
  for (const s of servers) ring.set(s.name, s.raw);
  return ring;
}

export interface FrameSpec {
  readonly seq?: number;
  readonly timestamp?: number;
  readonly ssrc?: number;
  /** Payload bytes of each packet; default 100. */
  readonly payloadBytes?: number;
}

/** `n` unsigned RTP packets of one frame: consecutive sequence numbers, one timestamp, marker on the last. */
export function plainFrame(n: number, spec: FrameSpec = {}): RtpPacket[] {
  const seq = spec.seq ?? 1000;
  return Array.from({ length: n }, (_, i) => ({
    marker: i === n - 1,
    payloadType: 26,
    sequenceNumber: (seq + i) & 0xffff,
    timestamp: spec.timestamp ?? 90_000,
    ssrc: spec.ssrc ?? 0x5eed,
    csrcs: [],
    payload: Buffer.alloc(spec.payloadBytes ?? 100, (seq + i) & 0xff),
  }));
}

export function signedFrame(server: TestServer, movie: string, n: number, spec: FrameSpec = {}): Buffer[] {
  return server.signer.signFrame(movie, plainFrame(n, spec));
}
