/**
 * Plays one movie without a screen: SETUP, PLAY, collect complete frames for a while, TEARDOWN.
 * Every frame is handed to onFrame as a rebuilt JPEG file. When the POP dies (its RTSP
 * connection drops) or goes silent, playback moves on to the next POP on the list and resumes.
 */
import { buildJpeg } from '../../common/media/jpeg.ts';
import { describeRefusals, RefusalRound, refusalReason, type Refusal } from '../core/refusal-round.ts';
import { PlayRefused, PlaySession, type SessionOptions, type SessionStats } from './play-session.ts';
import { RtspClientError } from './rtsp-client.ts';

export { PlayRefused } from './play-session.ts';

/** Every POP on the list answered SETUP for the movie with an error: asking again would not help. */
export class EveryPopRefused extends Error {
  override readonly name = 'EveryPopRefused';
  constructor(
    readonly movie: string,
    readonly refusals: readonly Refusal[],
  ) {
    super(describeRefusals(movie, refusals));
  }
}

/** No frame for this long from a POP that was streaming: treat it as dead and fail over. */
export const STALL_FAILOVER_MS = 1500;

/** A session's options (popAddress: the POP tried first), and what playing through failovers adds. */
export interface PlayOptions extends SessionOptions {
  /** Further POPs to fail over to, best first. */
  readonly fallbacks?: readonly string[];
  readonly durationMs: number;
  readonly onFrame?: (jpeg: Buffer) => void;
  /** Called about once a second with the live statistics. */
  readonly onProgress?: (stats: SessionStats & { pop: string; failovers: number }) => void;
  readonly onFailover?: (from: string, to: string, why: string) => void;
  /** Ends playback early (TEARDOWN, then the result so far), e.g. when the output cannot be written. */
  readonly signal?: AbortSignal;
}

/** A session's statistics, over the whole playback and every POP it played from. */
export interface PlayResult extends Omit<SessionStats, 'bytesReceived' | 'state' | 'fps'> {
  /** Average over the whole playback. */
  fps: number;
  failovers: number;
  /** The longest time without a frame after the first one, ms (a failover's interruption). */
  longestGapMs: number;
  /** The POP addresses played from, in order. */
  popsUsed: string[];
  nacksSent: number;
}

/** The counters that add up across sessions (each PlaySession counts from zero). */
const COUNTS = [
  'framesReceived',
  'framesLost',
  'framesRejected',
  'packetsReceived',
  'packetsLost',
  'bytesReceived',
] as const;
type Counts = Pick<SessionStats, (typeof COUNTS)[number]>;

/**
 * @throws EveryPopRefused when every POP on the list refused the movie in one round
 * @throws PlayRefused or RtspClientError when no POP could be played from for other reasons
 */
