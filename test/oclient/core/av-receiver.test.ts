/**
 * AvReceiver with an ffmpeg-made H.264 + AAC movie (B-frames, a keyframe a second): planned as
 * RTP (planAvRtp) and sent per track as a POP does, in order, reordered, duplicated, with a
 * packet lost, joined mid-GOP; plus hostile input. Virtual time: the packets' send times.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AvRtpPlan, planAvRtp } from '../../../common/media/av-rtp-plan.ts';
import { buildMjpegSdp } from '../../../common/wire/sdp.ts';
import type { AvMovie } from '../../../common/media/container/av-movie.ts';
import { loadAvMovie } from '../../../common/media/container/av-movie-file.ts';
import { NAL_IDR_SLICE, nalType, withParameterSets } from '../../../common/media/h264/nal-unit.ts';
import { AvReceiver, AvSdpError, type AvUnit, type AvVideoUnit } from '../../../oclient/core/av-receiver.ts';
import { readAvSdp } from '../../../oclient/core/av-sdp-reader.ts';
import { makeAvFixture, makeTempDir } from '../../common/media/av-fixture.ts';
import { avSdp, type FedPacket, planPackets, STREAMS, SYNC } from './av-feed.ts';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let movie: AvMovie;
let plan: AvRtpPlan;

beforeAll(async () => {
  tmp = await makeTempDir();
  movie = await loadAvMovie(await makeAvFixture(tmp.dir, 'clip'));
  plan = planAvRtp(movie);
});

afterAll(async () => {
  await tmp?.remove();
});

function receive(packets: readonly FedPacket[], rx = new AvReceiver(avSdp(movie), { sync: SYNC })) {
  const units: AvUnit[] = [];
  rx.events.on('unit', (u) => units.push(u));
  for (const p of packets) rx.offer(p.track, p.datagram, p.atMs);
  rx.flush();
  const video = units.filter((u): u is AvVideoUnit => u.track === 'video');
  const audio = units.filter((u) => u.track === 'audio');
  return { rx, units, video, audio };
}

/** What should come out: each sample's NAL units (parameter sets before IDRs) and each AAC frame. */
function expected() {
  const v = movie.video;
  const a = movie.audio;
  if (a === undefined) throw new Error('the fixture has audio');
  return {
    video: v.samples.map((s) => withParameterSets(s.nals, v.sps, v.pps, s.keyframe)),
    keyframes: v.samples.map((s) => s.keyframe),
    audio: a.samples.map((s) => s.data),
  };
}

describe('readAvSdp', () => {
  it('reads both tracks of our SDP', () => {
    const r = readAvSdp(avSdp(movie));
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.video).toMatchObject({ payloadType: 96, control: 'trackID=0', clockRate: 90_000, width: 320 });
    expect(r.value.video?.sps).toEqual(movie.video.sps);
    expect(r.value.video?.pps).toEqual(movie.video.pps);
    expect(r.value.audio).toMatchObject({ payloadType: 97, control: 'trackID=1', clockRate: 48_000, channels: 1 });
    expect(r.value.audio?.config).toEqual(movie.audio?.config);
  });

  it('refuses a description without H.264 or AAC, and garbage', () => {
    const mjpeg = buildMjpegSdp({
      ...{ sessionId: '1', originAddress: '127.0.0.1', sessionName: 'm' },
      ...{ control: 'trackID=0', fps: 25, width: 64, height: 48 },
    });
    expect(readAvSdp(mjpeg)).toEqual({ ok: false, reason: 'unsupported' });
    expect(readAvSdp('hello')).toEqual({ ok: false, reason: 'malformed' });
    expect(() => new AvReceiver(mjpeg)).toThrow(AvSdpError);
    fc.assert(fc.property(fc.string(), (s) => readAvSdp(`v=0\r\n${s}`) !== undefined));
  });

  it('reads a video section without a=fmtp (parameter sets in band)', () => {
    const r = readAvSdp(avSdp(movie).replace(/a=fmtp:96 [^\r\n]*\r\n/, ''));
    expect(r.ok && r.value.video?.sps).toEqual([]);
  });

  it('keeps the track it can read when the other has another codec', () => {
    const r = readAvSdp(avSdp(movie).replace('mpeg4-generic', 'opus'));
    expect(r.ok && r.value.video !== undefined && r.value.audio === undefined).toBe(true);
  });
});

