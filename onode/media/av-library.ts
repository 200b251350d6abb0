/**
 * A server's H.264 (+ AAC) movies: MP4, MOV and MKV files carried without re-encoding. Each is
 * demuxed once at start-up (common/media/container/av-movie-file.ts: mp4box, MKV remuxed by
 * ffmpeg -c copy) and planned as RTP (common/media/av-rtp-plan.ts), then becomes one or two
 * overlay streams: its video under the movie's name, its audio under audioStreamOf(name)
 * (common/wire/movie-tracks.ts). Both streams share the plan's clock, so the two channels, on the
 * same shared timeline, keep the tracks in sync on every server.
 *
 * A file that cannot be carried (another codec, a broken file) is skipped with the reason and
 * the ffmpeg command that converts it; the other movies are served.
 */
import { loadAvMovie } from '../../common/media/container/av-movie-file.ts';
import { RTP_AAC_PAYLOAD_TYPE } from '../../common/media/aac/rtp-aac.ts';
import { type AvRtpPlan, planAvRtp } from '../../common/media/av-rtp-plan.ts';
import { RTP_H264_PAYLOAD_TYPE } from '../../common/media/h264/rtp-h264.ts';
import { signedPayloadLimit } from '../../common/wire/frame-auth.ts';
import { audioStreamOf } from '../../common/wire/movie-tracks.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import type { ChannelMovie } from '../core/channel-timeline.ts';

/** What the server's file names end in for these movies (any case). */
export const AV_MOVIE_EXTENSION = /\.(mp4|m4v|mov|mkv)$/i;

export interface AvLoaded {
  /** The movie's streams: video, then audio when it has sound. */
  readonly streams: readonly ChannelMovie[];
  readonly info: MovieInfo;
}

/**
 * Loads one movie file as its streams and catalogue entry.
 * @throws AvMovieError (common/media/container/av-movie.ts) for a file that cannot be carried: its
 *   message names the file and the fix.
 */
export async function loadAvStreams(
  path: string,
  name: string,
  maxPayload: number,
  rtpBytes: number,
): Promise<AvLoaded> {
  const movie = await loadAvMovie(path);
  const signedLimit = signedPayloadLimit(rtpBytes);
  const plan = planAvRtp(movie, { maxPayload: (i, n) => Math.min(maxPayload, signedLimit(i, n)) });
  const v = movie.video;
  const a = movie.audio;
  const fps = v.fps > 0 ? Math.min(v.fps, 1000) : 25;
  const video = streamOf(name, fps, plan, 'video', RTP_H264_PAYLOAD_TYPE);
  const streams =
    a === undefined ? [video] : [video, streamOf(audioStreamOf(name), fps, plan, 'audio', RTP_AAC_PAYLOAD_TYPE)];
  const info: MovieInfo = {
    name,
    fps,
    width: v.width,
    height: v.height,
    frames: video.frames.length,
    av: {
      sps: v.sps.map((b) => b.toString('base64')),
      pps: v.pps.map((b) => b.toString('base64')),
      ...(a === undefined
        ? {}
        : { audio: { rate: a.sampleRate, channels: a.channels, config: a.config.toString('hex') } }),
    },
  };
  return { streams, info };
}

function streamOf(
  name: string,
  fps: number,
  plan: AvRtpPlan,
  track: 'video' | 'audio',
  payloadType: number,
): ChannelMovie {
  const units = plan.units.filter((u) => u.track === track);
  return {
    name,
    fps,
    frames: units.map((u) => u.payloads),
    schedule: {
      payloadType,
      clockRate: plan.clockRate[track],
      dueMs: units.map((u) => u.dueMs),
      ticks: units.map((u) => u.ticks),
      loopMs: plan.loopMs,
      loopTicks: plan.loopTicks[track],
      ...(track === 'video' ? { keyframes: units.map((u) => u.keyframe) } : {}),
    },
  };
}
