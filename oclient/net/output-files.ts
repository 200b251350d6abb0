/**
 * The headless client's files: every frame to --output, the statistics to --stats. Both paths
 * are checked before the client logs in, so a typo fails at once instead of after playback
 * started; a write that fails later (disk full) is reported as an OutputError, never thrown
 * out of a stream's event handler.
 */
import {
  closeSync,
  createWriteStream,
  lstatSync,
  openSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { TypedEmitter } from '../../common/core/typed-emitter.ts';

/**
 * Frames the output stream may hold unwritten before the client gives up: a disk slower than
 * the stream would otherwise grow the process without bound.
 */
export const MAX_OUTPUT_BACKLOG_BYTES = 32 * 1024 * 1024;

/** A file the client was asked to write (flag and path) cannot be written, and why. */
export class OutputError extends Error {
  override readonly name = 'OutputError';
  constructor(
    readonly flag: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`cannot write ${flag} ${path}: ${reason}`);
  }
}

/** A file system error in words, for the file at `path`. */
export function describeWriteError(err: unknown, path: string): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const dir = dirname(resolve(path));
  switch (code) {
    case 'ENOENT':
      return `the directory ${dir} does not exist`;
    case 'ENOTDIR':
      return `${dir} is not a directory`;
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'the disk quota is exceeded';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Checks that `path` can be created or opened for writing, leaving the file system as it was: a
 * file the check creates is removed again, an existing one is opened for appending (not truncated).
 */
function probe(flag: string, path: string, shownPath = path): OutputError | null {
  let existed = true;
  try {
    if (lstatSync(path).isDirectory()) return new OutputError(flag, shownPath, 'it is a directory');
  } catch {
    existed = false;
  }
  try {
    closeSync(openSync(path, 'a'));
    if (!existed) unlinkSync(path);
    return null;
  } catch (err) {
    return new OutputError(flag, shownPath, describeWriteError(err, path));
  }
}

/** --output: the file itself is written. */
export function checkOutputFile(path: string): OutputError | null {
  return probe('--output', path);
}

/** --stats: written to a temporary name beside it, then renamed over it (see writeStatsFile). */
export function checkStatsFile(path: string): OutputError | null {
  try {
    if (lstatSync(path).isDirectory()) return new OutputError('--stats', path, 'it is a directory');
  } catch {
    // Absent is fine: the rename creates it.
  }
  return writtenInPlace(path) ? probe('--stats', path) : probe('--stats', statsTemp(path), path);
}

function statsTemp(path: string): string {
  return `${path}.tmp`;
}

/**
 * Only a regular file (or a new one) is replaced by renaming: renaming over /dev/stdout, a pipe
 * or a symbolic link would replace it, not write to it.
 */
function writtenInPlace(path: string): boolean {
  try {
    return !lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Writes the statistics to a temporary name and renames it, so a reader never sees half a file.
 * @throws OutputError
 */
export function writeStatsFile(path: string, stats: object): void {
  const text = `${JSON.stringify(stats, null, 2)}\n`;
  const tmp = writtenInPlace(path) ? null : statsTemp(path);
  try {
    if (tmp === null) {
      writeFileSync(path, text);
    } else {
      writeFileSync(tmp, text);
      renameSync(tmp, path);
    }
  } catch (err) {
    if (tmp !== null) rmSync(tmp, { force: true });
    throw new OutputError('--stats', path, describeWriteError(err, path));
  }
}

/** The --output file: concatenated JPEG frames. The first failure is kept and reported once. */
export interface FrameFileEvents {
  /** Once, on the first failure (the file is closed by then). */
  error: [err: OutputError];
}

export class FrameFile {
  readonly events = new TypedEmitter<FrameFileEvents>();
  private readonly stream: WriteStream;
  private failure: OutputError | null = null;
  private closing: Promise<OutputError | null> | null = null;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (err) => this.fail(describeWriteError(err, path)));
  }

  get error(): OutputError | null {
    return this.failure;
  }

  write(jpeg: Buffer): void {
    if (this.failure !== null) return;
    if (this.stream.writableLength > MAX_OUTPUT_BACKLOG_BYTES) {
      const mib = MAX_OUTPUT_BACKLOG_BYTES / 1024 / 1024;
      this.fail(`the disk does not keep up: more than ${mib} MiB of frames are waiting to be written`);
      return;
    }
    this.stream.write(jpeg);
  }

  /** Flushes and closes; resolves with the first failure, if any. Later calls share the first close. */
  close(): Promise<OutputError | null> {
    this.closing ??= new Promise((done) => {
      if (this.stream.destroyed) {
        done(this.failure);
        return;
      }
      // The callback gets the error when the final flush fails (before or instead of 'error').
      this.stream.end((err?: Error | null) => {
        if (err) this.fail(describeWriteError(err, this.path));
        done(this.failure);
      });
    });
    return this.closing;
  }

  private fail(reason: string): void {
    if (this.failure !== null) return;
    this.failure = new OutputError('--output', this.path, reason);
    this.stream.destroy();
    this.events.emit('error', this.failure);
  }
}
