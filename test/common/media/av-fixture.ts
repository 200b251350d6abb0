/**
 * Short H.264 + AAC movies made by ffmpeg for tests (a test pattern and a 440 Hz tone), in a
 * temporary directory. Two seconds at 320x240 and 25 fps with B-frames (so pts != dts) and a
 * keyframe every second: a few tens of kilobytes, made in well under a second.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MissingToolError, requireCommands } from '../../capabilities.ts';

const run = promisify(execFile);

export interface AvFixtureOptions {
  /** ffmpeg encoder for the video; default libx264. */
  readonly video?: 'libx264' | 'mpeg4';
  /** ffmpeg encoder for the audio, or none; default aac. */
  readonly audio?: 'aac' | 'libmp3lame' | 'none';
  /** File extension, which picks the container; default mp4. */
  readonly container?: 'mp4' | 'mkv' | 'mov';
  readonly seconds?: number;
}

let libx264: boolean | undefined;

/** Fails the test (as for any tool setup installs) when ffmpeg, ffprobe or its libx264 encoder is missing. */
export function requireAvTools(): void {
  requireCommands('ffmpeg', 'ffprobe');
  libx264 ??= /\blibx264\b/.test(spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' }).stdout);
  if (!libx264) {
    throw new MissingToolError('ffmpeg has no libx264 encoder: install a full ffmpeg build (Debian package ffmpeg).');
  }
}

export async function makeTempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'av-fixture-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `name`.<container> into `dir` and returns its path. */
export async function makeAvFixture(dir: string, name: string, options: AvFixtureOptions = {}): Promise<string> {
  requireAvTools();
  const seconds = String(options.seconds ?? 2);
  const path = join(dir, `${name}.${options.container ?? 'mp4'}`);
  const video = options.video ?? 'libx264';
  const audio = options.audio ?? 'aac';
  const args = [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
    ...(audio === 'none' ? [] : ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000']),
    ...['-t', seconds, '-pix_fmt', 'yuv420p', '-c:v', video],
    ...(video === 'libx264' ? ['-preset', 'veryfast', '-bf', '2', '-g', '25'] : []),
    ...(audio === 'none' ? [] : ['-c:a', audio]),
    path,
  ];
  await run('ffmpeg', args);
  return path;
}

/** ffmpeg with the given arguments; its stdout. */
export async function ffmpegOutput(args: readonly string[]): Promise<string> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

export interface ProbedPacket {
  readonly pts: number;
  readonly dts: number;
  readonly duration: number;
  readonly keyframe: boolean;
  readonly size: number;
}

/** ffprobe's packets of the first stream of a type, times in the stream's time base. */
export async function probePackets(file: string, stream: 'v' | 'a'): Promise<ProbedPacket[]> {
  const out = await run(
    'ffprobe',
    [
      ...['-v', 'error', '-select_streams', `${stream}:0`],
      ...['-show_entries', 'packet=pts,dts,duration,flags,size', '-of', 'json', file],
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const json = JSON.parse(out.stdout) as {
    packets: { pts: number; dts: number; duration: number; flags: string; size: string }[];
  };
  return json.packets.map((p) => ({
    pts: p.pts,
    dts: p.dts,
    duration: p.duration,
    keyframe: p.flags.startsWith('K'),
    size: Number(p.size),
  }));
}

/**
 * The payload hashes of ffmpeg's framemd5 output, in output order: the sixth column
 * ("stream, dts, pts, duration, size, hash"), before any side data ("S=1, size, hash").
 */
export function frameHashes(framemd5: string): string[] {
  return framemd5
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => line.split(',')[5]?.trim() ?? '');
}
