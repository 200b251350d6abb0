/**
 * One loop of an H.264 + AAC movie as RTP, computed once at load: every video access unit and
 * every AAC packet group as a unit with its send time and RTP timestamp, both tracks on one
 * clock so that they stay in sync (a channel repeats the loop, adding loop · loopMs to send times
 * and loop · loopTicks to timestamps).
 *
 * Both tracks count from one origin: the earliest decode time of either track. A unit is due at
 * its decode time (dts) after the origin, so B-frame references arrive before the frames that
 * use them; its RTP timestamp is its presentation time (pts) after the origin, in the track's
 * clock (90 kHz video, the sampling rate for audio). Every H.264 keyframe (sync sample or IDR)
 * carries SPS and PPS in band, so a viewer can start at any keyframe.
 */
import { packetizeAac } from './aac/rtp-aac.ts';
import type { AvMovie, AvSample } from './container/av-movie.ts';
import { withParameterSets } from './h264/nal-unit.ts';
import { packetizeH264, packetizeH264Fitted, RTP_H264_CLOCK_RATE } from './h264/rtp-h264.ts';
import { DEFAULT_MAX_PAYLOAD } from '../wire/rtp-jpeg.ts';

export type AvTrackKind = 'video' | 'audio';

export interface AvRtpUnit {
  readonly track: AvTrackKind;
  /** Send time within the loop, ms after the origin (>= 0). */
  readonly dueMs: number;
  /** RTP timestamp within the loop, in the track's clock, before any base is added. */
  readonly ticks: number;
  /** Video: an IDR access unit, where a decoder may start. Audio: always true. */
  readonly keyframe: boolean;
  /** RTP payloads, in order; the last one has the marker bit. */
  readonly payloads: readonly Buffer[];
}

export interface AvRtpPlan {
  /** Both tracks' units, by dueMs (video first at equal times). */
  readonly units: readonly AvRtpUnit[];
  /** Loop length: the later track's end after the origin. */
  readonly loopMs: number;
  /** Loop length in each track's RTP clock (whole ticks, so that loops join without a jump). */
  readonly loopTicks: { readonly video: number; readonly audio: number };
  readonly clockRate: { readonly video: number; readonly audio: number };
}

export interface AvRtpPlanOptions {
  /**
   * RTP payload bytes per packet; default DEFAULT_MAX_PAYLOAD. A function gives the budget of
   * packet `index` of a `count`-packet frame (signed frames: signedPayloadLimit); audio then uses
   * the smallest budget of frames up to AUDIO_FIT_PACKETS packets (AAC packets are small).
   */
  readonly maxPayload?: number | ((index: number, count: number) => number);
  /** AAC frames per packet; default 4 (DEFAULT_AAC_FRAMES_PER_PACKET). */
  readonly audioFramesPerPacket?: number;
}

/** Packets per frame over which a budget function is minimised for audio. */
export const AUDIO_FIT_PACKETS = 8;

export function planAvRtp(movie: AvMovie, options: AvRtpPlanOptions = {}): AvRtpPlan {
  const budget = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const packetizeVideo = (nals: readonly Buffer[]) =>
    typeof budget === 'number' ? packetizeH264(nals, budget) : packetizeH264Fitted(nals, budget);
  let audioMaxPayload = typeof budget === 'number' ? budget : Number.POSITIVE_INFINITY;
  if (typeof budget !== 'number') {
    for (let n = 1; n <= AUDIO_FIT_PACKETS; n++) {
      for (let i = 0; i < n; i++) audioMaxPayload = Math.min(audioMaxPayload, budget(i, n));
    }
  }
  const v = movie.video;
  const a = movie.audio;
  const firstDts = (samples: readonly AvSample[]) => samples[0]?.dtsMs ?? 0;
  const originMs = Math.min(firstDts(v.samples), a === undefined ? Infinity : firstDts(a.samples));
  // reduce, not Math.max(...): a track may have millions of samples, too many for arguments.
  const end = (samples: readonly AvSample[]) => samples.reduce((m, s) => Math.max(m, s.ptsMs + s.durationMs), 0);
  const loopMs = Math.max(end(v.samples), a === undefined ? 0 : end(a.samples)) - originMs;
  const audioRate = a?.sampleRate ?? 0;
  const ticksOf = (ms: number, rate: number) => Math.round(((ms - originMs) * rate) / 1000);

  const units: AvRtpUnit[] = v.samples.map((s) => ({
    track: 'video',
    dueMs: s.dtsMs - originMs,
    ticks: ticksOf(s.ptsMs, RTP_H264_CLOCK_RATE),
    keyframe: s.keyframe,
    payloads: packetizeVideo(withParameterSets(s.nals, v.sps, v.pps, s.keyframe)),
  }));
  if (a !== undefined) {
    const frames = a.samples.map((s) => ({ timestamp: ticksOf(s.ptsMs, audioRate), data: s.data, s }));
    const dueOf = new Map(frames.map((f) => [f.timestamp, f.s.dtsMs - originMs]));
    const packets = packetizeAac(
      frames.map((f) => ({ timestamp: f.timestamp, data: f.data })),
      {
        maxPayload: audioMaxPayload,
        frameDuration: a.frameDuration,
        ...(options.audioFramesPerPacket !== undefined ? { maxFramesPerPacket: options.audioFramesPerPacket } : {}),
      },
    );
    // Fragments of one frame (same timestamp, marker on the last) form one unit.
    let group: Buffer[] = [];
    for (const p of packets) {
      group.push(p.payload);
      if (!p.marker) continue;
      units.push({
        track: 'audio',
        dueMs: dueOf.get(p.timestamp) ?? 0,
        ticks: p.timestamp,
        keyframe: true,
        payloads: group,
      });
      group = [];
    }
  }
  units.sort((x, y) => x.dueMs - y.dueMs || (x.track === y.track ? 0 : x.track === 'video' ? -1 : 1));
  return {
    units,
    loopMs,
    loopTicks: {
      video: Math.round((loopMs * RTP_H264_CLOCK_RATE) / 1000),
      audio: Math.round((loopMs * audioRate) / 1000),
    },
    clockRate: { video: RTP_H264_CLOCK_RATE, audio: audioRate },
  };
}
