/**
 * What a viewer saw around a failure: per-frame arrival times and frame numbers, and what they
 * say about the failure (time to the next frame, interruption, frames lost, back on schedule).
 * Pure functions over an arrival log, so the same analysis serves real processes and the simulator.
 */
import { createHash } from 'node:crypto';
import { buildJpeg, type JpegImage } from '../../common/media/jpeg.ts';
import { readMovieFile } from '../../common/media/movie-file.ts';

/** One complete frame at the client: when (ms, any monotonic clock) and which frame of the movie. */
export interface Arrival {
  readonly at: number;
  /** 0-based frame number in the source movie; null when the frame matches none. */
  readonly index: number | null;
}

/** Frames of a movie by content, so a received frame tells which source frame it is. */
export class FrameIndex {
  private readonly byHash = new Map<string, number>();

  constructor(
    readonly frames: number,
    hashes: readonly string[],
  ) {
    for (const [i, h] of hashes.entries()) this.byHash.set(h, i);
  }

  static ofMovieFile(path: string): FrameIndex {
    const movie = readMovieFile(path);
    const index = new FrameIndex(
      movie.frames.length,
      movie.frames.map((f) => hashImage(f.image)),
    );
    if (index.byHash.size !== movie.frames.length)
      throw new Error(`${path}: frames are not all different, so they cannot be told apart`);
    return index;
  }

  of(img: JpegImage): number | null {
    return this.ofJpeg(buildJpeg(img));
  }

  /** A frame as the client writes it (buildJpeg of what it assembled). */
  ofJpeg(jpeg: Buffer): number | null {
    return this.byHash.get(createHash('sha1').update(jpeg).digest('hex')) ?? null;
  }
}

/** The RTP/JPEG receiver rebuilds the same JpegImage the server parsed: hash its canonical JPEG. */
function hashImage(img: JpegImage): string {
  return createHash('sha1').update(buildJpeg(img)).digest('hex');
}

export interface FailureOutcome {
  /**
   * Failure → the first frame the viewer got after the failure first held one up: the first frame
   * scheduled within HOLD_UP_WINDOW_MS after the failure that came late (by more than two frame periods) or never marks
   * the moment; the next arrival after it ends the wait. Without such a frame, the first frame
   * scheduled after the failure. For a new channel, the frame ending the longest interruption.
   */
  readonly nextFrameMs: number | null;
  /** The longest time between two frames after the failure (ms); nominal is one frame period. */
  readonly interruptionMs: number;
  /**
   * Failure → the first frame after the held-up one that arrives within two frame periods of its
   * schedule (fitted on the frames before the failure); for a new channel, nextFrameMs.
   */
  readonly backOnScheduleMs: number | null;
  /** Frame numbers never shown, counted within one channel (the whole session). */
  readonly framesLost: number;
  /** Frames shown again (the same frame twice in a row, or a step back in the movie). */
  readonly framesRepeated: number;
  /** True when frame numbers restart across the interruption: the stream came from another channel (server). */
  readonly newChannel: boolean;
  /** New channel only: frame periods in the interruption minus one (the frames a viewer went without). */
  readonly framesSkipped: number;
  /** Most a frame scheduled after the failure came late (ms; same channel only). */
  readonly maxLateMs: number | null;
  readonly unknownFrames: number;
  readonly framesReceived: number;
}

/** Frames scheduled this long after the failure can be the first it held up. */
export const HOLD_UP_WINDOW_MS = 1000;

/**
 * Analyses an arrival log around a failure at `failAt` (same clock), for a movie of `frames`
 * frames at `periodMs` per frame that loops.
 */
