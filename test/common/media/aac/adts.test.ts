import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADTS_HEADER_BYTES, toAdts } from '../../../../common/media/aac/adts.ts';
import { parseAudioSpecificConfig } from '../../../../common/media/aac/audio-specific-config.ts';
import { loadAvMovie } from '../../../../common/media/container/av-movie-file.ts';
import { ffmpegOutput, frameHashes, makeAvFixture, makeTempDir } from '../av-fixture.ts';

const lc48stereo = { objectType: 2, sampleRate: 48000, outputSampleRate: 48000, channelConfiguration: 2 };

describe('toAdts', () => {
  it('writes the 7-byte header: sync, LC, 48 kHz, stereo, length with header', () => {
    const r = toAdts(Buffer.alloc(100, 1), lc48stereo);
    expect(r.ok && r.value.subarray(0, ADTS_HEADER_BYTES).toString('hex')).toBe('fff14c800d7ffc');
    expect(r.ok && r.value.length).toBe(107);
  });

  it('refuses what ADTS cannot describe', () => {
    expect(toAdts(Buffer.alloc(1), { ...lc48stereo, objectType: 5 })).toEqual({ ok: false, reason: 'unsupported' });
    expect(toAdts(Buffer.alloc(1), { ...lc48stereo, sampleRate: 12345 })).toEqual({ ok: false, reason: 'unsupported' });
    expect(toAdts(Buffer.alloc(1), { ...lc48stereo, channelConfiguration: 0 })).toEqual({
      ok: false,
      reason: 'unsupported',
    });
    expect(toAdts(Buffer.alloc(8190), lc48stereo)).toEqual({ ok: false, reason: 'oversize' });
  });

  describe('on demuxed frames', () => {
    let tmp: Awaited<ReturnType<typeof makeTempDir>>;
    beforeAll(async () => {
      tmp = await makeTempDir();
    });
    afterAll(async () => {
      await tmp?.remove();
    });

    it('makes a stream ffmpeg decodes to the source file sound, sample for sample (framemd5)', async () => {
      const mp4 = await makeAvFixture(tmp.dir, 'clip');
      const audio = (await loadAvMovie(mp4)).audio;
      const asc = parseAudioSpecificConfig(audio?.config ?? Buffer.alloc(0));
      if (audio === undefined || !asc.ok) throw new Error('the fixture has AAC audio');
      const adts = join(tmp.dir, 'clip.aac');
      await writeFile(
        adts,
        Buffer.concat(audio.samples.map((s) => (toAdts(s.data, asc.value) as { value: Buffer }).value)),
      );
      // ADTS has no edit list, so compare with the source decoded without its edit list (priming kept).
      const source = frameHashes(
        await ffmpegOutput(['-ignore_editlist', '1', '-i', mp4, '-map', '0:a', '-f', 'framemd5', '-']),
      );
      const mine = frameHashes(await ffmpegOutput(['-f', 'aac', '-i', adts, '-f', 'framemd5', '-']));
      expect(source.length).toBe(audio.samples.length);
      expect(mine).toEqual(source);
    });
  });
});
