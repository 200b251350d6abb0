/**
 * The reference server of bench/rtsp/main.ts: gst-rtsp-server (bench/rtsp/gst-rtsp-server.py,
 * run by Debian's /usr/bin/python3 with python3-gi) serving a movie's own JPEG frames at the
 * movie's frame rate. The process exits when its stdin closes, so it never outlives the bench.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { splitMovie } from '../../common/media/movie-file.ts';

/** Debian's interpreter: python3-gi is installed for it, not for a pyenv python3 on PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const READY_TIMEOUT_MS = 15_000;

const live = new Set<ChildProcess>();

/** Why gst-rtsp-server cannot run here, or null if it can. */
export function gstUnavailable(): string | null {
  try {
    execFileSync(
      SYSTEM_PYTHON,
      [
        '-c',
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); " +
          'from gi.repository import GstRtspServer',
      ],
      { stdio: 'pipe', timeout: 10_000 },
    );
    return null;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim().split('\n').pop();
    return (
      `${SYSTEM_PYTHON} cannot load GstRtspServer (${stderr ?? (err instanceof Error ? err.message : String(err))}); ` +
      'apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad'
    );
  }
}

/** Writes each frame of a movie file as DIR/00000.jpg, 00001.jpg, …; returns the frame count. */
export function writeFrames(movieFile: string, dir: string): number {
  const split = splitMovie(readFileSync(movieFile), movieFile);
  if (!split.ok) throw new Error(`${movieFile}: ${split.detail}`);
  mkdirSync(dir, { recursive: true });
  for (const [i, f] of split.value.frames.entries())
    writeFileSync(join(dir, `${String(i).padStart(5, '0')}.jpg`), f.jpeg);
  return split.value.frames.length;
}

export interface GstServerOptions {
  /** bench/rtsp/gst-rtsp-server.py. */
  readonly script: string;
  readonly framesDir: string;
  readonly address: string;
  readonly port: number;
  /** Path clients ask for, e.g. "/bars.mjpeg". */
  readonly mount: string;
  readonly fps: number;
}

export class GstRtspServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(o: GstServerOptions): Promise<GstRtspServerProcess> {
    const child = spawn(
      SYSTEM_PYTHON,
      [
        o.script,
        '--frames',
        o.framesDir,
        '--address',
        o.address,
        '--port',
        String(o.port),
        '--mount',
        o.mount,
        '--fps',
        String(o.fps),
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    live.add(child);
    child.once('exit', () => live.delete(child));
    child.stdin?.on('error', () => {});
    const errors: string[] = [];
    child.stderr?.on('data', (d: Buffer) => errors.push(d.toString()));
    const ready = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), READY_TIMEOUT_MS);
      const finish = (v: string | null): void => {
        clearTimeout(timer);
        resolve(v);
      };
      if (child.stdout)
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (line.startsWith('ready ')) finish(line.slice(6).split(' ')[0] ?? '');
        });
      child.once('exit', () => finish(null));
    });
    if (ready === null) {
      child.kill('SIGKILL');
      throw new Error(
        `gst-rtsp-server did not start: ${errors.join('').trim().split('\n').slice(-3).join(' | ') || 'no output'}`,
      );
    }
    return new GstRtspServerProcess(child, ready);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin?.end();
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(kill);
  }
}

/** Kills every gst-rtsp-server still running (Ctrl-C, errors). */
export function stopGstServers(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}
