/**
 * Plays an H.264 (+ AAC) movie without a screen: AvSession after AvSession, failing over between
 * POPs as the failover policy decides (as playHeadless does for MJPEG), each verified unit placed
 * by AvContinuity so that the output continues across sessions without a unit twice, and handed
 * to onUnit (the headless client writes it with AvOutput).
 */
import { SystemClock } from '../../common/core/clock.ts';
import type { AvTrackKind } from '../../common/media/av-rtp-plan.ts';
import { AvContinuity, type AvContinuityCounts } from '../core/av-continuity.ts';
import type { AvUnit } from '../core/av-receiver.ts';
import type { AvSdpTracks } from '../core/av-sdp-reader.ts';
import { type FailoverDecision, FailoverPolicy, MAX_POPS_USED } from '../core/failover-policy.ts';
import { AvSession, type AvSessionOptions, type AvTrackStats } from './av-session.ts';
import { decide, EveryPopRefused, type FailoverRecord, type PlayOptions } from './headless-player.ts';
import { livenessOf, PlayRefused } from './play-session.ts';
import { RtspClientError } from './rtsp-client.ts';

export interface AvPlayOptions extends Omit<PlayOptions, 'onFrame' | 'onProgress' | 'lastShown' | 'playback'> {
  /** The first session's tracks, once described (before any unit): to open the output. */
  readonly onTracks?: (tracks: AvSdpTracks) => void;
  /** Each unit to write: in decode order per track, never one twice, over every session. */
  readonly onUnit?: (unit: AvUnit) => void;
  /** About once a second, the figures so far. */
  readonly onProgress?: (live: AvPlayResult & { pop: string }) => void;
}

/** One track's figures over every session: the receivers', the signature checks' and the continuity's. */
export interface AvTrackResult extends AvTrackStats, AvContinuityCounts {
  /** Units handed to onUnit. */
  written: number;
}

export interface AvPlayResult {
  readonly tracks: { video?: AvTrackResult; audio?: AvTrackResult };
  /** As for MJPEG: video units written, lost and rejected (packets failing the check). */
  readonly framesReceived: number;
  readonly framesLost: number;
  readonly framesRejected: number;
  readonly verifying: boolean;
  readonly packetsReceived: number;
  readonly startupMs: number | null;
  /** Video units written per second over the playback. */
  readonly fps: number;
  readonly bitrateKbps: number;
  readonly failovers: number;
  readonly longestGapMs: number;
  readonly popsUsed: string[];
  readonly failoverLog: FailoverRecord[];
  readonly nacksSent: number;
}

const TRACKS: readonly AvTrackKind[] = ['video', 'audio'];
const SUMMED = [
  'packets',
  'units',
  'bytes',
  'lost',
  'duplicates',
  'late',
  'malformed',
  'beforeKeyframe',
  'sourceChanges',
  'rejected',
  'unverified',
] as const;

/**
 * @throws EveryPopRefused when every POP on the list refused the movie in one round
 * @throws PlayRefused or RtspClientError when no POP could be played from
 */
