/**
 * The codec configuration in a track's sample entry (stsd), as mp4box parsed it: avcC for H.264
 * (ISO/IEC 14496-15 section 5.3.3), esds with its AudioSpecificConfig for AAC (14496-1 and -3).
 */
import type { ISOFile, Track } from 'mp4box';
import { fail, ok } from '../../wire/result.ts';
import { AAC_SAMPLES_PER_FRAME } from '../aac/rtp-aac.ts';
import { channelCount, parseAudioSpecificConfig } from '../aac/audio-specific-config.ts';
import { type NalLengthSize, NAL_PPS, NAL_SPS, nalType, profileLevelId } from '../h264/nal-unit.ts';
import type { AvMovieRejection } from './av-movie.ts';

export interface H264Config {
  readonly width: number;
  readonly height: number;
  /** Empty for avc3 when the stream carries them in band. */
  readonly sps: readonly Buffer[];
  readonly pps: readonly Buffer[];
  readonly nalLengthSize: NalLengthSize;
  readonly profileLevelId?: string;
}

export interface AacConfig {
  readonly config: Buffer;
  readonly objectType: number;
  /** The RTP clock rate: the AudioSpecificConfig's rate (the output rate with explicit SBR). */
  readonly sampleRate: number;
  readonly channels: number;
  /** Ticks of sampleRate per frame: 1024, or 2048 with explicit SBR (the output rate is doubled). */
  readonly frameDuration: number;
}

type ConfigResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: AvMovieRejection; readonly detail: string };

/** The parts of mp4box's sample entry objects we read (its types are a wide union of box classes). */
interface EntryView {
  readonly type?: string;
  readonly width?: number;
  readonly height?: number;
  readonly channel_count?: number;
  readonly avcC?: {
    readonly lengthSizeMinusOne: number;
    readonly SPS: readonly { readonly data: Uint8Array }[];
    readonly PPS: readonly { readonly data: Uint8Array }[];
  };
  readonly esds?: { readonly esd?: DescriptorView };
}

interface DescriptorView {
  readonly tag: number;
  readonly data?: Uint8Array;
  readonly oti?: number;
  readonly descs?: readonly DescriptorView[];
}

/** Tags of the MPEG-4 descriptors in esds (ISO/IEC 14496-1 table 1). */
const DECODER_CONFIG_TAG = 4;
const DECODER_SPECIFIC_INFO_TAG = 5;
/** objectTypeIndication for MPEG-4 audio (0x40) and MPEG-2 AAC Main/LC/SSR (0x66..0x68). */
const AAC_OTIS = new Set([0x40, 0x66, 0x67, 0x68]);

const refuse = (reason: AvMovieRejection, detail: string) => ({ ...fail(reason), detail });

function entryOf(file: ISOFile, track: Track): EntryView | undefined {
  const entries = file.getTrackById(track.id)?.mdia?.minf?.stbl?.stsd?.entries;
  return entries?.[0] as EntryView | undefined;
}

export function readH264Config(file: ISOFile, track: Track): ConfigResult<H264Config> {
  if (!/^avc[13]\./.test(track.codec) && track.codec !== 'avc1' && track.codec !== 'avc3') {
    return refuse('unsupported-codec', `video ${track.codec} is not H.264`);
  }
  const avcC = entryOf(file, track)?.avcC;
  if (avcC === undefined) return refuse('malformed', 'the H.264 track has no avcC configuration');
  const nalLengthSize = avcC.lengthSizeMinusOne + 1;
  if (nalLengthSize !== 1 && nalLengthSize !== 2 && nalLengthSize !== 4) {
    return refuse('malformed', `H.264 NAL length size ${nalLengthSize}`);
  }
  const sps = avcC.SPS.map((p) => Buffer.from(p.data)).filter((n) => nalType(n) === NAL_SPS);
  const pps = avcC.PPS.map((p) => Buffer.from(p.data)).filter((n) => nalType(n) === NAL_PPS);
  const first = sps[0];
  const plid = first === undefined ? undefined : profileLevelId(first);
  const entry = entryOf(file, track);
  const width = track.video?.width || entry?.width || track.track_width;
  const height = track.video?.height || entry?.height || track.track_height;
  if (!(width > 0 && height > 0)) return refuse('malformed', 'the H.264 track has no picture size');
  return ok({ width, height, sps, pps, nalLengthSize, ...(plid !== undefined ? { profileLevelId: plid } : {}) });
}

export function readAacConfig(file: ISOFile, track: Track): ConfigResult<AacConfig> {
  const esd = entryOf(file, track)?.esds?.esd;
  const decoderConfig = esd?.descs?.find((d) => d.tag === DECODER_CONFIG_TAG);
  const info = decoderConfig?.descs?.find((d) => d.tag === DECODER_SPECIFIC_INFO_TAG);
  if (!track.codec.startsWith('mp4a') || !AAC_OTIS.has(decoderConfig?.oti ?? -1) || info?.data === undefined) {
    return refuse('unsupported-codec', `audio ${track.codec} is not AAC`);
  }
  const config = Buffer.from(info.data);
  const asc = parseAudioSpecificConfig(config);
  if (!asc.ok) return refuse('malformed', `its AAC configuration is ${asc.reason}`);
  const channels = channelCount(asc.value.channelConfiguration) ?? entryOf(file, track)?.channel_count ?? 0;
  if (channels <= 0) return refuse('malformed', 'its AAC configuration names no channels');
  const { objectType, sampleRate: coreRate, outputSampleRate } = asc.value;
  const frameDuration = Math.round((AAC_SAMPLES_PER_FRAME * outputSampleRate) / coreRate);
  return ok({ config, objectType, sampleRate: outputSampleRate, channels, frameDuration });
}
