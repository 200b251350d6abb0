import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AacDepacketizer } from '../../../common/media/aac/aac-depacketizer.ts';
import { planAvRtp } from '../../../common/media/av-rtp-plan.ts';
import type { AvMovie } from '../../../common/media/container/av-movie.ts';
import { loadAvMovie } from '../../../common/media/container/av-movie-file.ts';
import { H264Depacketizer } from '../../../common/media/h264/h264-depacketizer.ts';
import { NAL_SPS, nalType } from '../../../common/media/h264/nal-unit.ts';
import { signedPayloadLimit } from '../../../common/wire/frame-auth.ts';
import type { RtpPacket } from '../../../common/wire/rtp.ts';
import { makeAvFixture, makeTempDir } from './av-fixture.ts';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let movie: AvMovie;

beforeAll(async () => {
  tmp = await makeTempDir();
  movie = await loadAvMovie(await makeAvFixture(tmp.dir, 'clip'));
});

afterAll(async () => {
  await tmp?.remove();
});

describe('planAvRtp', () => {
  it('interleaves both tracks by decode time, on one origin, with pts-based timestamps', () => {
    const plan = planAvRtp(movie);
    const audio = movie.audio;
    if (audio === undefined) throw new Error('the fixture has audio');
    const originMs = Math.min(movie.video.samples[0]?.dtsMs ?? 0, audio.samples[0]?.dtsMs ?? 0);
    expect(plan.units.every((u, i) => u.dueMs >= 0 && u.dueMs >= (plan.units[i - 1]?.dueMs ?? 0))).toBe(true);
    const video = plan.units.filter((u) => u.track === 'video');
    expect(video.map((u) => u.ticks)).toEqual(
      movie.video.samples.map((s) => Math.round(((s.ptsMs - originMs) * 90_000) / 1000)),
    );
    expect(video.filter((u) => u.keyframe).length).toBe(2);
    expect(plan.clockRate).toEqual({ video: 90_000, audio: 48_000 });
    expect(plan.loopMs).toBeGreaterThanOrEqual(2000);
    expect(plan.loopTicks.video).toBe(Math.round(plan.loopMs * 90));
    // Lip sync: a timestamp means the same instant in both clocks.
    const firstAudio = plan.units.find((u) => u.track === 'audio');
    expect(((firstAudio?.ticks ?? 0) * 1000) / 48_000 + originMs).toBeCloseTo(audio.samples[0]?.ptsMs ?? NaN, 3);
  });

  it('keeps every packet of a signed frame within its budget', () => {
    const budget = signedPayloadLimit(1200);
    const plan = planAvRtp(movie, { maxPayload: budget });
    for (const u of plan.units) {
      const n = u.payloads.length;
      expect(u.payloads.every((p, i) => p.length <= budget(i, n))).toBe(true);
    }
    expect(plan.units.some((u) => u.payloads.length > 2)).toBe(true); // the keyframes span packets
  });

  it('depacketizes back to the movie: access units with parameter sets at keyframes, every AAC frame', () => {
    const plan = planAvRtp(movie, { maxPayload: 500 });
    const seq = { video: 0, audio: 0 };
    const vd = new H264Depacketizer();
    const ad = new AacDepacketizer(movie.audio?.frameDuration);
    const aus = [];
    const frames = [];
    for (const u of plan.units) {
      for (const [i, payload] of u.payloads.entries()) {
        const packet: RtpPacket = {
          marker: i === u.payloads.length - 1,
          payloadType: u.track === 'video' ? 96 : 97,
          sequenceNumber: seq[u.track]++,
          timestamp: u.ticks,
          ssrc: 1,
          csrcs: [],
          payload,
        };
        if (u.track === 'video') aus.push(...vd.push(packet));
        else frames.push(...ad.push(packet));
      }
    }
    expect(aus.length).toBe(movie.video.samples.length);
    expect(aus.every((au) => au.complete)).toBe(true);
    const keyframes = aus.filter((_, i) => movie.video.samples[i]?.keyframe);
    expect(keyframes.every((au) => au.nals.some((n) => nalType(n) === NAL_SPS))).toBe(true);
    expect(frames.map((f) => f.data)).toEqual(movie.audio?.samples.map((s) => s.data));
  });
});
