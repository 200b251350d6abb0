/**
 * Loads an H.264 + AAC movie file (MP4, MOV, MKV, ...) for streaming without re-encoding.
 *
 * MP4 and MOV are demuxed by mp4box in memory. Anything else (MKV, WebM, or a file mp4box does not
 * recognise) is first remuxed by ffmpeg into a temporary MP4 (`-c copy`), then demuxed the same
 * way. A file whose codecs we cannot carry is refused with an AvMovieError naming the file, what
 * it holds (ffprobe's words) and the ffmpeg command that converts it.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { ticksToMs } from '../media-clock.ts';
import { type AvMovie, AvMovieError, type AvMovieRejection, MAX_AV_FILE_BYTES } from './av-movie.ts';
import { conversionCommand, describeStreams, isCarryable, probeStreams, remuxToMp4 } from './ffmpeg-tools.ts';
import { demuxMp4, type Mp4Demuxed } from './mp4-demux.ts';
import { NAL_PPS, NAL_SPS, nalType } from '../h264/nal-unit.ts';

/** Extensions mp4box reads directly; others go through ffmpeg first. */
const ISO_BMFF_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov', '.3gp']);

export interface LoadAvMovieOptions {
  /** Largest file (and remuxed file) accepted; default MAX_AV_FILE_BYTES (256 MiB). */
  readonly maxFileBytes?: number;
  /** Executables; default "ffmpeg" and "ffprobe" from PATH. */
  readonly ffmpeg?: string;
  readonly ffprobe?: string;
}

const MIB = 1024 * 1024;

export async function loadAvMovie(file: string, options: LoadAvMovieOptions = {}): Promise<AvMovie> {
  const maxBytes = options.maxFileBytes ?? MAX_AV_FILE_BYTES;
  const size = await fileSize(file);
  if (size === undefined) throw new AvMovieError(file, 'not-found', `${file}: no such file`);
  if (size > maxBytes) {
    const mib = (n: number): string => `${(n / MIB).toFixed(1)} MiB`;
    throw new AvMovieError(file, 'oversize', `${file}: ${mib(size)} is over the ${mib(maxBytes)} limit for movies`);
  }
  if (ISO_BMFF_EXTENSIONS.has(extname(file).toLowerCase())) {
    const buf = await readFile(file);
    const demuxed = demuxMp4(buf);
    if (demuxed.ok) return toAvMovie(file, false, demuxed.value);
    if (demuxed.reason !== 'not-isobmff' && demuxed.reason !== 'malformed') {
      return refuse(file, demuxed.reason, demuxed.detail, options);
    }
  }
  return loadRemuxed(file, maxBytes, options);
}

async function loadRemuxed(file: string, maxBytes: number, options: LoadAvMovieOptions): Promise<AvMovie> {
  const dir = await mkdtemp(join(tmpdir(), 'onode-remux-'));
  try {
    const out = join(dir, 'remuxed.mp4');
    const r = await remuxToMp4(file, out, options.ffmpeg);
    if (!r.ok) {
      const why = r.stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300);
      return await refuse(file, 'remux-failed', `ffmpeg could not remux it to MP4 (${why})`, options);
    }
    const size = (await fileSize(out)) ?? 0;
    if (size > maxBytes) {
      throw new AvMovieError(file, 'oversize', `${file}: remuxed to MP4 it is over the ${maxBytes}-byte limit`);
    }
    const demuxed = demuxMp4(await readFile(out));
    if (!demuxed.ok) return await refuse(file, demuxed.reason, demuxed.detail, options);
    return toAvMovie(file, true, demuxed.value);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Throws the refusal. When the codecs are the problem (or ffmpeg failed), ffprobe names what
 * the file holds and the message gives the conversion command.
 */
async function refuse(
  file: string,
  reason: AvMovieRejection,
  detail: string,
  options: LoadAvMovieOptions,
): Promise<never> {
  if (reason === 'unsupported-codec' || reason === 'no-video' || reason === 'remux-failed') {
    const streams = await probeStreams(file, options.ffprobe);
    if (streams !== undefined && !isCarryable(streams)) {
      throw new AvMovieError(
        file,
        reason === 'remux-failed' ? 'unsupported-codec' : reason,
        `${file}: holds ${describeStreams(streams)}; the server streams H.264 video with optional AAC audio, ` +
          `without re-encoding. Convert it with: ${conversionCommand(file)}`,
      );
    }
  }
  const hint = reason === 'unsupported-codec' ? `; convert it with: ${conversionCommand(file)}` : '';
  throw new AvMovieError(file, reason, `${file}: ${detail}${hint}`);
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    const s = await stat(file);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

function toAvMovie(file: string, remuxed: boolean, d: Mp4Demuxed): AvMovie {
  const { track, config, samples } = d.video;
  let { sps, pps } = config;
  if (sps.length === 0 || pps.length === 0) {
    // avc3: parameter sets travel in band; take them from the first keyframe.
    const inBand = samples.find((s) => s.keyframe)?.nals ?? [];
    sps = inBand.filter((n) => nalType(n) === NAL_SPS);
    pps = inBand.filter((n) => nalType(n) === NAL_PPS);
  }
  const firstSps = sps[0];
  if (firstSps === undefined || pps.length === 0 || firstSps.length < 4) {
    throw new AvMovieError(file, 'malformed', `${file}: the H.264 track has no SPS/PPS parameter sets`);
  }
  const videoMs = ticksToMs(
    samples.reduce((n, s) => n + s.duration, 0),
    track.timescale,
  );
  const video = {
    codec: 'h264' as const,
    trackId: track.id,
    timescale: track.timescale,
    width: config.width,
    height: config.height,
    sps,
    pps,
    nalLengthSize: config.nalLengthSize,
    profileLevelId: firstSps.subarray(1, 4).toString('hex'),
    codecString: `avc1.${firstSps.subarray(1, 4).toString('hex')}`,
    fps: videoMs > 0 ? (samples.length * 1000) / videoMs : 0,
    durationMs: videoMs,
    samples,
  };
  if (d.audio === undefined) return { file, remuxed, video, durationMs: videoMs };
  const a = d.audio;
  const audioMs = ticksToMs(
    a.samples.reduce((n, s) => n + s.duration, 0),
    a.track.timescale,
  );
  const audio = {
    codec: 'aac' as const,
    trackId: a.track.id,
    timescale: a.track.timescale,
    sampleRate: a.config.sampleRate,
    channels: a.config.channels,
    objectType: a.config.objectType,
    config: a.config.config,
    frameDuration: a.config.frameDuration,
    codecString: `mp4a.40.${a.config.objectType}`,
    durationMs: audioMs,
    samples: a.samples,
  };
  return { file, remuxed, video, audio, durationMs: Math.max(videoMs, audioMs) };
}
