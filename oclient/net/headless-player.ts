/**
 * Plays one movie without a screen: SETUP, PLAY, collect complete frames for a while, TEARDOWN.
 * Every frame is handed to onFrame as a rebuilt JPEG file. When the POP dies (its RTSP
 * connection drops) or goes silent, playback moves on to the next POP on the list and resumes,
 * as the failover policy (oclient/core/failover-policy.ts) decides.
 */
import { buildJpeg } from '../../common/media/jpeg.ts';
import { SystemClock } from '../../common/core/clock.ts';
import { describeRefusals, refusalReason, type Refusal } from '../core/refusal-round.ts';
import { type FailoverDecision, FailoverPolicy, MAX_POPS_USED } from '../core/failover-policy.ts';
import { FrameTimeline, type TimelineCounts } from '../core/frame-timeline.ts';
import { livenessOf, PlayRefused, PlaySession, type SessionOptions, type SessionStats } from './play-session.ts';
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

/** A session's options (popAddress: the POP tried first), and what playing through failovers adds. */
export interface PlayOptions extends SessionOptions {
  /** Further POPs to fail over to, best first. */
  readonly fallbacks?: readonly string[];
  /** The POPs that answered the RTT probe: their refusals alone make a refusal round (default all). */
  readonly answered?: readonly string[];
  readonly durationMs: number;
  /** The movie's frame rate (from the catalogue), for counting skipped frames; unknown: learnt. */
  readonly fps?: number;
  /** No frame for this long from the POP playing: fail over; default STALL_FAILOVER_MS. */
  readonly stallTimeoutMs?: number;
  /** The POPs' overlay port: pinged while SETUP and PLAY wait, so a frozen POP is left after stallTimeoutMs. */
  readonly overlayPort?: number;
  /** Each frame written: never one twice nor out of order, over every session (frame-timeline.ts). */
  readonly onFrame?: (jpeg: Buffer) => void;
  /** Called about once a second with the live statistics. */
  readonly onProgress?: (stats: SessionStats & TimelineCounts & { pop: string; failovers: number }) => void;
  readonly onFailover?: (from: string, to: string, why: string) => void;
  /** Ends playback early (TEARDOWN, then the result so far), e.g. when the output cannot be written. */
  readonly signal?: AbortSignal;
}

/** One switch to another POP, in wall-clock ms (Date.now()), so runs can be timed from outside. */
export interface FailoverRecord {
  readonly from: string;
  readonly to: string;
  readonly why: string;
  readonly at: number;
  /** The first frame written after the switch; null when none came. */
  firstFrameAt: number | null;
}

/**
 * A session's statistics, over the whole playback and every POP it played from. framesReceived
 * counts the frames written (onFrame): a frame received again is counted in framesDuplicate only.
 */
export interface PlayResult extends Omit<SessionStats, 'bytesReceived' | 'state' | 'fps'>, TimelineCounts {
  /** Average over the whole playback. */
  fps: number;
  failovers: number;
  /** The longest time without a frame after the first one, ms (a failover's interruption). */
  longestGapMs: number;
  /** The POP addresses played from, in order. */
  popsUsed: string[];
  /** Every switch (at most MAX_POPS_USED), in order. */
  failoverLog: FailoverRecord[];
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
  const clock = new SystemClock();
  // Woken by the stall watch; each session's wait sets it.
  let onStall: (decision: FailoverDecision) => void = () => {};
  const policy = new FailoverPolicy({
    pops: [opts.popAddress, ...(opts.fallbacks ?? [])],
    ...(opts.answered ? { roundPops: opts.answered } : {}),
    clock,
    onStall: (decision) => onStall(decision),
    ...(opts.stallTimeoutMs !== undefined ? { stallMs: opts.stallTimeoutMs } : {}),
  });
  const timeline = new FrameTimeline(opts.fps !== undefined ? { fps: opts.fps } : {});
  const failoverLog: FailoverRecord[] = [];
  const deadline = clock.now() + opts.durationMs;
  const startedAt = clock.now();
  let totals: Counts = {
    framesReceived: 0,
    framesLost: 0,
    framesRejected: 0,
    packetsReceived: 0,
    packetsLost: 0,
    bytesReceived: 0,
  };
  let nacks = 0;
  let startupMs: number | null = null;
  let jitterMs = 0;
  let lastError: Error | null = null;

