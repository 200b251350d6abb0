/**
 * The headless client's --output FILE.mkv / FILE.mp4 for an H.264 + AAC session: what was
 * received, remuxed without re-encoding, each unit at its presentation time on the session's
 * one timeline (so the tracks stay in sync).
 *
 * How: we write Matroska ourselves (oclient/core/matroska-mux.ts, a few EBML elements) into the
 * stdin of `ffmpeg -f matroska -i pipe:0 -c copy FILE`. Matroska streams (unknown-size segment)
 * and carries a timestamp per block, so B-frames keep their presentation times; ffmpeg then
 * writes either container properly (an MP4's moov needs all sample tables, which ffmpeg
 * writes at the end, seeking in the file) and starts the file at 0 from the earliest unit of
 * either track. Our own writer alone would need a second, MP4 muxer; mp4box.js would need
 * the whole movie in memory (or fragments, which fewer tools play) and its own AAC esds.
 * Memory stays bounded: one cluster (MAX_CLUSTER_BYTES) plus the pipe's backlog (MAX_AV_OUTPUT_BACKLOG_BYTES).
 *
 * Failures follow output-files.ts: the first one becomes an OutputError, emitted once and
 * returned by close(); nothing is thrown out of an event handler. ffmpeg ends with the output:
 * close() ends its input and waits (killing it after CLOSE_TIMEOUT_MS), a failure kills it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, extname, join } from 'node:path';
import { TypedEmitter } from '../../common/core/typed-emitter.ts';
import type { AvSdpTracks } from '../core/av-sdp-reader.ts';
import type { AvUnit } from '../core/av-receiver.ts';
import {
  avcDecoderConfig,
  inBandParameterSets,
  MatroskaClusters,
  type MkvTracks,
  matroskaHeader,
  trackNumbers,
  videoBlockData,
} from '../core/matroska-mux.ts';
import { checkOutputFile, MAX_OUTPUT_BACKLOG_BYTES, OutputError } from './output-files.ts';

/** Bytes waiting in ffmpeg's pipe before the client gives up (the disk or ffmpeg does not keep up). */
export const MAX_AV_OUTPUT_BACKLOG_BYTES = MAX_OUTPUT_BACKLOG_BYTES;
/**
 * Units may come earlier than the first one written by this much (the other track's first
 * unit, B-frames): times are written from the first unit minus this, never below 0.
 */
export const MAX_TRACK_SKEW_MS = 10_000;
/** How long close() waits for ffmpeg to finish the file before killing it. */
export const CLOSE_TIMEOUT_MS = 30_000;
/** ffmpeg's error output kept for the message. */
export const MAX_FFMPEG_STDERR_BYTES = 16 * 1024;
/** Units (and their bytes) held while waiting for the parameter sets (an SDP without sprop-parameter-sets). */
export const MAX_UNITS_BEFORE_HEADER = 1024;
export const MAX_BYTES_BEFORE_HEADER = 8 * 1024 * 1024;

export type AvOutputFormat = 'matroska' | 'mp4';

/** The container an --output path asks for, by its extension; undefined for any other. */
export function avOutputFormat(path: string): AvOutputFormat | undefined {
  const ext = extname(path).toLowerCase();
  return ext === '.mkv' ? 'matroska' : ext === '.mp4' ? 'mp4' : undefined;
}

/** The output's tracks from the session's SDP. */
export function outputTracks(tracks: AvSdpTracks): MkvTracks {
  const v = tracks.video;
  const a = tracks.audio;
  return {
    ...(v === undefined
      ? {}
      : {
          video: {
            sps: v.sps,
            pps: v.pps,
            ...(v.width !== undefined && v.height !== undefined ? { width: v.width, height: v.height } : {}),
          },
        }),
    ...(a === undefined ? {} : { audio: { sampleRate: a.clockRate, channels: a.channels, config: a.config } }),
  };
}

