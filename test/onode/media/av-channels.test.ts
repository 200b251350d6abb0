/**
 * H.264 + AAC movie files on a server: the library loads an ffmpeg-made MP4 and MKV as two
 * streams, and their channels, in virtual time, send every access unit and every AAC frame of the
 * file, signed, in decode order, on time, with timestamps that keep the two tracks in sync and
 * continue across the loop. A file the server cannot carry is skipped with the fix.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import { AacDepacketizer } from '../../../common/media/aac/aac-depacketizer.ts';
import { loadAvMovie } from '../../../common/media/container/av-movie-file.ts';
import type { AvMovie } from '../../../common/media/container/av-movie.ts';
import { H264Depacketizer } from '../../../common/media/h264/h264-depacketizer.ts';
import { withParameterSets } from '../../../common/media/h264/nal-unit.ts';
import { verifyFrame } from '../../../common/security/frame-signature.ts';
import { audioStreamOf } from '../../../common/wire/movie-tracks.ts';
import { decodeRtp, type RtpPacket } from '../../../common/wire/rtp.ts';
import { MovieChannel } from '../../../onode/core/movie-channel.ts';
import { withAvMovies } from '../../../onode/media/av-library.ts';
import { loadMovieLibrary, type MovieLibrary } from '../../../onode/media/movie-library.ts';
import { makeAvFixture, makeTempDir } from '../../common/media/av-fixture.ts';
import { keyringOf, testServer } from '../../common/security/signed-frames.ts';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let library: MovieLibrary;
let source: AvMovie;
const s1 = testServer('s1');
const ring = keyringOf(s1);
const keyOf = (id: Buffer) => ring.byKeyId(id)?.key;

beforeAll(async () => {
  tmp = await makeTempDir();
  const mp4 = await makeAvFixture(tmp.dir, 'clip');
  await makeAvFixture(tmp.dir, 'clip', { container: 'mkv' });
  await makeAvFixture(tmp.dir, 'old', { video: 'mpeg4', audio: 'libmp3lame', container: 'mkv' });
  copyFileSync(mp4, join(tmp.dir, 'copy.mov'));
  writeFileSync(join(tmp.dir, 'broken.mp4'), Buffer.from('not a movie at all'));
  source = await loadAvMovie(mp4);
  library = await withAvMovies(loadMovieLibrary(tmp.dir), tmp.dir);
}, 60_000);
afterAll(async () => tmp?.remove());

/** Every packet one channel sends over `ms` of virtual time from reference time `from`, with when. */
function play(name: string, from: number, ms: number): { at: number; rtp: RtpPacket; raw: Buffer }[] {
  const movie = library.movies.find((m) => m.name === name);
  if (movie === undefined) throw new Error(`no stream ${name}`);
  const clock = new VirtualClock(from);
  const out: { at: number; rtp: RtpPacket; raw: Buffer }[] = [];
  const channel = new MovieChannel(
    clock,
    movie,
    (raw) => {
      const d = decodeRtp(raw);
      if (!d.ok) throw new Error(d.reason);
      out.push({ at: clock.now(), rtp: d.value, raw });
    },
    () => clock.now(),
    (m, p) => s1.signer.signFrame(m, p),
  );
  channel.start();
  clock.advance(ms);
  channel.stop();
  return out;
}

