/**
 * What signed streams cost, per frame of the sample movies (320x240, 25 fps): the server signing
 * each frame as it sends it, a POP checking it packet by packet (StreamVerifier, as the overlay
 * feeds it), and a client checking the whole frame before showing it (verifyFrame). Prints µs per
 * frame (median and mean over every frame of each movie, several rounds) and the share of one
 * core at 25 fps, plus what the extension adds to the stream. CPU only: no sockets, no processes.
 *
 *   npm run bench:signing            (node dist/bench/signing/main.js [--rounds 5])
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { VirtualClock } from '../../common/core/clock.ts';
import { FrameSigner, verifyFrame } from '../../common/security/frame-signature.ts';
import { rawEd25519, ServerKeyring } from '../../common/security/server-keyring.ts';
import { RTP_HEADER_BYTES, type RtpPacket } from '../../common/wire/rtp.ts';
import { RTP_JPEG_PAYLOAD_TYPE } from '../../common/wire/rtp-jpeg.ts';
import { StreamVerifier } from '../../onode/core/stream-verifier.ts';
import { loadMovieLibrary } from '../../onode/media/movie-library.ts';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';

const FPS = 25;
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Math.max(1, Number(values.rounds) || 5);

interface Cost {
  readonly median: number;
  readonly mean: number;
}

function cost(samplesUs: number[]): Cost {
  const sorted = [...samplesUs].sort((a, b) => a - b);
  const mean = samplesUs.reduce((a, b) => a + b, 0) / Math.max(1, samplesUs.length);
  return { median: sorted[Math.floor(sorted.length / 2)] ?? 0, mean };
}

function timeUs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1000;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-signing-'));
try {
  makeSampleMovies(dir);
  const library = loadMovieLibrary(dir, { fps: FPS });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signer = new FrameSigner(privateKey, publicKey);
  const ring = new ServerKeyring();
  ring.set('s1', rawEd25519(publicKey));
  const lookup = (id: Buffer) => ring.byKeyId(id)?.key;

  const load = loadavg()[0]?.toFixed(1);
  console.log(
    `signed streams: cost per frame, ${library.movies.length} sample movies at ${FPS} fps, ${rounds} rounds` +
      ` (load average ${load})`,
  );
  console.log(
    'movie            pkts/frame  ext bytes/frame     sign µs (mean)    POP verify µs (mean)' +
      '   client verify µs (mean)',
  );
  const all = { sign: [] as number[], pop: [] as number[], client: [] as number[] };
  for (const movie of library.movies) {
    const sign: number[] = [];
    const pop: number[] = [];
    const client: number[] = [];
    let packets = 0;
    let extBytes = 0;
    let seq = 0;
    let ts = 0;
    const clock = new VirtualClock();
    let released = 0;
    const verifier = new StreamVerifier({
      clock,
      keyById: (id) => ring.byKeyId(id),
      release: () => {
        released++;
      },
      faulty: () => {},
    });
    for (let r = 0; r < rounds; r++) {
      for (const payloads of movie.frames) {
        const plain: RtpPacket[] = payloads.map((payload, i) => ({
          marker: i === payloads.length - 1,
          payloadType: RTP_JPEG_PAYLOAD_TYPE,
          sequenceNumber: (seq + i) & 0xffff,
          timestamp: ts >>> 0,
          ssrc: 0x1234,
          csrcs: [],
          payload,
        }));
        seq = (seq + payloads.length) & 0xffff;
        ts += 90_000 / FPS;
        let frame: Buffer[] = [];
        sign.push(
          timeUs(() => {
            frame = signer.signFrame(movie.name, plain);
          }),
        );
        pop.push(
          timeUs(() => {
            for (const p of frame) verifier.push('up', movie.name, p);
          }),
        );
        client.push(
          timeUs(() => {
            if (!verifyFrame(frame, movie.name, lookup).ok) throw new Error('a frame failed to verify');
          }),
        );
        if (r === 0) {
          packets += frame.length;
          extBytes += frame.reduce((n, p, i) => n + p.length - RTP_HEADER_BYTES - (payloads[i]?.length ?? 0), 0);
        }
      }
    }
    if (released !== rounds * packets) {
      throw new Error(`the POP verifier released ${released} of ${rounds * packets} packets`);
    }
    const [s, p, c] = [cost(sign), cost(pop), cost(client)];
    const frames = movie.frames.length;
    const fmt = (x: Cost): string => `${x.median.toFixed(0).padStart(6)} (${x.mean.toFixed(0).padStart(4)})`;
    const perFrame = `${(packets / frames).toFixed(1).padStart(10)} ${(extBytes / frames).toFixed(0).padStart(16)}`;
    console.log(`${movie.name.padEnd(16)} ${perFrame}` + `    ${fmt(s)}        ${fmt(p)}             ${fmt(c)}`);
    all.sign.push(...sign);
    all.pop.push(...pop);
    all.client.push(...client);
  }
  const pct = (us: number): string => `${((us * FPS) / 1e4).toFixed(2)} % of one core`;
  console.log('\nat 25 fps, per stream (median µs per frame):');
  const rows = [
    ['server signing', all.sign],
    ['POP verifying', all.pop],
    ['client verifying', all.client],
  ] as const;
  for (const [what, samples] of rows) {
    const c = cost(samples);
    const us = c.median.toFixed(0).padStart(5);
    console.log(`  ${what.padEnd(18)} ${us} µs/frame (mean ${c.mean.toFixed(0)})  ${pct(c.median)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