export async function playAvHeadless(opts: AvPlayOptions): Promise<AvPlayResult> {
  const clock = new SystemClock();
  let onStall: (decision: FailoverDecision) => void = () => {};
  const policy = new FailoverPolicy({
    pops: [opts.popAddress, ...(opts.fallbacks ?? [])],
    ...(opts.answered ? { roundPops: opts.answered } : {}),
    clock,
    onStall: (decision) => onStall(decision),
    ...(opts.stallTimeoutMs !== undefined ? { stallMs: opts.stallTimeoutMs } : {}),
  });
  let continuity: AvContinuity | null = null;
  const earlier: { video?: AvTrackStats; audio?: AvTrackStats } = {};
  const written = { video: 0, audio: 0 };
  const failoverLog: FailoverRecord[] = [];
  const deadline = clock.now() + opts.durationMs;
  const startedAt = clock.now();
  let bytes = 0;
  let nacks = 0;
  let startupMs: number | null = null;
  let verifying = false;
  let lastError: Error | null = null;
  let session: AvSession | null = null;

  const result = (): AvPlayResult => {
    const live = session?.stats();
    const tracks: { video?: AvTrackResult; audio?: AvTrackResult } = {};
    for (const t of TRACKS) {
      const sum = add(earlier[t], live?.tracks[t]);
      if (sum === undefined) continue;
      const c = continuity?.counts[t] ?? { duplicates: 0, stale: 0, newTimelines: 0 };
      const dup = sum.duplicates + c.duplicates;
      tracks[t] = { ...sum, duplicates: dup, stale: c.stale, newTimelines: c.newTimelines, written: written[t] };
    }
    const spanS = (policy.frameSpan === null ? 0 : policy.frameSpan.last - policy.frameSpan.first) / 1000;
    const allBytes = bytes + (live?.bytesReceived ?? 0);
    const elapsedS = (clock.now() - startedAt) / 1000;
    return {
      tracks,
      framesReceived: written.video,
      framesLost: tracks.video?.lost ?? 0,
      framesRejected: tracks.video?.rejected ?? 0,
      verifying,
      packetsReceived: (tracks.video?.packets ?? 0) + (tracks.audio?.packets ?? 0),
      startupMs: startupMs ?? live?.startupMs ?? null,
      fps: spanS > 0 ? Math.round(((written.video - 1) / spanS) * 10) / 10 : 0,
      bitrateKbps: elapsedS > 0 ? Math.round((allBytes * 8) / 1000 / elapsedS) : 0,
      failovers: policy.failovers,
      longestGapMs: Math.round(policy.longestGapMs),
      popsUsed: [...policy.popsUsed],
      failoverLog,
      nacksSent: nacks + (live?.nacksSent ?? 0),
    };
  };

  const aborted = (): boolean => opts.signal?.aborted ?? false;
  while (clock.now() < deadline && !aborted()) {
    const pop = policy.current;
    const sessionOptions: AvSessionOptions = {
      popAddress: pop,
      rtspPort: opts.rtspPort,
      movie: opts.movie,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      ...(opts.transport ? { transport: opts.transport } : {}),
      ...(opts.jitterBufferMs !== undefined ? { jitterBufferMs: opts.jitterBufferMs } : {}),
      ...(opts.keys ? { keys: opts.keys } : {}),
      ...(opts.onUnknownKey ? { onUnknownKey: opts.onUnknownKey } : {}),
      ...(opts.reportIntervalMs !== undefined ? { reportIntervalMs: opts.reportIntervalMs } : {}),
      failovers: () => policy.failovers,
      ...livenessOf(opts, pop),
    };
    const s = new AvSession(sessionOptions);
    session = s;
    continuity?.beginSession();
    s.events.on('unit', (unit, ssrc) => {
      const rx = s.receiver;
      if (unit.track === 'video' || rx?.tracks.video === undefined) policy.frame(); // the POP is alive
      const out = continuity?.admit(unit, ssrc);
      if (out == null) return;
      written[unit.track]++;
      const switched = failoverLog.at(-1);
      if (switched !== undefined) switched.firstFrameAt ??= Date.now();
      opts.onUnit?.(out);
    });
    let closedWhy: string | null = null;
    let stalled: FailoverDecision | null = null;
    let refusal: PlayRefused | null = null;
    let failure: Error | null = null;
    let wake: () => void = () => {};
    s.events.on('close', (reason) => {
      closedWhy ??= reason;
      wake();
    });
    onStall = (d) => {
      stalled = d;
      wake();
    };
    const progress = opts.onProgress ? setInterval(() => opts.onProgress?.({ ...result(), pop }), 1000) : null;
    let stop: NodeJS.Timeout | null = null;
    const onAbort = (): void => wake();
    try {
      try {
        await s.setup();
      } catch (err) {
        if (err instanceof PlayRefused) refusal = err;
        throw err;
      }
      const rx = s.receiver;
      if (continuity === null && rx !== null) {
        continuity = new AvContinuity({
          video: rx.tracks.video?.clockRate ?? 90_000,
          audio: rx.tracks.audio?.clockRate ?? 48_000,
        });
        opts.onTracks?.(rx.tracks);
      }
      await s.play();
      policy.playing();
      await new Promise<void>((resolve) => {
        wake = resolve;
        opts.signal?.addEventListener('abort', onAbort);
        if (aborted() || closedWhy !== null) resolve();
        stop = setTimeout(resolve, Math.max(0, deadline - clock.now()));
      });
      if (closedWhy === null && stalled === null) {
        policy.stopped();
        await s.teardown();
      }
    } catch (err) {
      if (!(err instanceof RtspClientError || err instanceof PlayRefused)) throw err;
      lastError = failure = err;
    } finally {
      onStall = () => {};
      opts.signal?.removeEventListener('abort', onAbort);
      if (stop) clearTimeout(stop);
      if (progress) clearInterval(progress);
      s.close();
      const st = s.stats();
      for (const t of TRACKS) earlier[t] = add(earlier[t], st.tracks[t]);
      bytes += st.bytesReceived;
      nacks += st.nacksSent;
      startupMs ??= st.startupMs;
      verifying ||= st.verifying;
      session = null;
    }
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
  if (policy.popsUsed.length === 0 && lastError !== null) throw lastError;
  return result();
}

/** Two sessions' figures of a track added up. */
function add(a: AvTrackStats | undefined, b: AvTrackStats | undefined): AvTrackStats | undefined {
  if (a === undefined || b === undefined) return a ?? (b === undefined ? undefined : { ...b });
  const out = { ...a };
  for (const k of SUMMED) out[k] = a[k] + b[k];
  return out;
}
