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
import { audioStreamOf, MAX_AV_MOVIE_NAME_BYTES } from '../../common/wire/movie-tracks.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import type { ChannelMovie } from '../core/channel-timeline.ts';
import { AvMovieError } from '../../common/media/container/av-movie.ts';
import { DEFAULT_MAX_PAYLOAD } from '../../common/wire/rtp-jpeg.ts';
import { join } from 'node:path';
import { type MovieLibrary, type MovieLibraryOptions, SERVER_RTP_PACKET_BYTES } from './movie-library.ts';

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

/**
 * The library with its H.264 (+ AAC) files loaded too (av-library.ts), each as its streams; a
 * file that cannot be carried is skipped with the reason and the command that converts it.
 */
export async function withAvMovies(
  library: MovieLibrary,
  dir: string,
  options: MovieLibraryOptions = {},
): Promise<MovieLibrary> {
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const movies = [...library.movies];
  const catalogue = [...library.catalogue];
  const skipped = [...library.skipped];
  for (const file of library.avFiles) {
    const bytes = Buffer.byteLength(file, 'utf8');
    if (bytes > MAX_AV_MOVIE_NAME_BYTES) {
      const reason = `${JSON.stringify(file)}: an H.264 movie's name is at most ${MAX_AV_MOVIE_NAME_BYTES} bytes`;
      skipped.push({ file, reason: `${reason} (its audio stream adds a suffix), got ${bytes}; rename the file` });
      continue;
    }
    try {
      const { streams, info } = await loadAvStreams(join(dir, file), file, maxPayload, SERVER_RTP_PACKET_BYTES);
      movies.push(...streams);
      catalogue.push(info);
    } catch (err) {
      // AvMovieError says what the file holds and how to convert it; anything else is still this file's.
      const reason =
        err instanceof AvMovieError ? err.message : `${file}: cannot be carried (${(err as Error).message})`;
      skipped.push({ file, reason });
    }
  }
  const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { movies: movies.sort(byName), catalogue: catalogue.sort(byName), skipped, avFiles: [] };
}
