/**
 * MP4/MOV (ISO BMFF) to an AvMovie, with mp4box (GPAC's demuxer, BSD-3-Clause): it parses the
 * boxes and the sample tables; we take the tracks, the codec configuration, and read each
 * sample's bytes from the file buffer at the offset mp4box gives. Pure: bytes in, result out.
 */
import { createFile, type ISOFile, MP4BoxBuffer, type Sample, type Track } from 'mp4box';
import { fail, ok } from '../../wire/result.ts';
import { ticksToMs } from '../media-clock.ts';
import { NAL_STAP_A, type NalLengthSize, nalType, splitLengthPrefixed } from '../h264/nal-unit.ts';
import { MAX_AAC_FRAME_BYTES } from '../aac/rtp-aac.ts';
import type { AvMovieRejection, AvSample, H264Sample } from './av-movie.ts';
import { MAX_FILE_SAMPLES, MAX_TRACK_SAMPLES, MAX_TRACKS } from './av-movie.ts';
import { scanMp4 } from './mp4-box-scan.ts';
import { type H264Config, readAacConfig, readH264Config, type AacConfig } from './mp4-sample-entry.ts';

export interface DemuxedTrack<S, C> {
  readonly track: Track;
  readonly config: C;
  readonly samples: readonly S[];
}

export interface Mp4Demuxed {
  readonly video: DemuxedTrack<H264Sample, H264Config>;
  readonly audio?: DemuxedTrack<AvSample, AacConfig>;
}

export type Mp4DemuxResult =
  | { readonly ok: true; readonly value: Mp4Demuxed }
  | { readonly ok: false; readonly reason: AvMovieRejection; readonly detail: string };

type Refusal = Extract<Mp4DemuxResult, { ok: false }>;

const refuse = (reason: AvMovieRejection, detail: string): Refusal => ({ ...fail(reason), detail });

export function demuxMp4(buf: Buffer): Mp4DemuxResult {
  const scan = scanMp4(buf);
  if (!scan.ok) {
    return scan.reason === 'unsupported'
      ? refuse('not-isobmff', 'not an ISO BMFF (MP4/MOV) file')
      : refuse('malformed', 'its MP4 boxes do not nest');
  }
  if (!scan.value.hasMoov) return refuse('not-isobmff', 'no movie box (moov)');
  if (scan.value.tracks > MAX_TRACKS) return refuse('malformed', `${scan.value.tracks} tracks (at most ${MAX_TRACKS})`);
  if (scan.value.totalSamples > MAX_FILE_SAMPLES) {
    return refuse(
      'too-many-samples',
      `its tracks declare ${scan.value.totalSamples} samples (at most ${MAX_FILE_SAMPLES})`,
    );
  }
  if (scan.value.maxTrackSamples > MAX_TRACK_SAMPLES) {
    return refuse(
      'too-many-samples',
      `a track declares ${scan.value.maxTrackSamples} samples (at most ${MAX_TRACK_SAMPLES})`,
    );
  }

  // mp4box prints what it cannot parse (e.g. an unknown udta box) to the console; harmless.
  let file: ISOFile;
  try {
    file = createFile();
    // A file buffer usually owns its whole ArrayBuffer: hand that over rather than copy up to
    // 256 MiB (MP4BoxBuffer.fromArrayBuffer copies). mp4box only reads it and sets fileStart and
    // usedBytes on it, which a plain ArrayBuffer takes as well.
    const whole = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer;
    const ab = whole
      ? Object.assign(buf.buffer, { fileStart: 0, usedBytes: 0 })
      : MP4BoxBuffer.fromArrayBuffer(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length), 0);
    file.appendBuffer(ab, true);
    file.flush();
  } catch (e) {
    // A third-party parser on untrusted bytes: whatever it throws means the file is broken.
    return refuse('malformed', `mp4box could not parse it (${e instanceof Error ? e.message : String(e)})`);
  }
  const info = file.getInfo();
  if (!info.hasMoov) return refuse('not-isobmff', 'no movie box (moov)');

  const videoTrack = info.tracks.find((t) => t.type === 'video');
  const audioTrack = info.tracks.find((t) => t.type === 'audio');
  const holds = [videoTrack, audioTrack]
    .filter((t) => t !== undefined)
    .map((t) => `${t.type} ${t.codec}`)
    .join(', ');
  if (videoTrack === undefined) return refuse('no-video', `no video track (it holds ${holds || 'no media'})`);
  const video = readH264Config(file, videoTrack);
  if (!video.ok) return refuse(video.reason, video.detail);
  const audio = audioTrack === undefined ? undefined : readAacConfig(file, audioTrack);
  if (audio !== undefined && !audio.ok) return refuse(audio.reason, audio.detail);

  const videoSamples = readSamples(buf, file, videoTrack, (s, i) => h264Sample(s, video.value.nalLengthSize, i));
  if (!videoSamples.ok) return videoSamples;
  const h264 = { track: videoTrack, config: video.value, samples: videoSamples.value };
  if (audio === undefined || audioTrack === undefined) return ok({ video: h264 });
  const aacSamples = readSamples(buf, file, audioTrack, (s, i) =>
    s.data.length > MAX_AAC_FRAME_BYTES
      ? refuse('malformed', `audio sample ${i} has ${s.data.length} bytes, over RTP AAC's ${MAX_AAC_FRAME_BYTES}`)
      : ok(s),
  );
  if (!aacSamples.ok) return aacSamples;
  return ok({ video: h264, audio: { track: audioTrack, config: audio.value, samples: aacSamples.value } });
}

