import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvMovieError, type AvMovie } from '../../../../common/media/container/av-movie.ts';
import { loadAvMovie } from '../../../../common/media/container/av-movie-file.ts';
import { toAnnexB, withParameterSets } from '../../../../common/media/h264/nal-unit.ts';
import { ffmpegOutput, frameHashes, makeAvFixture, makeTempDir, probePackets } from '../av-fixture.ts';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let mp4: string;
let movie: AvMovie;

beforeAll(async () => {
  tmp = await makeTempDir();
  mp4 = await makeAvFixture(tmp.dir, 'clip');
  movie = await loadAvMovie(mp4);
});

afterAll(async () => {
  await tmp?.remove();
});

async function expectRefused(path: string, reason: string, ...parts: string[]): Promise<AvMovieError> {
  const err = await loadAvMovie(path).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AvMovieError);
  const e = err as AvMovieError;
  expect(e.reason).toBe(reason);
  expect(e.message).toContain(path);
  for (const p of parts) expect(e.message).toContain(p);
  return e;
}

describe('loadAvMovie on an ffmpeg-made MP4 (H.264 with B-frames + AAC)', () => {
  it('describes both tracks as the file holds them', () => {
    expect(movie.remuxed).toBe(false);
    expect(movie.video).toMatchObject({ codec: 'h264', width: 320, height: 240, nalLengthSize: 4, fps: 25 });
    expect(movie.video.profileLevelId).toMatch(/^[0-9a-f]{6}$/);
    expect(movie.video.sps[0]?.[0]).toBe(0x67);
    expect(movie.video.pps[0]?.[0]).toBe(0x68);
    expect(movie.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 1, objectType: 2 });
    expect(movie.audio?.frameDuration).toBe(1024);
    expect(movie.durationMs).toBeGreaterThanOrEqual(2000);
  });

  it('has the same packets as ffprobe: count, pts, dts, duration, keyframe flag and size', async () => {
    const video = await probePackets(mp4, 'v');
    const audio = await probePackets(mp4, 'a');
    const mine = (s: AvMovie['video']['samples'][number] | NonNullable<AvMovie['audio']>['samples'][number]) => ({
      pts: s.pts,
      dts: s.dts,
      duration: s.duration,
      keyframe: s.keyframe,
      size: s.data.length,
    });
    expect(movie.video.samples.map(mine)).toEqual(video);
    expect(movie.audio?.samples.map(mine)).toEqual(audio);
    expect(movie.video.samples.length).toBe(50);
    expect(movie.video.samples.some((s) => s.pts !== s.dts)).toBe(true); // B-frames reorder
    expect(movie.video.samples.filter((s) => s.keyframe).length).toBe(2);
  });

  it('yields an H.264 stream that decodes to exactly the source file frames (framemd5)', async () => {
    const { sps, pps } = movie.video;
    const annexB = join(tmp.dir, 'clip.h264');
    await writeFile(
      annexB,
      Buffer.concat(movie.video.samples.map((s) => toAnnexB(withParameterSets(s.nals, sps, pps)))),
    );
    const source = frameHashes(await ffmpegOutput(['-i', mp4, '-map', '0:v', '-f', 'framemd5', '-']));
    const mine = frameHashes(await ffmpegOutput(['-f', 'h264', '-i', annexB, '-f', 'framemd5', '-']));
    expect(source.length).toBe(50);
    expect(mine).toEqual(source);
  });

  it('demuxes an MKV remux of the same movie to the same samples, tracks still in sync', async () => {
    const mkv = join(tmp.dir, 'clip.mkv');
    await ffmpegOutput(['-y', '-i', mp4, '-c', 'copy', mkv]);
    const m = await loadAvMovie(mkv);
    expect(m.remuxed).toBe(true);
    expect(m.video.samples.map((s) => s.nals)).toEqual(movie.video.samples.map((s) => s.nals));
    expect(m.video.samples.map((s) => s.keyframe)).toEqual(movie.video.samples.map((s) => s.keyframe));
    expect(m.audio?.samples.map((s) => s.data)).toEqual(movie.audio?.samples.map((s) => s.data));
    expect(m.audio?.config).toEqual(movie.audio?.config);
    // Matroska rounds times to milliseconds and may move the start; the offset is one for both tracks.
    const offset = (m.video.samples[0]?.ptsMs ?? 0) - (movie.video.samples[0]?.ptsMs ?? 0);
    m.video.samples.forEach((s, i) => {
      expect(Math.abs(s.ptsMs - (movie.video.samples[i]?.ptsMs ?? 0) - offset)).toBeLessThanOrEqual(1);
    });
    const audioOffset = (m.audio?.samples[1]?.ptsMs ?? 0) - (movie.audio?.samples[1]?.ptsMs ?? 0);
    expect(Math.abs(audioOffset - offset)).toBeLessThanOrEqual(1.5);
  });

  it('loads a video-only MOV', async () => {
    const mov = await makeAvFixture(tmp.dir, 'silent', { container: 'mov', audio: 'none', seconds: 1 });
    const m = await loadAvMovie(mov);
    expect(m.audio).toBeUndefined();
    expect(m.video.samples.length).toBe(25);
  });
});

describe('loadAvMovie refusals', () => {
  it('refuses MPEG-4 part 2 video with MP3 audio, naming both and the ffmpeg conversion command', async () => {
    const path = await makeAvFixture(tmp.dir, 'old', { video: 'mpeg4', audio: 'libmp3lame', seconds: 1 });
    await expectRefused(
      path,
      'unsupported-codec',
      'video mpeg4',
      'audio mp3',
      `ffmpeg -i ${path} -c:v libx264 -c:a aac`,
    );
  });

  it('refuses H.264 with MP3 audio in an MKV the same way', async () => {
    const path = await makeAvFixture(tmp.dir, 'mp3', { audio: 'libmp3lame', container: 'mkv', seconds: 1 });
    await expectRefused(path, 'unsupported-codec', 'video h264, audio mp3', '-c:v libx264 -c:a aac mp3.mp4');
  });

  it('refuses a file over the size limit, a missing file, and bytes that are no movie', async () => {
    const big = await loadAvMovie(mp4, { maxFileBytes: 1000 }).catch((e: unknown) => e);
    expect(big).toMatchObject({ reason: 'oversize' });
    expect((big as Error).message).toContain('limit');
    await expectRefused(join(tmp.dir, 'nothing.mp4'), 'not-found');
    const junk = join(tmp.dir, 'junk.mp4');
    await writeFile(junk, Buffer.alloc(4096, 0x5a));
    await expectRefused(junk, 'remux-failed', 'ffmpeg could not remux');
  });
});