export async function playHeadless(opts: PlayOptions): Promise<PlayResult> {
  const pops = [opts.popAddress, ...(opts.fallbacks ?? []).filter((p) => p !== opts.popAddress)];
  // A round covers each distinct POP once (the fallback list may name one twice).
  const round = new RefusalRound(pops);
  const deadline = performance.now() + opts.durationMs;
  const startedAt = performance.now();
  let totals: Counts = {
    framesReceived: 0,
    framesLost: 0,
    framesRejected: 0,
    packetsReceived: 0,
    packetsLost: 0,
    bytesReceived: 0,
  };
  let nacks = 0;
  let first: number | null = null;
  let last = 0;
  let longestGapMs = 0;
  let startupMs: number | null = null;
  let jitterMs = 0;
  const used: string[] = [];
  let failovers = 0;
  let lastError: Error | null = null;

  const aborted = (): boolean => opts.signal?.aborted ?? false;
  for (let attempt = 0; performance.now() < deadline && attempt < pops.length * 3 && !aborted(); attempt++) {
    const pop = pops[attempt % pops.length] as string;
    const session = new PlaySession({
      popAddress: pop,
      rtspPort: opts.rtspPort,
      movie: opts.movie,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      ...(opts.transport ? { transport: opts.transport } : {}),
      ...(opts.jitterBufferMs !== undefined ? { jitterBufferMs: opts.jitterBufferMs } : {}),
      ...(opts.keys ? { keys: opts.keys } : {}),
      ...(opts.onUnknownKey ? { onUnknownKey: opts.onUnknownKey } : {}),
    });
    let lastFrameHere = 0;
    session.onFrame = (img) => {
      const now = performance.now();
      if (first !== null) longestGapMs = Math.max(longestGapMs, now - last);
      first ??= now;
      last = now;
      lastFrameHere = now;
      opts.onFrame?.(buildJpeg(img));
    };
    let why: string | null = null;
    let wake: () => void = () => {};
    session.onClose = (reason) => {
      why = reason;
      wake();
    };
    const progress = opts.onProgress
      ? setInterval(() => opts.onProgress?.({ ...plus(totals, session.stats()), pop, failovers }), 1000)
      : null;
    let watchdog: NodeJS.Timeout | null = null;
    let stop: NodeJS.Timeout | null = null;
    const onAbort = (): void => wake();
    let refusedSetup = false;
    try {
      try {
        await session.setup();
      } catch (err) {
        if (err instanceof PlayRefused) {
          refusedSetup = true;
          round.refused(pop, err.status, refusalReason(err.status, err.nakReason));
        }
        throw err;
      }
      round.cleared(pop);
      await session.play();
      used.push(pop);
      const playingSince = performance.now();
      await new Promise<void>((resolve) => {
        wake = resolve;
        opts.signal?.addEventListener('abort', onAbort);
        if (aborted()) resolve();
        stop = setTimeout(resolve, Math.max(0, deadline - performance.now()));
        watchdog = setInterval(() => {
          const since = lastFrameHere > 0 ? lastFrameHere : playingSince;
          if (performance.now() - since > STALL_FAILOVER_MS) {
            why = `no frame from ${pop} for ${STALL_FAILOVER_MS} ms`;
            resolve();
          }
        }, 100);
      });
      if (why === null) await session.teardown();
    } catch (err) {
      // A refused or unreachable POP is a reason to try the next; a full round of refusals ends it below.
      if (!(err instanceof RtspClientError || err instanceof PlayRefused)) throw err;
      if (!refusedSetup) round.cleared(pop);
      lastError = err;
      why = err.message;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      if (stop) clearTimeout(stop);
      if (watchdog) clearInterval(watchdog);
      if (progress) clearInterval(progress);
      const s = session.stats();
      totals = plus(totals, s);
      nacks += session.nacksSent;
      startupMs ??= s.startupMs;
      if (s.framesReceived > 0) jitterMs = s.jitterMs;
      session.close();
    }
    if (why === null || aborted()) break;
    if (round.complete) throw new EveryPopRefused(opts.movie, round.refusals());
    const next = pops[(attempt + 1) % pops.length] as string;
    if (performance.now() >= deadline || (pops.length === 1 && used.length === 0)) break;
    failovers++;
    opts.onFailover?.(pop, next, why);
  }
  if (used.length === 0 && lastError !== null) throw lastError;
  const spanS = first === null ? 0 : (last - first) / 1000;
  return {
    framesReceived: totals.framesReceived,
    framesLost: totals.framesLost,
    framesRejected: totals.framesRejected,
    verifying: opts.keys != null,
    packetsReceived: totals.packetsReceived,
    packetsLost: totals.packetsLost,
    startupMs,
    jitterMs,
    fps: spanS > 0 ? Math.round(((totals.framesReceived - 1) / spanS) * 10) / 10 : 0,
    bitrateKbps:
      spanS > 0 ? Math.round((totals.bytesReceived * 8) / 1000 / ((performance.now() - startedAt) / 1000)) : 0,
    failovers,
    longestGapMs: Math.round(longestGapMs),
    popsUsed: used,
    nacksSent: nacks,
  };
}

/** A session's statistics with the earlier sessions' counters added. */
function plus(totals: Counts, s: SessionStats): SessionStats {
  const out = { ...s };
  for (const k of COUNTS) out[k] = totals[k] + s[k];
  return out;
}
