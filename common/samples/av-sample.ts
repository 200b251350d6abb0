/**
 * The H.264 + AAC sample movie (npm run movies): ffmpeg's test pattern with a running clock and a
 * 440 Hz tone, 20 s at 320x240, 25 fps, a keyframe every second, B-frames, AAC-LC 48 kHz: what
 * common tools produce, so a fresh checkout serves one movie with sound. Made only when ffmpeg
 * with libx264 is installed (npm run setup installs it); MJPEG samples need nothing.
 */
import { execFile } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const AV_SAMPLE_FILE = 'testsrc.mp4';
const SECONDS = 20;

export type AvSampleResult =
  | { readonly kind: 'written'; readonly path: string }
  | { readonly kind: 'kept'; readonly path: string }
  | { readonly kind: 'skipped'; readonly reason: string };

/** The ffmpeg arguments that write the sample to `out`. */
export function avSampleArgs(out: string): string[] {
  return [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${SECONDS}`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${SECONDS}`],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '25', '-bf', '2'],
    ...['-c:a', 'aac', '-b:a', '64k', '-movflags', '+faststart', '-f', 'mp4', out],
  ];
}

/** Writes the sample into `dir` (kept if present, unless `force`), or says why it could not. */
export async function makeAvSample(dir: string, force = false, ffmpeg = 'ffmpeg'): Promise<AvSampleResult> {
  const path = join(dir, AV_SAMPLE_FILE);
  if (existsSync(path) && !force) return { kind: 'kept', path };
  const encoders = await run(ffmpeg, ['-hide_banner', '-encoders']).catch(() => null);
  if (encoders === null) return { kind: 'skipped', reason: `${ffmpeg} is not installed (npm run setup installs it)` };
  if (!/\blibx264\b/.test(encoders.stdout)) return { kind: 'skipped', reason: `${ffmpeg} has no libx264 encoder` };
  // Written under another name and renamed: an interrupted run leaves no half movie to keep later.
  const partial = join(dir, `.${AV_SAMPLE_FILE}.partial`);
  try {
    await run(ffmpeg, avSampleArgs(partial));
    renameSync(partial, path);
    return { kind: 'written', path };
  } catch (err) {
    rmSync(partial, { force: true });
    const why = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n').at(-1);
    return { kind: 'skipped', reason: `ffmpeg failed: ${why}` };
  }
}