function h264Sample(s: AvSample, lengthSize: NalLengthSize, index: number): Refusal | { ok: true; value: H264Sample } {
  const nals = splitLengthPrefixed(s.data, lengthSize);
  if (!nals.ok) return refuse('malformed', `video sample ${index}: its NAL unit lengths are ${nals.reason}`);
  // Types 0 and 24..31 are unspecified in H.264 and mean packetization structures in RTP.
  const odd = nals.value.find((n) => nalType(n) === 0 || nalType(n) >= NAL_STAP_A);
  if (odd !== undefined) return refuse('malformed', `video sample ${index} holds a NAL unit of type ${nalType(odd)}`);
  return ok({ ...s, nals: nals.value });
}

/**
 * The track's samples in decode order, with the edit list applied: the first edit that plays
 * media (media_time >= 0) says which media time is shown first, and empty edits before it delay
 * the start (their durations are in the movie timescale).
 */
function readSamples<S>(
  buf: Buffer,
  file: ISOFile,
  track: Track,
  make: (s: AvSample, index: number) => Refusal | { ok: true; value: S },
): { ok: true; value: S[] } | Refusal {
  const raw: Sample[] = file.getTrackSamplesInfo(track.id);
  if (raw.length === 0) return refuse('malformed', `the ${track.type} track has no samples`);
  if (raw.length > MAX_TRACK_SAMPLES) return refuse('too-many-samples', `${raw.length} ${track.type} samples`);
  const timescale = track.timescale;
  const shift = editShift(file, track);
  const out: S[] = [];
  for (const [i, s] of raw.entries()) {
    if (!(s.offset >= 0 && s.size > 0 && s.offset + s.size <= buf.length)) {
      return refuse('malformed', `${track.type} sample ${i} lies outside the file`);
    }
    const dts = s.dts + shift;
    const pts = s.cts + shift;
    const sample: AvSample = {
      dts,
      pts,
      duration: s.duration,
      dtsMs: ticksToMs(dts, timescale),
      ptsMs: ticksToMs(pts, timescale),
      durationMs: ticksToMs(s.duration, timescale),
      keyframe: s.is_sync,
      data: buf.subarray(s.offset, s.offset + s.size),
    };
    const made = make(sample, i);
    if (!made.ok) return made;
    out.push(made.value);
  }
  return ok(out);
}

/** Ticks to add to the track's media times so that presentation starts where the edit list says. */
function editShift(file: ISOFile, track: Track): number {
  const entries = file.getTrackById(track.id)?.edts?.elst?.entries ?? [];
  const movieTimescale = file.getInfo().timescale;
  let delay = 0;
  for (const e of entries) {
    if (e.media_time < 0) {
      delay += movieTimescale > 0 ? Math.round((e.segment_duration * track.timescale) / movieTimescale) : 0;
      continue;
    }
    return delay - e.media_time;
  }
  return delay;
}