  const aborted = (): boolean => opts.signal?.aborted ?? false;
  while (clock.now() < deadline && !aborted()) {
    const pop = policy.current;
    const session = new PlaySession({
      popAddress: pop,
      rtspPort: opts.rtspPort,
      movie: opts.movie,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      ...(opts.transport ? { transport: opts.transport } : {}),
      ...(opts.jitterBufferMs !== undefined ? { jitterBufferMs: opts.jitterBufferMs } : {}),
      ...(opts.keys ? { keys: opts.keys } : {}),
      ...(opts.onUnknownKey ? { onUnknownKey: opts.onUnknownKey } : {}),
      ...(opts.reportIntervalMs !== undefined ? { reportIntervalMs: opts.reportIntervalMs } : {}),
      playback: () => ({ failovers: policy.failovers, earlier: totals, timeline: timeline.counts }),
      lastShown: () => timeline.lastShown,
      ...livenessOf(opts, pop),
    });
    session.events.on('frame', (img, place) => {
      policy.frame(); // the POP is alive, whether or not the frame is new
      if (timeline.offer(place.ssrc, place.timestamp) === 'drop') return;
      const switched = failoverLog.at(-1);
      if (switched !== undefined) switched.firstFrameAt ??= Date.now();
      opts.onFrame?.(buildJpeg(img));
    });
    // What ended the session, told to the policy once it is over (one failure per session).
    let closedWhy: string | null = null;
    let stalled: FailoverDecision | null = null;
    let refusal: PlayRefused | null = null;
    let failure: Error | null = null;
    let wake: () => void = () => {};
    session.events.on('close', (reason) => {
      closedWhy ??= reason;
      wake();
    });
    onStall = (d) => {
      stalled = d;
      wake();
    };
    const progress = opts.onProgress
      ? setInterval(
          () =>
            opts.onProgress?.({
              ...written(plus(totals, session.stats()), timeline.counts),
              ...timeline.counts,
              pop,
              failovers: policy.failovers,
            }),
          1000,
        )
      : null;
    let stop: NodeJS.Timeout | null = null;
    const onAbort = (): void => wake();
    try {
      try {
        await session.setup();
      } catch (err) {
        if (err instanceof PlayRefused) refusal = err;
        throw err;
      }
      await session.play();
      policy.playing();
      await new Promise<void>((resolve) => {
        wake = resolve;
        opts.signal?.addEventListener('abort', onAbort);
        if (aborted() || closedWhy !== null) resolve();
        stop = setTimeout(resolve, Math.max(0, deadline - clock.now()));
      });
      if (closedWhy === null && stalled === null) {
        policy.stopped();
        await session.teardown();
      }
    } catch (err) {
      // A refused or unreachable POP is a reason to try the next; the policy says when to stop.
      if (!(err instanceof RtspClientError || err instanceof PlayRefused)) throw err;
      lastError = failure = err;
    } finally {
      onStall = () => {};
      opts.signal?.removeEventListener('abort', onAbort);
      if (stop) clearTimeout(stop);
      if (progress) clearInterval(progress);
      const s = session.stats();
      totals = plus(totals, s);
      nacks += session.nacksSent;
      startupMs ??= s.startupMs;
      if (s.framesReceived > 0) jitterMs = s.jitterMs;
      session.close();
    }
    // Playback is over: a failure now is no failover (a refusal may still complete the round).
    if (aborted() || (clock.now() >= deadline && refusal === null)) break;
    const decision = decide(policy, { stalled, refusal, failure, closedWhy });
    if (decision === null) break;
    if (decision.action === 'give-up') {
      if (decision.reason.kind === 'every-pop-refused') throw new EveryPopRefused(opts.movie, decision.reason.refusals);
      break;
    }
    if (clock.now() >= deadline) break;
    const { from, to, why } = decision;
    if (failoverLog.length < MAX_POPS_USED) failoverLog.push({ from, to, why, at: Date.now(), firstFrameAt: null });
    opts.onFailover?.(from, to, why);
  }
  policy.stopped();
  const used = policy.popsUsed;
  if (used.length === 0 && lastError !== null) throw lastError;
  // As written: a frame received again (a POP's fast start after a failover) is in framesDuplicate only.
  const framesWritten = totals.framesReceived - timeline.counts.framesDuplicate;
  const span = policy.frameSpan;
  const spanS = span === null ? 0 : (span.last - span.first) / 1000;
  return {
    framesReceived: framesWritten,
    framesLost: totals.framesLost,
    framesRejected: totals.framesRejected,
    verifying: opts.keys != null,
    packetsReceived: totals.packetsReceived,
    packetsLost: totals.packetsLost,
    startupMs,
    jitterMs,
    fps: spanS > 0 ? Math.round(((framesWritten - 1) / spanS) * 10) / 10 : 0,
    bitrateKbps: spanS > 0 ? Math.round((totals.bytesReceived * 8) / 1000 / ((clock.now() - startedAt) / 1000)) : 0,
    failovers: policy.failovers,
    longestGapMs: Math.round(policy.longestGapMs),
    popsUsed: [...used],
    ...timeline.counts,
    failoverLog,
    nacksSent: nacks,
  };
}

/** Tells the policy what ended a session (null: nothing failed, playback is over) and returns its decision. */
export function decide(
  policy: FailoverPolicy,
  ended: {
    readonly stalled: FailoverDecision | null;
    readonly refusal: PlayRefused | null;
    readonly failure: Error | null;
    readonly closedWhy: string | null;
  },
): FailoverDecision | null {
  // The stall watch has decided already; a request's error says more than the closed connection behind it.
  if (ended.stalled !== null) return ended.stalled;
  const r = ended.refusal;
  if (r !== null) return policy.refused(r.status, refusalReason(r.status, r.nakReason), r.message);
  const why = ended.failure?.message ?? ended.closedWhy;
  return why === null ? null : policy.failed(why);
}

/** Live statistics with framesReceived as written (duplicates dropped by the timeline left out). */
function written(s: SessionStats, t: TimelineCounts): SessionStats {
  return { ...s, framesReceived: s.framesReceived - t.framesDuplicate };
}

/** A session's statistics with the earlier sessions' counters added. */
function plus(totals: Counts, s: SessionStats): SessionStats {
  const out = { ...s };
  for (const k of COUNTS) out[k] = totals[k] + s[k];
  return out;
}