export function analyseFailure(
  arrivals: readonly Arrival[],
  failAt: number,
  frames: number,
  periodMs: number,
): FailureOutcome {
  const known = arrivals.filter((a): a is Arrival & { index: number } => a.index !== null);
  // The interruption: the longest gap ending after the failure.
  let gapEnd = -1;
  let gap = 0;
  for (let i = 1; i < known.length; i++) {
    const a = known[i]!;
    if (a.at <= failAt) continue;
    const g = a.at - known[i - 1]!.at;
    if (g > gap) {
      gap = g;
      gapEnd = i;
    }
  }
  const span = (from: number, to: number): number =>
    (((known[to]!.index - known[from]!.index) % frames) + frames) % frames;
  // Another channel (server): frame numbers jump further than the time between the two frames allows.
  let switchAt = -1;
  for (let i = 1; i < known.length && switchAt < 0; i++) {
    const a = known[i]!;
    if (a.at > failAt && span(i - 1, i) - 1 > Math.ceil((a.at - known[i - 1]!.at) / periodMs) + 2) switchAt = i;
  }
  const newChannel = switchAt > 0;
  let framesLost = 0;
  let framesRepeated = 0;
  for (let i = 1; i < known.length; i++) {
    const d = span(i - 1, i);
    // A new channel that starts behind where the old one was shows those frames again.
    if (i === switchAt && d > frames / 2) framesRepeated += frames - d + 1;
    if (i === switchAt) continue;
    // The same frame again, or a step back (more than half a loop "forward"): frames shown twice.
    if (d === 0 || d > frames / 2) framesRepeated += d === 0 ? 1 : frames - d + 1;
    else framesLost += d - 1;
  }
  const switchGap = newChannel ? known[switchAt]!.at - known[switchAt - 1]!.at : 0;
  const base = {
    interruptionMs: gap,
    framesLost,
    framesRepeated,
    newChannel,
    framesSkipped: newChannel ? Math.max(0, Math.round(switchGap / periodMs) - 1) : 0,
    unknownFrames: arrivals.length - known.length,
    framesReceived: arrivals.length,
  };
  if (newChannel) {
    const next = known[switchAt]!.at - failAt;
    return { ...base, nextFrameMs: next, backOnScheduleMs: next, maxLateMs: null };
  }
  const afterGap = gapEnd > 0 ? known[gapEnd]!.at - failAt : null;
  if (known.length === 0) return { ...base, nextFrameMs: afterGap, backOnScheduleMs: afterGap, maxLateMs: null };

  // One channel: unwrapped frame numbers, and the schedule's offset fitted (median) on frames before the failure.
  const unwrapped: number[] = [0];
  for (let i = 1; i < known.length; i++) unwrapped.push(unwrapped[i - 1]! + span(i - 1, i));
  const before = known
    .flatMap((a, i) => (a.at < failAt ? [a.at - unwrapped[i]! * periodMs] : []))
    .sort((x, y) => x - y);
  const offset = before[Math.floor(before.length / 2)];
  if (offset === undefined) return { ...base, nextFrameMs: afterGap, backOnScheduleMs: afterGap, maxLateMs: null };
  const arrivalOf = new Map<number, number>();
  known.forEach((a, i) => {
    if (!arrivalOf.has(unwrapped[i]!)) arrivalOf.set(unwrapped[i]!, a.at);
  });
  const schedule = (u: number): number => offset + u * periodMs;
  const firstAfter = Math.ceil((failAt - offset) / periodMs);
  const last = unwrapped[unwrapped.length - 1]!;
  let heldAt: number | null = null;
  let heldU = firstAfter;
  let maxLateMs = 0;
  for (let u = firstAfter; u <= last; u++) {
    const at = arrivalOf.get(u);
    if (at !== undefined) maxLateMs = Math.max(maxLateMs, at - schedule(u));
    // A failure holds frames up at once; a late frame long after it is something else (the machine).
    if (
      heldAt === null &&
      schedule(u) < failAt + HOLD_UP_WINDOW_MS &&
      (at === undefined || at - schedule(u) > 2 * periodMs)
    ) {
      heldAt = schedule(u);
      heldU = u;
    }
  }
  const firstArrivalFrom = (t: number): number | null => known.find((a) => a.at > t)?.at ?? null;
  let nextFrameMs: number | null;
  let backOnScheduleMs: number | null;
  if (heldAt === null) {
    const at = arrivalOf.get(firstAfter) ?? firstArrivalFrom(failAt);
    nextFrameMs = backOnScheduleMs = at === null ? null : at - failAt;
  } else {
    const next = firstArrivalFrom(heldAt);
    nextFrameMs = next === null ? null : next - failAt;
    backOnScheduleMs = null;
    for (let u = heldU; u <= last; u++) {
      const at = arrivalOf.get(u);
      if (at !== undefined && at - schedule(u) <= 2 * periodMs) {
        backOnScheduleMs = at - failAt;
        break;
      }
    }
  }
  return { ...base, nextFrameMs, backOnScheduleMs, maxLateMs };
}
