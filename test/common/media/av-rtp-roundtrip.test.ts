/**
 * The path a movie takes through the overlay, without the overlay: demux an ffmpeg-made file,
 * packetize every access unit and AAC frame into RTP, encode and decode the packets, depacketize,
 * and get back exactly what was demuxed, with timestamps from the presentation times.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AacDepacketizer } from '../../../common/media/aac/aac-depacketizer.ts';
import { type AacFrame, packetizeAac } from '../../../common/media/aac/rtp-aac.ts';
import type { AvMovie } from '../../../common/media/container/av-movie.ts';
import { loadAvMovie } from '../../../common/media/container/av-movie-file.ts';
import { H264Depacketizer } from '../../../common/media/h264/h264-depacketizer.ts';
import { withParameterSets } from '../../../common/media/h264/nal-unit.ts';
import { packetizeH264, RTP_H264_CLOCK_RATE } from '../../../common/media/h264/rtp-h264.ts';
import { toRtpTimestamp } from '../../../common/media/media-clock.ts';
import { decodeRtp, encodeRtp, type RtpPacket } from '../../../common/wire/rtp.ts';
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

/** Encodes and decodes each packet, as a datagram would carry it. */
function overTheWire(packets: readonly RtpPacket[]): RtpPacket[] {
  return packets.map((p) => {
    const d = decodeRtp(encodeRtp(p));
    if (!d.ok) throw new Error(`RTP decode: ${d.reason}`);
    return d.value;
  });
}

const VIDEO_BASE = 0xfffff000; // the timestamp wraps during the clip
const AUDIO_BASE = 12345;

describe('demux, packetize, depacketize', () => {
  for (const maxPayload of [1400, 200]) {
    it(`gives back every H.264 access unit byte for byte (payloads of ${maxPayload} bytes)`, () => {
      const { sps, pps, samples, timescale } = movie.video;
      const sent: { timestamp: number; nals: readonly Buffer[] }[] = [];
      const packets: RtpPacket[] = [];
      let seq = 65000;
      for (const s of samples) {
        const nals = withParameterSets(s.nals, sps, pps);
        const timestamp = toRtpTimestamp(s.pts, timescale, RTP_H264_CLOCK_RATE, VIDEO_BASE);
        sent.push({ timestamp, nals });
        const payloads = packetizeH264(nals, maxPayload);
        expect(payloads.every((p) => p.length <= maxPayload)).toBe(true);
        payloads.forEach((payload, i) => {
          const marker = i === payloads.length - 1;
          packets.push({ marker, payloadType: 96, sequenceNumber: seq, timestamp, ssrc: 7, csrcs: [], payload });
          seq = (seq + 1) & 0xffff;
        });
      }
      const d = new H264Depacketizer();
      const got = overTheWire(packets).flatMap((p) => d.push(p));
      expect(got.every((au) => au.complete && au.marked)).toBe(true);
      expect(got.map((au) => ({ timestamp: au.timestamp, nals: au.nals }))).toEqual(sent);
      expect(d.counters).toMatchObject({ lost: 0, malformed: 0, brokenFragments: 0, incomplete: 0 });
      // 25 fps: consecutive frames in presentation order are 3600 ticks of 90 kHz apart.
      const ordered = samples.map((s) => s.pts).sort((a, b) => a - b);
      expect(ordered.slice(1).map((pts, i) => toRtpTimestamp(pts - (ordered[i] ?? 0), timescale, 90_000))).toEqual(
        Array(ordered.length - 1).fill(3600),
      );
    });

    it(`gives back every AAC frame byte for byte with its timestamp (payloads of ${maxPayload} bytes)`, () => {
      const audio = movie.audio;
      if (audio === undefined) throw new Error('the fixture has audio');
      const frames: AacFrame[] = audio.samples.map((s) => ({
        timestamp: toRtpTimestamp(s.pts, audio.timescale, audio.sampleRate, AUDIO_BASE),
        data: s.data,
      }));
      const payloads = packetizeAac(frames, { maxPayload, frameDuration: audio.frameDuration });
      // Large payloads aggregate several frames; small ones fragment frames (marker only on a last piece).
      if (maxPayload === 1400) expect(payloads.length).toBeLessThan(frames.length);
      else expect(payloads.some((p) => !p.marker)).toBe(true);
      const packets = payloads.map((p, i) => ({
        marker: p.marker,
        payloadType: 97,
        sequenceNumber: i,
        timestamp: p.timestamp,
        ssrc: 8,
        csrcs: [],
        payload: p.payload,
      }));
      const d = new AacDepacketizer(audio.frameDuration);
      expect(overTheWire(packets).flatMap((p) => d.push(p))).toEqual(frames);
      expect(d.counters).toMatchObject({ lost: 0, malformed: 0, brokenFragments: 0 });
    });
  }
});
