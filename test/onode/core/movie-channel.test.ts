import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import { verifyFrame } from '../../../common/security/frame-signature.ts';
import { type RtpPacket, seqDiff } from '../../../common/wire/rtp.ts';
import { MovieChannel } from '../../../onode/core/movie-channel.ts';
import { loadMovieLibrary, SERVER_RTP_PACKET_BYTES, type MovieLibrary } from '../../../onode/media/movie-library.ts';
import { makeSampleMovies } from '../../../common/samples/sample-movies.ts';
import { keyringOf, testServer } from '../../common/security/signed-frames.ts';

describe('a server channel signing its frames', () => {
  let dir: string;
  let library: MovieLibrary;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'movie-channel-'));
    makeSampleMovies(dir, { frames: 30 });
    library = loadMovieLibrary(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const MOVIES = ['bars.mjpeg', 'bounce.mjpeg', 'gradient.mjpeg'];
  it.each(MOVIES)('sends %s as signed frames, packets within 1368 bytes', (name) => {
    const s1 = testServer('s1');
    const ring = keyringOf(s1);
    const movie = library.movies.find((m) => m.name === name)!;
    const clock = new VirtualClock();
    const sent: Buffer[] = [];
    const sign = (m: string, p: readonly RtpPacket[]): Buffer[] => s1.signer.signFrame(m, p);
    const channel = new MovieChannel(
      clock,
      movie,
      (rtp) => sent.push(rtp),
      () => clock.now(),
      sign,
    );
    channel.start();
    clock.advance(1990); // 50 frames at 25 fps: the 30-frame movie loops once
    channel.stop();
    expect(channel.framesSent).toBe(50);
    expect(Math.max(...sent.map((b) => b.length))).toBeLessThanOrEqual(SERVER_RTP_PACKET_BYTES);
    // Consecutive sequence numbers across frames (and across the loop).
    const seqs = sent.map((b) => b.readUInt16BE(2));
    for (let i = 1; i < seqs.length; i++) expect(seqDiff(seqs[i]!, seqs[i - 1]!)).toBe(1);
    const frames = new Map<number, Buffer[]>();
    for (const p of sent) frames.set(p.readUInt32BE(4), [...(frames.get(p.readUInt32BE(4)) ?? []), p]);
    expect(frames.size).toBe(50);
    for (const f of frames.values()) expect(verifyFrame(f, name, (id) => ring.byKeyId(id)?.key)).toEqual({ ok: true });
  });
});
