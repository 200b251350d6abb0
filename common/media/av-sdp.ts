/**
 * SDP (RFC 4566) for a movie with H.264 video (RFC 6184 section 8) and optional AAC audio
 * (RFC 3640, mpeg4-generic AAC-hbr), laid out like the MJPEG description in common/wire/sdp.ts
 * so that ffmpeg, GStreamer rtspsrc and VLC accept it:
 *
 *   v=0 / o= / s= / c=IN IP4 0.0.0.0 / t=0 0 / a=control:* / a=range:npt=...
 *   m=video 0 RTP/AVP 96
 *   a=rtpmap:96 H264/90000
 *   a=fmtp:96 packetization-mode=1;profile-level-id=4d400d;sprop-parameter-sets=<SPS b64>,<PPS b64>
 *   a=control:trackID=0
 *   a=framerate:25 / a=framesize:96 W-H / a=x-dimensions:W,H
 *   m=audio 0 RTP/AVP 97
 *   a=rtpmap:97 mpeg4-generic/48000/2
 *   a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1190
 *   a=control:trackID=1
 *
 * Both tracks are one session, so a player plays them in sync from their RTCP sender reports.
 */
import { checkSdpControl, decimal, SdpBuildError, type SdpSessionParams, sdpSession } from '../wire/sdp.ts';
import { RTP_AAC_PAYLOAD_TYPE } from './aac/rtp-aac.ts';
import type { AvMovie } from './container/av-movie.ts';
import { profileLevelId } from './h264/nal-unit.ts';
import { RTP_H264_CLOCK_RATE, RTP_H264_PAYLOAD_TYPE } from './h264/rtp-h264.ts';

export { SdpBuildError };

/** AAC-hbr's fixed AU header layout, as packetizeAac writes it. */
export const AAC_HBR_FMTP =
  'streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3';
/** Media-level controls of the two tracks, relative to the content base. */
export const VIDEO_CONTROL = 'trackID=0';
export const AUDIO_CONTROL = 'trackID=1';

export interface H264SdpTrack {
  /** Default RTP_H264_PAYLOAD_TYPE (96). */
  readonly payloadType?: number;
  readonly control: string;
  readonly sps: readonly Buffer[];
  readonly pps: readonly Buffer[];
  readonly width: number;
  readonly height: number;
  readonly fps?: number;
}

export interface AacSdpTrack {
  /** Default RTP_AAC_PAYLOAD_TYPE (97). */
  readonly payloadType?: number;
  readonly control: string;
  /** The RTP clock rate (the sampling rate). */
  readonly sampleRate: number;
  readonly channels: number;
  /** AudioSpecificConfig bytes. */
  readonly config: Buffer;
}

export interface AvSdpParams extends SdpSessionParams {
  readonly video: H264SdpTrack;
  readonly audio?: AacSdpTrack;
}

export function buildAvSdp(p: AvSdpParams): string {
  const session = sdpSession(p);
  const lines = [
    ...session.lines,
    ...videoSection(p.video),
    ...session.extmaps,
    ...(p.audio === undefined ? [] : [...audioSection(p.audio), ...session.extmaps]),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

function videoSection(v: H264SdpTrack): string[] {
  const pt = checkPayloadType(v.payloadType ?? RTP_H264_PAYLOAD_TYPE);
  checkSdpControl(v.control);
  for (const n of [v.width, v.height]) {
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new SdpBuildError(`invalid dimension ${n}`);
  }
  const sps = v.sps[0];
  const plid = sps === undefined ? undefined : profileLevelId(sps);
  if (plid === undefined || v.pps.length === 0) throw new SdpBuildError('H.264 needs an SPS and a PPS');
  if (v.fps !== undefined && !(Number.isFinite(v.fps) && v.fps > 0)) throw new SdpBuildError(`invalid fps ${v.fps}`);
  const sprop = [...v.sps, ...v.pps].map((ps) => ps.toString('base64')).join(',');
  return [
    `m=video 0 RTP/AVP ${pt}`,
    `a=rtpmap:${pt} H264/${RTP_H264_CLOCK_RATE}`,
    `a=fmtp:${pt} packetization-mode=1;profile-level-id=${plid};sprop-parameter-sets=${sprop}`,
    `a=control:${v.control}`,
    ...(v.fps === undefined ? [] : [`a=framerate:${decimal(v.fps)}`]),
    `a=framesize:${pt} ${v.width}-${v.height}`,
    `a=x-dimensions:${v.width},${v.height}`,
  ];
}

function audioSection(a: AacSdpTrack): string[] {
  const pt = checkPayloadType(a.payloadType ?? RTP_AAC_PAYLOAD_TYPE);
  checkSdpControl(a.control);
  if (!Number.isInteger(a.sampleRate) || a.sampleRate < 1) throw new SdpBuildError(`invalid rate ${a.sampleRate}`);
  if (!Number.isInteger(a.channels) || a.channels < 1 || a.channels > 64) {
    throw new SdpBuildError(`invalid channel count ${a.channels}`);
  }
  if (a.config.length === 0) throw new SdpBuildError('AAC needs its AudioSpecificConfig');
  return [
    `m=audio 0 RTP/AVP ${pt}`,
    `a=rtpmap:${pt} mpeg4-generic/${a.sampleRate}/${a.channels}`,
    `a=fmtp:${pt} ${AAC_HBR_FMTP};config=${a.config.toString('hex')}`,
    `a=control:${a.control}`,
  ];
}

/** The tracks of a loaded movie, with the controls VIDEO_CONTROL and AUDIO_CONTROL. */
export function movieSdpTracks(movie: AvMovie): Pick<AvSdpParams, 'video' | 'audio'> {
  const v = movie.video;
  const video: H264SdpTrack = { control: VIDEO_CONTROL, sps: v.sps, pps: v.pps, width: v.width, height: v.height };
  const withFps = v.fps > 0 ? { ...video, fps: v.fps } : video;
  const a = movie.audio;
  if (a === undefined) return { video: withFps };
  const audio = { control: AUDIO_CONTROL, sampleRate: a.sampleRate, channels: a.channels, config: a.config };
  return { video: withFps, audio };
}

function checkPayloadType(pt: number): number {
  if (!Number.isInteger(pt) || pt < 96 || pt > 127) throw new SdpBuildError(`payload type ${pt} is not dynamic`);
  return pt;
}
