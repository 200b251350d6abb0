/**
 * What a POP offers for one movie over RTSP: its description (SDP) and the track each SETUP URL
 * names. An MJPEG movie is one track (RFC 2435). An H.264 movie is a video track (RFC 6184),
 * trackID=0, and when it has sound an AAC track (RFC 3640), trackID=1; each track is one overlay
 * stream (common/wire/movie-tracks.ts) with its own SSRC and sequence numbers, so the packets go
 * to the player as the servers signed them.
 */
import { AUDIO_CONTROL, buildAvSdp, VIDEO_CONTROL } from '../../common/media/av-sdp.ts';
import { h264PayloadHasKeyframe, RTP_H264_CLOCK_RATE } from '../../common/media/h264/rtp-h264.ts';
import { FRAME_AUTH_EXTMAP } from '../../common/wire/frame-auth.ts';
import { audioStreamOf } from '../../common/wire/movie-tracks.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { decodeRtp } from '../../common/wire/rtp.ts';
import { RTP_JPEG_CLOCK_RATE } from '../../common/wire/rtp-jpeg.ts';
import { buildMjpegSdp } from '../../common/wire/sdp.ts';

export interface RtspTrack {
  /** The overlay stream the track is joined as. */
  readonly stream: string;
  /** Its SDP control ("trackID=0"). */
  readonly control: string;
  readonly clockRate: number;
  /** H.264: a viewer starts at a keyframe's first packet (the cache's group of pictures, or the next one). */
  readonly startsAt: ((rtp: Buffer) => boolean) | null;
  /**
   * What PLAY sends first from the POP's cache: the newest complete frame (MJPEG), the group of
   * pictures since the last keyframe (H.264), or nothing (AAC: the next packet will do).
   */
  readonly fastStart: 'frame' | 'keyframe' | 'none';
  /** One of several tracks that players sync by sender reports: the first goes out with the first packet. */
  readonly synced: boolean;
}

/** The session part of a description: who describes it and for whom. */
export interface DescribeParams {
  readonly sessionId: string;
  readonly originAddress: string;
}

/** The movie's SDP. @throws SdpBuildError for a catalogue entry it cannot describe. */
export function describeMovie(movie: MovieInfo, p: DescribeParams): string {
  const session = { ...p, sessionName: movie.name, extensions: FRAME_AUTH_EXTMAP };
  const av = movie.av;
  if (av === undefined) {
    return buildMjpegSdp({
      ...session,
      control: VIDEO_CONTROL,
      fps: movie.fps,
      width: movie.width,
      height: movie.height,
    });
  }
  const bytes = (b64: readonly string[]) => b64.map((s) => Buffer.from(s, 'base64'));
  const video = {
    control: VIDEO_CONTROL,
    sps: bytes(av.sps),
    pps: bytes(av.pps),
    width: Math.max(1, movie.width),
    height: Math.max(1, movie.height),
    fps: movie.fps,
  };
  const a = av.audio;
  if (a === undefined) return buildAvSdp({ ...session, video });
  const audio = {
    control: AUDIO_CONTROL,
    sampleRate: a.rate,
    channels: a.channels,
    config: Buffer.from(a.config, 'hex'),
  };
  return buildAvSdp({ ...session, video, audio });
}

/**
 * The track a SETUP URL names: its trackID, or the first track when the URL has none (players
 * that set up the movie's own URL). Undefined for a track the movie lacks.
 */
export function trackOf(movie: MovieInfo, trackId: string | undefined): RtspTrack | undefined {
  if (movie.av === undefined) {
    // MJPEG: one track, whatever the player calls it (older clients name none, some say streamid=0).
    return {
      stream: movie.name,
      control: VIDEO_CONTROL,
      clockRate: RTP_JPEG_CLOCK_RATE,
      startsAt: null,
      fastStart: 'frame',
      synced: false,
    };
  }
  if (trackId === undefined || `trackID=${trackId}` === VIDEO_CONTROL) {
    return {
      stream: movie.name,
      control: VIDEO_CONTROL,
      clockRate: RTP_H264_CLOCK_RATE,
      startsAt: startsH264,
      fastStart: 'keyframe',
      synced: true,
    };
  }
  const audio = movie.av.audio;
  if (`trackID=${trackId}` !== AUDIO_CONTROL || audio === undefined) return undefined;
  return {
    stream: audioStreamOf(movie.name),
    control: AUDIO_CONTROL,
    clockRate: audio.rate,
    startsAt: null,
    fastStart: 'none',
    synced: true,
  };
}

/** Whether an RTP packet of an H.264 stream is where a viewer may start (an SPS or an IDR slice's start). */
function startsH264(rtp: Buffer): boolean {
  const d = decodeRtp(rtp);
  return d.ok && h264PayloadHasKeyframe(d.value.payload);
}