describe('AvReceiver', () => {
  it('gives back every access unit and AAC frame, with presentation times and keyframes', () => {
    const { rx, video, audio } = receive(planPackets(plan));
    const want = expected();
    expect(video.map((u) => u.nals)).toEqual(want.video);
    expect(video.map((u) => u.keyframe)).toEqual(want.keyframes);
    expect(audio.map((u) => (u.track === 'audio' ? u.data : undefined))).toEqual(want.audio);
    // Presentation times: the plan's ticks, counted on through the video timestamp's wrap.
    const planned = plan.units.filter((u) => u.track === 'video').map((u) => u.ticks);
    expect(video.map((u) => u.pts - STREAMS.video.base)).toEqual(planned);
    // One timeline: ms from the ticks of each clock, the same origin for both tracks.
    const at = (u: AvUnit) => u.timeMs - (video[0]?.timeMs ?? 0);
    const v0 = planned[0] ?? 0;
    for (const u of [...video, ...audio]) {
      const rate = u.track === 'video' ? 90 : 48;
      const ticks = u.pts - (u.track === 'video' ? STREAMS.video.base : STREAMS.audio.base);
      expect(at(u)).toBeCloseTo(ticks / rate - v0 / 90, 6);
    }
    expect(rx.counters.video).toMatchObject({ units: 50, lost: 0, duplicates: 0, late: 0, malformed: 0 });
    expect(rx.counters.audio).toMatchObject({ units: want.audio.length, lost: 0, duplicates: 0, malformed: 0 });
    expect(rx.counters.video.bytes).toBe(video.reduce((n, u) => n + u.annexB.length, 0));
    expect(video[0]?.annexB.subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 1, 0x67]));
  });

  it('reorders within the window and drops duplicates, counting them', () => {
    const packets = planPackets(plan);
    // After each track's first packet (which starts the stream), each run of three arrives backwards;
    // some arrive twice.
    const shuffled: FedPacket[] = [];
    for (const track of ['video', 'audio'] as const) {
      const own = packets.filter((p) => p.track === track);
      shuffled.push(...own.slice(0, 1));
      for (let i = 1; i < own.length; i += 3) shuffled.push(...own.slice(i, i + 3).reverse());
    }
    shuffled.sort((a, b) => a.atMs - b.atMs);
    const dups = [shuffled[10], shuffled[40], shuffled[41]].filter((p) => p !== undefined);
    expect(dups.length).toBe(3);
    const { rx, video, audio } = receive([...shuffled.slice(0, 60), ...dups, ...shuffled.slice(60)]);
    const want = expected();
    expect(video.map((u) => u.nals)).toEqual(want.video);
    expect(audio.length).toBe(want.audio.length);
    expect(rx.counters.video.duplicates + rx.counters.audio.duplicates).toBe(3);
    expect(rx.counters.video.lost + rx.counters.audio.lost).toBe(0);
  });

  it('counts no loss for a pause in audio timestamps with no packet missing (a loop)', () => {
    const packets = planPackets(planAvRtp(movie), 2);
    // The second loop's timestamps are shifted by exactly one loop: a real channel's audio may pause there.
    const { rx, audio } = receive(packets);
    expect(audio.length).toBe(2 * (movie.audio?.samples.length ?? 0));
    expect(rx.counters.audio.lost).toBe(0);
  });

  it('counts one lost unit when a packet is lost, and hands on the rest', () => {
    const small = planAvRtp(movie, { maxPayload: 200, audioFramesPerPacket: 1 });
    const packets = planPackets(small);
    // The middle packet of a video unit of several packets, and one audio packet (one frame).
    const target = small.units.findIndex((u) => u.track === 'video' && !u.keyframe && u.payloads.length >= 3);
    const drop = new Set([
      packets.findIndex((p) => p.unit === target) + 1,
      packets.findIndex((p) => p.track === 'audio' && p.atMs > 1000),
    ]);
    const { rx, video, audio } = receive(packets.filter((_, i) => !drop.has(i)));
    expect(rx.counters.video.lost).toBe(1);
    expect(rx.counters.audio.lost).toBe(1);
    const want = expected();
    const videoIndex = small.units.slice(0, target).filter((u) => u.track === 'video').length;
    expect(video.map((u) => u.nals)).toEqual(want.video.filter((_, i) => i !== videoIndex));
    expect(audio.length).toBe(want.audio.length - 1);
  });

  it('loses only the access unit that was lost whole, not the one after it', () => {
    const packets = planPackets(plan);
    // A picture sent in one packet (B-frames are a few tens of bytes), after the first GOP's start.
    const target = plan.units.findIndex((u, i) => i > 10 && u.track === 'video' && u.payloads.length === 1);
    const { rx, video } = receive(packets.filter((p) => p.unit !== target));
    expect(rx.counters.video.lost).toBe(1);
    const videoIndex = plan.units.slice(0, target).filter((u) => u.track === 'video').length;
    expect(video.map((u) => u.nals)).toEqual(expected().video.filter((_, i) => i !== videoIndex));
  });

  it('drops a picture whose first slice was lost, though its other slices came', () => {
    // Two slices per picture, one packet each: the second starts at macroblock 1 (ue(v) "010").
    const idr = [Buffer.from([0x65, 0x88, 1]), Buffer.from([0x65, 0x40, 2])];
    const p = [Buffer.from([0x41, 0x9a, 3]), Buffer.from([0x41, 0x40, 4])];
    const rx = new AvReceiver(avSdp(movie));
    const got: AvUnit[] = [];
    rx.events.on('unit', (u) => got.push(u));
    let seq = 0;
    const send = (nal: Buffer, ts: number, marker: boolean) =>
      rx.offer(
        'video',
        { marker, payloadType: 96, sequenceNumber: seq++, timestamp: ts, ssrc: 5, csrcs: [], payload: nal },
        ts / 90,
      );
    send(idr[0]!, 0, false);
    send(idr[1]!, 0, true);
    seq++; // the first slice of the next picture is lost
    send(p[1]!, 3600, true);
    send(p[0]!, 7200, false);
    send(p[1]!, 7200, true);
    rx.flush();
    expect(got.map((u) => u.pts)).toEqual([0, 7200]);
    expect(rx.counters.video.lost).toBe(1);
  });

  it('joined mid-GOP, starts at the next keyframe and counts what it dropped', () => {
    const packets = planPackets(plan);
    const start = packets.findIndex((p) => p.track === 'video' && p.unit > 5);
    const { rx, video } = receive(packets.slice(start));
    const want = expected();
    const next = want.keyframes.indexOf(true, 1);
    expect(next).toBe(25);
    expect(video[0]?.keyframe).toBe(true);
    expect(video[0]?.nals.some((n) => nalType(n) === NAL_IDR_SLICE)).toBe(true);
    expect(video.map((u) => u.nals)).toEqual(want.video.slice(next));
    const skipped = plan.units.filter((u, i) => u.track === 'video' && i >= packets[start]!.unit).length - 25;
    expect(rx.counters.video.beforeKeyframe).toBe(skipped);
  });

  it('syncs the tracks from RTCP sender reports when RTP-Info is not known', () => {
    const rx = new AvReceiver(avSdp(movie));
    // Sender reports saying: the plan's origin is at NTP 5000 ms in both streams.
    rx.senderReport('video', 5000, STREAMS.video.base);
    rx.senderReport('audio', 5000, STREAMS.audio.base);
    const { video, audio } = receive(planPackets(plan), rx);
    const v = video[0];
    const a = audio[0];
    if (v === undefined || a === undefined) throw new Error('units');
    expect(rx.timeline.anchoredBy('audio')).toBe('sync');
    const ticks = (u: AvUnit, base: number, rate: number) => (u.pts - base) / rate;
    expect(v.timeMs - a.timeMs).toBeCloseTo(ticks(v, STREAMS.video.base, 90) - ticks(a, STREAMS.audio.base, 48), 6);
  });

  it('starts a track over when its SSRC changes', () => {
    const packets = planPackets(plan).filter((p) => p.track === 'video');
    const rx = new AvReceiver(avSdp(movie), { sync: SYNC });
    const units: AvUnit[] = [];
    rx.events.on('unit', (u) => units.push(u));
    for (const p of packets) rx.offer('video', p.datagram, p.atMs);
    // The same stream again from another source (another POP), joined mid-GOP: new SSRC, sequence
    // and timestamps; it too starts at a keyframe.
    const resumeAt = packets.findIndex((p) => p.unit > 20);
    for (const p of packets.slice(resumeAt)) {
      const copy = Buffer.from(p.datagram);
      copy.writeUInt32BE(0xabcdef, 8);
      copy.writeUInt16BE((copy.readUInt16BE(2) + 777) & 0xffff, 2);
      rx.offer('video', copy, p.atMs + 3000);
    }
    rx.flush();
    expect(rx.counters.video.sourceChanges).toBe(1);
    expect(rx.counters.video.lost).toBe(0);
    expect(rx.counters.video.beforeKeyframe).toBeGreaterThan(0);
    expect(units.length).toBe(75);
    expect(units[50]).toMatchObject({ keyframe: true });
    const times = units.filter((u) => u.track === 'video' && u.keyframe).map((u) => Math.round(u.timeMs));
    // The new source's first keyframe is placed at its arrival, after the old source's last.
    expect(times.length).toBe(3);
    expect(times[2]).toBeGreaterThan((times[1] ?? 0) + 1000);
  });

  it('counts hostile input and never throws', () => {
    const rx = new AvReceiver(avSdp(movie));
    rx.offer('video', Buffer.from([1, 2, 3]), 0);
    const wrongType = Buffer.from(planPackets(plan)[0]!.datagram);
    wrongType[1] = 26;
    rx.offer('video', wrongType, 0);
    expect(rx.counters.video.malformed).toBe(2);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, video) => {
        const buf = Buffer.from(bytes);
        // Valid RTP headers with random payloads reach the depacketizers.
        if (buf.length >= 12) {
          buf[0] = 0x80;
          buf[1] = video ? 96 : 97;
        }
        rx.offer(video ? 'video' : 'audio', buf, 0);
      }),
    );
    rx.flush();
  });
});
