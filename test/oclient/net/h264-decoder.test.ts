import { afterAll, describe, expect, it } from 'vitest';
import { H264Decoder } from '../../../oclient/net/h264-decoder.ts';
import { ffmpegOutputBuffer, makeAvFixture, makeTempDir } from './h264-fixture.ts';

describe('H264Decoder (ffmpeg subprocess)', () => {
  let dir: { dir: string; remove: () => Promise<void> } | null = null;
  afterAll(async () => dir?.remove());

  it('turns an Annex B stream into pictures of the size asked for', async () => {
    dir = await makeTempDir();
    const file = await makeAvFixture(dir.dir, 'clip', { audio: 'none' });
    const annexB = await ffmpegOutputBuffer([
      '-i',
      file,
      '-c:v',
      'copy',
      '-bsf:v',
      'h264_mp4toannexb',
      '-f',
      'h264',
      '-',
    ]);
    const decoder = new H264Decoder(160, 120);
    const pictures: { width: number; height: number; bytes: number }[] = [];
    decoder.events.on('picture', (p) => pictures.push({ width: p.width, height: p.height, bytes: p.data.length }));
    // Chunks that do not follow access units: ffmpeg's parser finds them.
    for (let at = 0; at < annexB.length; at += 1000) decoder.push(annexB.subarray(at, at + 1000));
    const deadline = Date.now() + 10_000;
    while (pictures.length < 45 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    decoder.stop();
    // 2 s at 25 fps; the last few may wait in the decoder for more input (B-frame reordering).
    expect(pictures.length).toBeGreaterThanOrEqual(45);
    expect(pictures[0]).toEqual({ width: 160, height: 120, bytes: 160 * 120 * 4 });
  }, 20_000);

  it('reports a missing ffmpeg as an error, not a crash', async () => {
    const decoder = new H264Decoder(64, 48, 'no-such-ffmpeg-here');
    const why = await new Promise<string>((resolve) => decoder.events.on('error', resolve));
    expect(why).toContain('not installed');
    decoder.push(Buffer.alloc(10)); // ignored
  });
});