/** Whether `command` is an executable on PATH (or an executable path). */
export function onPath(command: string): boolean {
  const dirs = command.includes('/') ? [''] : (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  return dirs.some((d) => {
    try {
      accessSync(d === '' ? command : join(d, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const missingFfmpeg = (ffmpeg: string) =>
  `it needs ${ffmpeg}, which is not installed: run \`npm run setup\` (or apt install ffmpeg)`;

/** Checks an --output path for an H.264 + AAC session before playing: its extension, the file, ffmpeg. */
export function checkAvOutput(path: string, ffmpeg = 'ffmpeg'): OutputError | null {
  if (avOutputFormat(path) === undefined) {
    return new OutputError('--output', path, 'an H.264 + AAC stream is written as .mkv or .mp4');
  }
  if (!onPath(ffmpeg)) return new OutputError('--output', path, missingFfmpeg(ffmpeg));
  return checkOutputFile(path);
}

export interface AvOutputEvents {
  /** Once, on the first failure (ffmpeg is stopped by then). */
  error: [err: OutputError];
}

export interface AvOutputCounters {
  units: number;
  bytes: number;
  /** Units earlier than MAX_TRACK_SKEW_MS before the first: written at the start. */
  clamped: number;
  /** Units dropped: before the parameter sets were known, or after a failure. */
  dropped: number;
}

export interface AvOutputOptions {
  /** The ffmpeg command; default "ffmpeg". */
  readonly ffmpeg?: string;
}

export class AvOutput {
  readonly events = new TypedEmitter<AvOutputEvents>();
  readonly counters: AvOutputCounters = { units: 0, bytes: 0, clamped: 0, dropped: 0 };
  private readonly child: ChildProcess;
  private readonly numbers: { video?: number; audio?: number };
  private readonly clusters = new MatroskaClusters();
  private readonly exited: Promise<number | null>;
  /** Settles once ffmpeg started, or could not (ENOENT comes as an event, after open returned). */
  private readonly started: Promise<void>;
  private stderr = '';
  private failure: OutputError | null = null;
  private closing: Promise<OutputError | null> | null = null;
  private headerWritten = false;
  private readonly waiting: AvUnit[] = [];
  private waitingBytes = 0;
  private originMs: number | undefined;

  /**
   * Starts ffmpeg writing `path`; later failures arrive as 'error' and from close().
   * @throws OutputError for a path that is not .mkv or .mp4 (checkAvOutput says so before playing).
   */
  static open(path: string, tracks: MkvTracks, options: AvOutputOptions = {}): AvOutput {
    const format = avOutputFormat(path);
    if (format === undefined)
      throw new OutputError('--output', path, 'an H.264 + AAC stream is written as .mkv or .mp4');
    return new AvOutput(path, format, tracks, options.ffmpeg ?? 'ffmpeg');
  }

  private constructor(
    readonly path: string,
    format: AvOutputFormat,
    private readonly tracks: MkvTracks,
    private readonly ffmpeg: string,
  ) {
    this.numbers = trackNumbers(tracks);
    const args = [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'matroska', '-i', 'pipe:0'],
      ...['-map', '0', '-c', 'copy', '-f', format, path],
    ];
    // Its own process group: Ctrl-C in the terminal reaches the client, which then ends ffmpeg's input
    // (ffmpeg stopped by SIGINT itself exits 255). Should the client die, the pipe closes and ffmpeg
    // finishes the file and exits: never an orphan.
    this.child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    this.started = new Promise((resolve) => {
      this.child.once('spawn', () => resolve());
      this.child.once('error', () => resolve());
    });
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code) => resolve(code));
      this.child.once('error', () => resolve(null));
    });
    this.child.on('error', (err: NodeJS.ErrnoException) => {
      this.fail(err.code === 'ENOENT' ? missingFfmpeg(ffmpeg) : `cannot run ${ffmpeg}: ${err.message}`);
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-MAX_FFMPEG_STDERR_BYTES);
    });
    // EPIPE when ffmpeg died: its exit says why.
    this.child.stdin?.on('error', () => {});
    this.child.once('close', (code, signal) => {
      if (this.closing === null) this.fail(`${ffmpeg} stopped (${signal ?? `exit ${code}`}): ${this.ffmpegSaid()}`);
    });
  }

  /** ffmpeg's process id (undefined when it could not start). */
  get ffmpegPid(): number | undefined {
    return this.child.pid;
  }

  get error(): OutputError | null {
    return this.failure;
  }

  /** Adds a unit from AvReceiver (units of a track in decode order, as received). */
  write(unit: AvUnit): void {
    if (this.failure !== null || this.closing !== null) {
      this.counters.dropped++;
      return;
    }
    if (!this.headerWritten && !this.writeHeader(unit)) return;
    this.writeUnit(unit);
  }

  /** Ends ffmpeg's input and waits for the file; resolves with the first failure, if any. Later calls share it. */
  close(): Promise<OutputError | null> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<OutputError | null> {
    await this.started;
    if (this.failure !== null) return this.failure;
    if (!this.headerWritten) {
      // ffmpeg cannot make a file of nothing (nor of tracks whose parameters it never saw).
      this.fail('nothing was received to write');
      await this.exited;
      return this.failure;
    }
    const last = this.clusters.flush();
    if (last !== undefined) this.send(last);
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    const code = await this.exited;
    clearTimeout(timer);
    if (this.failure === null && code !== 0) {
      this.fail(code === null ? `${this.ffmpeg} did not finish` : `${this.ffmpeg} failed: ${this.ffmpegSaid()}`);
    }
    return this.failure;
  }

  /** Writes the header once the parameter sets are known (from the SDP, or in band at the first keyframe). */
  private writeHeader(unit: AvUnit): boolean {
    const v = this.tracks.video;
    let avcC: Buffer | undefined;
    if (v !== undefined) {
      const inBand = unit.track === 'video' ? inBandParameterSets(unit.nals) : { sps: [], pps: [] };
      avcC = avcDecoderConfig(v.sps.length > 0 ? v.sps : inBand.sps, v.pps.length > 0 ? v.pps : inBand.pps);
      if (avcC === undefined) {
        const bytes = unit.track === 'video' ? unit.annexB.length : unit.data.length;
        if (this.waiting.length < MAX_UNITS_BEFORE_HEADER && this.waitingBytes + bytes <= MAX_BYTES_BEFORE_HEADER) {
          this.waiting.push(unit);
          this.waitingBytes += bytes;
        } else {
          this.counters.dropped++;
        }
        return false;
      }
    }
    this.headerWritten = true;
    this.send(matroskaHeader(this.tracks, avcC, 'oclient'));
    const held = this.waiting.splice(0);
    this.waitingBytes = 0;
    for (const u of held) this.writeUnit(u);
    return true;
  }

  private writeUnit(unit: AvUnit): void {
    const number = this.numbers[unit.track];
    if (number === undefined) {
      this.counters.dropped++;
      return;
    }
    this.originMs ??= unit.timeMs - MAX_TRACK_SKEW_MS;
    let ms = unit.timeMs - this.originMs;
    if (ms < 0) {
      this.counters.clamped++;
      ms = 0;
    }
    const video = unit.track === 'video';
    const data = video ? videoBlockData(unit.nals) : unit.data;
    const keyframe = video ? unit.keyframe : true;
    const cluster = this.clusters.add(number, ms * 1000, keyframe, data, video && unit.keyframe);
    if (cluster !== undefined) this.send(cluster);
    this.counters.units++;
    this.counters.bytes += data.length;
  }

  private send(buf: Buffer): void {
    const stdin = this.child.stdin;
    if (this.failure !== null || stdin === null || stdin.destroyed) return;
    if (stdin.writableLength > MAX_AV_OUTPUT_BACKLOG_BYTES) {
      const mib = MAX_AV_OUTPUT_BACKLOG_BYTES / 1024 / 1024;
      this.fail(`the disk or ${this.ffmpeg} does not keep up: more than ${mib} MiB are waiting to be written`);
      return;
    }
    stdin.write(buf);
  }

  private ffmpegSaid(): string {
    const said = this.stderr.trim().split('\n').slice(-3).join(' / ');
    return said.length > 0 ? said : 'no message';
  }

  private fail(reason: string): void {
    if (this.failure !== null) return;
    this.failure = new OutputError('--output', this.path, reason);
    this.child.stdin?.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    this.events.emit('error', this.failure);
  }
}
