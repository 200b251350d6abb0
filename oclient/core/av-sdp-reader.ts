/**
 * What a player needs from the SDP of an H.264 + AAC session (common/media/av-sdp.ts writes it):
 * per track the payload type, control, clock rate and codec configuration. Built on the project's
 * SDP parser (common/wire/sdp.ts) and fmtp readers (common/media/av-sdp-fmtp.ts); a section with
 * another codec is left out (the session may still play its other track), and a description with
 * neither track is refused.
 *
 *   m=video 0 RTP/AVP 96          a=rtpmap:96 H264/90000     a=fmtp:96 ...sprop-parameter-sets=...
 *   m=audio 0 RTP/AVP 97          a=rtpmap:97 mpeg4-generic/48000/2   a=fmtp:97 ...;config=1190
 */
import { type AudioSpecificConfig, parseAudioSpecificConfig } from '../../common/media/aac/audio-specific-config.ts';
import { type Fmtp, parseFmtp, readAacFmtp, readH264Fmtp } from '../../common/media/av-sdp-fmtp.ts';
import { fail, ok, type Decoded } from '../../common/wire/result.ts';
import { parseSdp, type SdpMedia } from '../../common/wire/sdp.ts';

export interface AvSdpVideo {
  readonly payloadType: number;
  /** a=control, e.g. "trackID=0" (relative to the content base). */
  readonly control: string;
  readonly clockRate: number;
  /** From sprop-parameter-sets; may be empty (then in band, at keyframes). */
  readonly sps: readonly Buffer[];
  readonly pps: readonly Buffer[];
  /** From a=x-dimensions or a=framesize, when given. */
  readonly width?: number;
  readonly height?: number;
}

export interface AvSdpAudio {
  readonly payloadType: number;
  readonly control: string;
  /** The RTP clock rate (the sampling rate). */
  readonly clockRate: number;
  readonly channels: number;
  /** AudioSpecificConfig bytes, and what they say. */
  readonly config: Buffer;
  readonly asc: AudioSpecificConfig;
}

export interface AvSdpTracks {
  readonly video?: AvSdpVideo;
  readonly audio?: AvSdpAudio;
}

/** The H.264 and AAC tracks of a description; 'unsupported' when it has neither. */
export function readAvSdp(text: string): Decoded<AvSdpTracks> {
  const sdp = parseSdp(text);
  if (!sdp.ok) return sdp;
  let video: AvSdpVideo | undefined;
  let audio: AvSdpAudio | undefined;
  for (const m of sdp.value.media) {
    if (m.media === 'video' && video === undefined) video = readVideo(m);
    else if (m.media === 'audio' && audio === undefined) audio = readAudio(m);
  }
  if (video === undefined && audio === undefined) return fail('unsupported');
  return ok({ ...(video !== undefined ? { video } : {}), ...(audio !== undefined ? { audio } : {}) });
}

interface Rtpmap {
  readonly payloadType: number;
  readonly encoding: string;
  readonly clockRate: number;
  readonly params: string | undefined;
}

/** The first format of the section with its a=rtpmap ("96 H264/90000") and a=fmtp. */
function section(m: SdpMedia): { rtpmap: Rtpmap; fmtp: Fmtp; control: string } | undefined {
  const format = m.formats[0];
  const rtpmap = /^(\d{1,3})\s+([^/\s]+)\/(\d{1,7})(?:\/(\S+))?$/.exec((m.attributes.get('rtpmap') ?? '').trim());
  if (format === undefined || rtpmap === null || rtpmap[1] !== format) return undefined;
  // No a=fmtp: every parameter takes its default (H.264 packetization-mode 0, parameter sets in band).
  const text = m.attributes.get('fmtp');
  const fmtp =
    text === undefined ? ok({ payloadType: Number(format), params: new Map<string, string>() }) : parseFmtp(text);
  if (!fmtp.ok || String(fmtp.value.payloadType) !== format) return undefined;
  const clockRate = Number(rtpmap[3]);
  if (!(clockRate > 0)) return undefined;
  return {
    rtpmap: { payloadType: Number(format), encoding: (rtpmap[2] ?? '').toLowerCase(), clockRate, params: rtpmap[4] },
    fmtp: fmtp.value,
    control: m.attributes.get('control') ?? '',
  };
}

function readVideo(m: SdpMedia): AvSdpVideo | undefined {
  const s = section(m);
  if (s === undefined || s.rtpmap.encoding !== 'h264') return undefined;
  const h264 = readH264Fmtp(s.fmtp);
  if (!h264.ok) return undefined;
  const size = dimensions(m);
  return {
    payloadType: s.rtpmap.payloadType,
    control: s.control,
    clockRate: s.rtpmap.clockRate,
    sps: h264.value.sps,
    pps: h264.value.pps,
    ...size,
  };
}

function readAudio(m: SdpMedia): AvSdpAudio | undefined {
  const s = section(m);
  if (s === undefined || s.rtpmap.encoding !== 'mpeg4-generic') return undefined;
  const aac = readAacFmtp(s.fmtp);
  if (!aac.ok) return undefined;
  const asc = parseAudioSpecificConfig(aac.value.config);
  if (!asc.ok) return undefined;
  const channels = s.rtpmap.params === undefined ? 1 : Number(s.rtpmap.params);
  if (!Number.isInteger(channels) || channels < 1 || channels > 64) return undefined;
  return {
    payloadType: s.rtpmap.payloadType,
    control: s.control,
    clockRate: s.rtpmap.clockRate,
    channels,
    config: aac.value.config,
    asc: asc.value,
  };
}

/** a=x-dimensions:W,H or a=framesize:PT W-H; nothing when neither is well formed. */
function dimensions(m: SdpMedia): { width?: number; height?: number } {
  const x = /^(\d{1,5}),(\d{1,5})$/.exec(m.attributes.get('x-dimensions')?.trim() ?? '');
  const f = /^\d{1,3}\s+(\d{1,5})-(\d{1,5})$/.exec(m.attributes.get('framesize')?.trim() ?? '');
  const found = x ?? f;
  if (found === null) return {};
  const width = Number(found[1]);
  const height = Number(found[2]);
  return width > 0 && height > 0 && width <= 65535 && height <= 65535 ? { width, height } : {};
}
