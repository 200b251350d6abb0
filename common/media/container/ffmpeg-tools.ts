/**
 * The two things we ask of ffmpeg when loading a movie: remux a file mp4box cannot read (MKV)
 * into MP4 without re-encoding (`-c copy`), and name what a refused file holds (ffprobe).
 * Both run as child processes with a time limit and bounded output.
 */
import { execFile } from 'node:child_process';
import { basename, extname } from 'node:path';
import * as v from 'valibot';

/** A remux copies bytes; a minute is far beyond what a 256 MiB file takes. */
export const FFMPEG_TIMEOUT_MS = 60_000;
/** Output we keep from ffprobe (JSON) or ffmpeg (its error messages). */
export const FFMPEG_MAX_OUTPUT_BYTES = 1024 * 1024;

export interface ProbedStream {
  readonly type: string;
  readonly codec: string;
}

export interface ToolResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[]): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: FFMPEG_TIMEOUT_MS, maxBuffer: FFMPEG_MAX_OUTPUT_BYTES, encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ ok: error === null, stdout, stderr: stderr || (error?.message ?? '') }),
    );
  });
}

/**
 * Copies the first video stream and the first audio stream (if any) of `input` into an MP4 at
 * `output`, without re-encoding. Other streams (subtitles, attachments) are left out: MP4 cannot
 * hold some of them and the overlay carries neither.
 */
export async function remuxToMp4(input: string, output: string, ffmpeg = 'ffmpeg'): Promise<ToolResult> {
  return run(ffmpeg, [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-i', input],
    ...['-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy', '-f', 'mp4', output],
  ]);
}

const ProbeSchema = v.object({
  streams: v.pipe(
    v.array(v.object({ codec_type: v.optional(v.string()), codec_name: v.optional(v.string()) })),
    v.maxLength(1000),
  ),
});

/** The streams of a file as ffprobe names them ("video", "mpeg4"); undefined when ffprobe cannot tell. */
export async function probeStreams(file: string, ffprobe = 'ffprobe'): Promise<ProbedStream[] | undefined> {
  const r = await run(ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name', '-of', 'json', file]);
  if (!r.ok) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    return undefined;
  }
  const parsed = v.safeParse(ProbeSchema, json);
  if (!parsed.success) return undefined;
  return parsed.output.streams.map((s) => ({ type: s.codec_type ?? 'unknown', codec: s.codec_name ?? 'unknown' }));
}

/** "video mpeg4, audio mp3" for a message. */
export function describeStreams(streams: readonly ProbedStream[]): string {
  const media = streams.filter((s) => s.type === 'video' || s.type === 'audio');
  return media.length === 0 ? 'no video or audio' : media.map((s) => `${s.type} ${s.codec}`).join(', ');
}

/** True when ffprobe saw H.264 video and at most AAC audio in the first streams: what we carry. */
export function isCarryable(streams: readonly ProbedStream[]): boolean {
  const video = streams.find((s) => s.type === 'video');
  const audio = streams.find((s) => s.type === 'audio');
  return video?.codec === 'h264' && (audio === undefined || audio.codec === 'aac');
}

/** The command that converts `file` to what the server carries, quoted for a POSIX shell. */
export function conversionCommand(file: string): string {
  const stem = basename(file, extname(file));
  // Never the input's own name: ffmpeg cannot write the file it reads.
  const out = extname(file).toLowerCase() === '.mp4' ? `${stem}-h264.mp4` : `${stem}.mp4`;
  return `ffmpeg -i ${shellQuote(file)} -c:v libx264 -c:a aac ${shellQuote(out)}`;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
