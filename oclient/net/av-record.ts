/**
 * The headless client's H.264 (+ AAC) playback: playAvHeadless, with every unit written to
 * --output (AvOutput: .mkv or .mp4 through ffmpeg -c copy). The output opens once the first POP
 * described the tracks; a write that fails ends playback (TEARDOWN) and is returned.
 */
import type { AvUnit } from '../core/av-receiver.ts';
import { AvOutput, outputTracks } from './av-output.ts';
import { type AvPlayOptions, type AvPlayResult, playAvHeadless } from './av-headless-player.ts';
import type { OutputError } from './output-files.ts';

export interface AvRecordOptions extends Omit<AvPlayOptions, 'onTracks' | 'onUnit' | 'signal'> {
  /** .mkv or .mp4 (checked before: checkAvOutput); none: play without writing. */
  readonly output?: string;
  /** Ends playback early from outside (the stats file cannot be written). */
  readonly abort?: AbortController;
  /** Each unit written (e.g. to time the first one). */
  readonly onWritten?: (unit: AvUnit) => void;
}

export interface AvRecorded {
  readonly result: AvPlayResult;
  /** The output's first failure (then playback ended early), or null. */
  readonly failure: OutputError | null;
  /** Units written to the file. */
  readonly unitsWritten: number;
}

export async function recordAv(o: AvRecordOptions): Promise<AvRecorded> {
  const abort = o.abort ?? new AbortController();
  const file: { out: AvOutput | null; failure: OutputError | null } = { out: null, failure: null };
  let result: AvPlayResult;
  try {
    result = await playAvHeadless({
      ...o,
      signal: abort.signal,
      onTracks: (tracks) => {
        if (o.output === undefined || file.out !== null) return;
        file.out = AvOutput.open(o.output, outputTracks(tracks));
        file.out.events.on('error', (err) => {
          file.failure ??= err;
          abort.abort();
        });
      },
      onUnit: (unit) => {
        file.out?.write(unit);
        o.onWritten?.(unit);
      },
    });
  } finally {
    // ffmpeg finishes the file (an MP4's index) once its input ends.
    const closed = await file.out?.close();
    if (closed) file.failure ??= closed;
  }
  return { result, failure: file.failure, unitsWritten: file.out?.counters.units ?? 0 };
}
