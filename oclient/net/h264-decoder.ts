/**
 * Decodes H.264 for the terminal player with an ffmpeg subprocess: Annex B access units in on
 * its stdin, raw RGBA pictures of a fixed size out on its stdout (scaled there, so every picture
 * is width x height x 4 bytes whatever the stream's size). Low delay: no probing, one decoding thread.
 *
 * Bounded: input waiting in the pipe beyond MAX_DECODER_BACKLOG_BYTES is dropped until ffmpeg
 * catches up (counted; the picture may then break up until the next keyframe, which is better
 * than a terminal that falls ever further behind). ffmpeg failing is an 'error' event, once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { TypedEmitter } from '../../common/core/typed-emitter.ts';
import type { RgbaImage } from '../../common/media/rgba-image.ts';

export const MAX_DECODER_BACKLOG_BYTES = 4 * 1024 * 1024;
/** The largest picture decoded for the terminal (a terminal shows far fewer cells anyway). */
export const MAX_DECODED_PIXELS = 1920 * 1080;

export interface H264DecoderEvents {
  picture: [image: RgbaImage];
  error: [why: string];
}

export class H264Decoder {
  readonly events = new TypedEmitter<H264DecoderEvents>();
  /** Access units dropped because ffmpeg did not keep up. */
  dropped = 0;
  private readonly child: ChildProcess;
  private readonly frameBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private failed = false;
  private stopped = false;

  constructor(
    readonly width: number,
    readonly height: number,
    ffmpeg = 'ffmpeg',
  ) {
    const w = Math.max(2, Math.min(width, 4096)) & ~1;
    const h = Math.max(2, Math.min(height, 4096)) & ~1;
    const scale = w * h > MAX_DECODED_PIXELS ? Math.sqrt(MAX_DECODED_PIXELS / (w * h)) : 1;
    this.width = Math.max(2, Math.floor(w * scale) & ~1);
    this.height = Math.max(2, Math.floor(h * scale) & ~1);
    this.frameBytes = this.width * this.height * 4;
    const args = [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
      // Not -flags low_delay: it makes the decoder drop B-frames.
      ...['-probesize', '32', '-analyzeduration', '0'],
      ...['-threads', '1', '-f', 'h264', '-i', 'pipe:0', '-an', '-vf', `scale=${this.width}:${this.height}`],
      ...['-fps_mode', 'passthrough', '-flush_packets', '1', '-pix_fmt', 'rgba', '-f', 'rawvideo', 'pipe:1'],
    ];
    this.child = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.on('error', (err: NodeJS.ErrnoException) =>
      this.fail(err.code === 'ENOENT' ? `${ffmpeg} is not installed` : `cannot run ${ffmpeg}: ${err.message}`),
    );
    this.child.once('exit', (code, signal) => {
      if (!this.stopped) this.fail(`${ffmpeg} stopped (${signal ?? `exit ${code}`})`);
    });
    this.child.stdin?.on('error', () => {});
    this.child.stdout?.on('data', (chunk: Buffer) => this.output(chunk));
  }

  /** One access unit, Annex B (AvVideoUnit.annexB). */
  push(annexB: Buffer): void {
    const stdin = this.child.stdin;
    if (this.failed || this.stopped || stdin === null || stdin.destroyed) return;
    if (stdin.writableLength > MAX_DECODER_BACKLOG_BYTES) {
      this.dropped++;
      return;
    }
    stdin.write(annexB);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.child.stdin?.destroy();
    this.child.stdout?.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private output(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= this.frameBytes) {
      const all = Buffer.concat(this.pending);
      const picture = all.subarray(0, this.frameBytes);
      const rest = all.subarray(this.frameBytes);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      this.events.emit('picture', { width: this.width, height: this.height, data: picture });
    }
  }

  private fail(why: string): void {
    if (this.failed) return;
    this.failed = true;
    this.stop();
    this.events.emit('error', why);
  }
}
