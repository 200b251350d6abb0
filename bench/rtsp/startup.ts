/**
 * Startup time, SETUP to the first complete frame, as the project's player measures it
 * (PlaySession.stats().startupMs), through an emulated overlay path:
 *
 *   cold: the first viewer of a movie no node carries (the POP joins the tree hop by hop and
 *         the server starts the channel);
 *   warm: a second viewer of the same movie while the first plays (the POP just adds a branch).
 *
 * Repetitions rotate over the movies; before each cold start the bench waits until no node on
 * the path carries the movie any more (GET /status), so every cold start is really cold.
 */
import { PlaySession } from '../../oclient/net/play-session.ts';
import type { LoopbackRun } from '../../onode/emulators/loopback-run.ts';

export interface StartupOptions {
  readonly run: LoopbackRun;
  /** Every node of the path, to check that a movie is no longer carried anywhere. */
  readonly nodes: readonly string[];
  readonly popAddress: string;
  readonly rtspPort: number;
  readonly clientAddress: string;
  readonly movies: readonly string[];
  readonly repetitions: number;
}

/** One start, in ms from just before SETUP (the RTSP connection already open). */
export interface StartupSample {
  /** SETUP → first complete frame, as PlaySession measures it. */
  readonly startupMs: number;
  /** SETUP answered (for a cold start: the POP has joined the tree). */
  readonly setupMs: number;
  /** PLAY answered: from here on the POP forwards the stream to this viewer. */
  readonly playMs: number;
}

export interface StartupResult {
  /** One per repetition. */
  readonly cold: readonly StartupSample[];
  readonly warm: readonly StartupSample[];
  /**
   * How long the tree took to be pruned from the path after the last viewer left, ms (the wait before each cold start
   * but the first of each movie).
   */
  readonly pruneMs: readonly number[];
}

const FIRST_FRAME_TIMEOUT_MS = 5000;
const PRUNE_TIMEOUT_MS = 10_000;

export async function measureStartup(o: StartupOptions): Promise<StartupResult> {
  const cold: StartupSample[] = [];
  const warm: StartupSample[] = [];
  const pruneMs: number[] = [];
  for (let i = 0; i < o.repetitions; i++) {
    const movie = o.movies[i % o.movies.length];
    if (movie === undefined) throw new Error('no movies to start');
    const waited = await untilNotCarried(o, movie);
    if (i >= o.movies.length) pruneMs.push(waited);
    const first = await startViewer(o, movie);
    try {
      cold.push(first.sample);
      // A random phase against the 40 ms frame clock, so the warm starts sample all of it.
      await sleep(150 + Math.random() * 100);
      const second = await startViewer(o, movie);
      warm.push(second.sample);
      await second.session.teardown();
    } finally {
      await first.session.teardown();
    }
  }
  return { cold, warm, pruneMs };
}

async function startViewer(o: StartupOptions, movie: string): Promise<{ session: PlaySession; sample: StartupSample }> {
  const session = new PlaySession({
    popAddress: o.popAddress,
    rtspPort: o.rtspPort,
    movie,
    localAddress: o.clientAddress,
  });
  try {
    const frame = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no frame of ${movie} within ${FIRST_FRAME_TIMEOUT_MS} ms of SETUP`)),
        FIRST_FRAME_TIMEOUT_MS,
      );
      session.events.once('frame', () => {
        const at = performance.now();
        clearTimeout(timer);
        resolve(at);
      });
    });
    await session.setup();
    const setupEnd = performance.now();
    await session.play();
    const playEnd = performance.now();
    const frameAt = await frame;
    const startupMs = session.stats().startupMs;
    if (startupMs === null) throw new Error('a frame arrived but the session has no startup time');
    // The session times from its SETUP request (after connecting); the other times are shifted to that origin.
    const origin = frameAt - startupMs;
    return { session, sample: { startupMs, setupMs: setupEnd - origin, playMs: playEnd - origin } };
  } catch (err) {
    session.close();
    throw err;
  }
}

/** Waits until no node lists a stream of `movie`; returns how long that took, ms. */
async function untilNotCarried(o: StartupOptions, movie: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    const reports = await Promise.all(o.nodes.map((n) => o.run.statusOrNull(n)));
    const carried = reports.some((r) => r === null || (r.streams ?? []).some((s) => s.movie === movie));
    if (!carried) return performance.now() - started;
    if (performance.now() - started > PRUNE_TIMEOUT_MS)
      throw new Error(`${movie} still carried on the path ${PRUNE_TIMEOUT_MS} ms after its last viewer left`);
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