describe('H.264 + AAC movies on a server', () => {
  it('are listed with what SDP needs; files it cannot carry are skipped with the command that converts them', () => {
    expect(library.catalogue.map((m) => m.name)).toEqual(['clip.mkv', 'clip.mp4', 'copy.mov']);
    const info = library.catalogue.find((m) => m.name === 'clip.mp4');
    expect(info).toMatchObject({ width: 320, height: 240, fps: 25, frames: source.video.samples.length });
    expect(info?.av?.sps).toEqual(source.video.sps.map((b) => b.toString('base64')));
    expect(info?.av?.audio).toEqual({ rate: 48000, channels: 1, config: source.audio?.config.toString('hex') });
    expect(library.movies.map((m) => m.name)).toContain(audioStreamOf('clip.mp4'));
    const old = library.skipped.find((s) => s.file === 'old.mkv');
    expect(old?.reason).toMatch(/ffmpeg .*-c:v libx264.*-c:a aac/);
    expect(library.skipped.find((s) => s.file === 'broken.mp4')?.reason).toMatch(/broken\.mp4/);
  });

  it('send every access unit of the file, signed, in decode order and on time, looping on', () => {
    const schedule = streamOf('clip.mp4').schedule!;
    const start = 500 * schedule.loopMs;
    const packets = play('clip.mp4', start, 2 * schedule.loopMs - 1);
    const d = new H264Depacketizer();
    const units = packets.flatMap((p) => d.push(p.rtp));
    const n = source.video.samples.length;
    expect(units.length).toBe(2 * n);
    units.forEach((u, i) => {
      const s = source.video.samples[i % n]!;
      expect(u.complete).toBe(true);
      expect(u.nals).toEqual(withParameterSets(s.nals, source.video.sps, source.video.pps, s.keyframe));
    });
    // A unit leaves when due: its decode time after the loop's start.
    const sentAt = new Map<number, number>();
    for (const p of packets) if (!sentAt.has(p.rtp.timestamp)) sentAt.set(p.rtp.timestamp, p.at - start);
    const origin = Math.min(source.video.samples[0]!.dtsMs, source.audio!.samples[0]!.dtsMs);
    const due = source.video.samples.map((s) => s.dtsMs - origin);
    const sent = [...sentAt.values()].slice(0, n);
    expect(sent.map((at, i) => Math.abs(at - Math.max(0, due[i]!)) < 1)).toEqual(Array(n).fill(true));
    // The second loop's timestamps continue the first's by exactly one loop of 90 kHz ticks.
    expect((units[n]!.timestamp - units[0]!.timestamp) >>> 0).toBe(schedule.loopTicks);
    expect(schedule.loopTicks).toBe(Math.round(schedule.loopMs * 90));
    // Every unit is signed as the movie's.
    const frames = byUnit(packets);
    expect(frames.length).toBe(2 * n);
    expect(frames.every((f) => verifyFrame(f, 'clip.mp4', keyOf).ok)).toBe(true);
  });

  it('start cold from the last keyframe, so that the first picture decodes at once', () => {
    const schedule = streamOf('clip.mp4').schedule!;
    const at = 1300; // mid-GOP: keyframes every second
    const packets = play('clip.mp4', 500 * schedule.loopMs + at, 1);
    const d = new H264Depacketizer();
    const units = packets.filter((p) => p.at === 500 * schedule.loopMs + at).flatMap((p) => d.push(p.rtp));
    const samples = source.video.samples;
    const origin = Math.min(samples[0]!.dtsMs, source.audio!.samples[0]!.dtsMs);
    const due = samples.map((s) => s.dtsMs - origin);
    const keyframe = Math.max(...samples.map((s, i) => (s.keyframe && due[i]! <= at ? i : -1)));
    expect(keyframe).toBeGreaterThan(0);
    // Sent at once: the keyframe and every unit due after it up to now.
    const expected = samples.filter((_, i) => i >= keyframe && due[i]! <= at);
    expect(units.map((u) => u.nals)).toEqual(
      expected.map((s) => withParameterSets(s.nals, source.video.sps, source.video.pps, s.keyframe)),
    );
  });

  it('send every AAC frame, its stream signed as the audio stream, in step with the video', () => {
    const audio = source.audio!;
    const schedule = streamOf(audioStreamOf('clip.mp4')).schedule!;
    const start = 500 * schedule.loopMs;
    const sound = play(audioStreamOf('clip.mp4'), start, schedule.loopMs - 1);
    // At most one loop's frames after the first packet (sent at once at start).
    expect(sound.every((p) => p.rtp.payloadType === 97)).toBe(true);
    expect(byUnit(sound).every((f) => verifyFrame(f, audioStreamOf('clip.mp4'), keyOf).ok)).toBe(true);
    const d = new AacDepacketizer(audio.frameDuration);
    const frames = sound.flatMap((p) => d.push(p.rtp));
    // The loop's start may fall within the previous loop's last packet, sent first: then its frames lead.
    const n = audio.samples.length;
    const lead = frames.length - n;
    expect(lead).toBeGreaterThanOrEqual(0);
    expect(lead).toBeLessThanOrEqual(4);
    expect(frames.map((f) => f.data)).toEqual(
      [...audio.samples.slice(n - lead), ...audio.samples.slice(0, n)].map((s) => s.data),
    );
    // Lip sync: each track's timestamp is its presentation time after one origin, so the two
    // clocks agree (to a tick) on when the loop starts.
    const video = play('clip.mp4', start, schedule.loopMs - 1);
    const v = new H264Depacketizer();
    const pictures = video.flatMap((p) => v.push(p.rtp));
    const firstPts = (ts: number[], rate: number) => Math.min(...ts.map((t) => t / rate));
    const vStart = firstPts(
      pictures.map((u) => (u.timestamp - pictures[0]!.timestamp) | 0),
      90,
    );
    expect(vStart).toBeLessThanOrEqual(0);
    const videoPts0 = source.video.samples.reduce((m, s) => Math.min(m, s.ptsMs), Infinity);
    const audioPts0 = audio.samples[0]!.ptsMs;
    expect(Math.abs(videoPts0 - audioPts0)).toBeLessThan(50);
  });
});

function streamOf(name: string) {
  const m = library.movies.find((x) => x.name === name);
  if (m === undefined) throw new Error(`no stream ${name}`);
  return m;
}

/** The packets cut into units: a unit ends with the marker bit. */
function byUnit(packets: readonly { rtp: RtpPacket; raw: Buffer }[]): Buffer[][] {
  const units: Buffer[][] = [[]];
  for (const p of packets) {
    units.at(-1)!.push(p.raw);
    if (p.rtp.marker) units.push([]);
  }
  return units.filter((u) => u.length > 0);
}
