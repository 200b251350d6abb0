/**
 * A movie with H.264 video and (optionally) AAC audio, demuxed into samples ready for RTP:
 * what the server needs to stream an MP4/MKV/MOV file without re-encoding.
 *
 * Times are in the track's timescale (MP4's mdhd), with the edit list applied as players do:
 * the first presented picture is at pts 0 (AAC priming frames before it have negative pts).
 */
import type { NalLengthSize } from '../h264/nal-unit.ts';

/** Largest movie file we read into memory (256 MiB, as for MJPEG movies); samples are views into it. */
export const MAX_AV_FILE_BYTES = 256 * 1024 * 1024;
/**
 * Most samples in one track: 5.9 hours of 48 kHz AAC (47 frames/s), 11 hours of 25 fps video.
 * mp4box keeps an object per sample of every track, so the whole file is bounded too.
 */
export const MAX_TRACK_SAMPLES = 1_000_000;
export const MAX_FILE_SAMPLES = 2 * MAX_TRACK_SAMPLES;
/** Most tracks a file may declare; real movies have a few (more is a broken or hostile file). */
export const MAX_TRACKS = 64;

export interface AvSample {
  /** Decode and presentation times, and duration, in the track's timescale. */
  readonly dts: number;
  readonly pts: number;
  readonly duration: number;
  /** The same in milliseconds (not rounded). */
  readonly dtsMs: number;
  readonly ptsMs: number;
  readonly durationMs: number;
  /** A sync sample: for H.264 an IDR picture, where a decoder may start. */
  readonly keyframe: boolean;
  /** The sample as stored (H.264: length-prefixed NAL units; AAC: one raw frame). */
  readonly data: Buffer;
}

export interface H264Sample extends AvSample {
  /** The NAL units of this access unit, split from `data` (views into it). */
  readonly nals: readonly Buffer[];
}

export interface H264Track {
  readonly codec: 'h264';
  readonly trackId: number;
  readonly timescale: number;
  readonly width: number;
  readonly height: number;
  /** Parameter sets from avcC (or from the first keyframe for avc3); at least one of each. */
  readonly sps: readonly Buffer[];
  readonly pps: readonly Buffer[];
  readonly nalLengthSize: NalLengthSize;
  /** RFC 6184 profile-level-id, six hex digits from the first SPS. */
  readonly profileLevelId: string;
  /** The RFC 6381 codec string, e.g. "avc1.4d400d". */
  readonly codecString: string;
  /** Mean frames per second over the track. */
  readonly fps: number;
  readonly durationMs: number;
  /** In decode order. */
  readonly samples: readonly H264Sample[];
}

export interface AacTrack {
  readonly codec: 'aac';
  readonly trackId: number;
  readonly timescale: number;
  /** Sampling rate in Hz (the output rate of HE-AAC): the RTP clock rate for this track. */
  readonly sampleRate: number;
  readonly channels: number;
  /** MPEG-4 audio object type (2 = AAC LC). */
  readonly objectType: number;
  /** The AudioSpecificConfig bytes (SDP config=, hex). */
  readonly config: Buffer;
  /** RTP timestamp step per frame at sampleRate (1024; 2048 for explicit HE-AAC): for the (de)packetizer. */
  readonly frameDuration: number;
  readonly codecString: string;
  readonly durationMs: number;
  /** In decode order; each is one AAC frame. */
  readonly samples: readonly AvSample[];
}

export interface AvMovie {
  /** The file it came from. */
  readonly file: string;
  /** True when ffmpeg remuxed it to MP4 first (MKV, or a file mp4box could not read). */
  readonly remuxed: boolean;
  readonly video: H264Track;
  readonly audio?: AacTrack;
  /** The longer track's duration. */
  readonly durationMs: number;
}

/** Why a file cannot be streamed. */
export type AvMovieRejection =
  | 'not-found'
  | 'oversize'
  | 'not-isobmff'
  | 'malformed'
  | 'no-video'
  | 'unsupported-codec'
  | 'too-many-samples'
  | 'remux-failed';

/** A movie file the server refuses, phrased for whoever put it there: file, problem, and the fix. */
export class AvMovieError extends Error {
  override readonly name = 'AvMovieError';
  constructor(
    readonly file: string,
    readonly reason: AvMovieRejection,
    message: string,
  ) {
    super(message);
  }
}
