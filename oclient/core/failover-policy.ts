/**
 * When the client leaves its POP, and for which one: the single policy behind both the headless
 * player and the terminal player. The players run the sessions (sockets, RTSP) and tell the policy
 * what happened; it answers with what to do next, and watches for a POP that stops sending.
 *
 * - The next POP is the best by RTT (the order given) out of its cooldown (pop-penalties.ts: a
 *   POP that failed waits a cooldown that grows with its failures in a row), else the one whose
 *   cooldown ends first, so a POP that failed earlier is asked again once the others have had
 *   their turn (it may have come back), and two flaky POPs do not ping-pong.
 * - The client prefers staying on a POP that plays: when the POP in use, which sent frames in
 *   this session, goes quiet while every other POP is in its cooldown, the policy waits for the
 *   first cooldown to end (at most MAX_STALL_WAIT_MS of silence) before it switches.
 * - Once every POP's latest answer is a refusal of the movie (one round), asking again would only
 *   repeat the answers: give up with each POP's reason. A round covers the POPs known to be up
 *   (`roundPops`: those that answered the RTT probe), so one POP that is down cannot hide that
 *   every POP that answers refuses the movie.
 * - Any other failure (unreachable, a dropped connection, no frame for STALL_FAILOVER_MS while
 *   playing) moves on to the next POP. Give up once every POP has failed in a row before any
 *   played (one round: a wrong address or port fails the same way again), or, once one has
 *   played, after FAILOVER_ROUNDS rounds of failures with no frame in between, so a client whose
 *   every POP fails stops instead of cycling for ever.
 *
 * No I/O: time comes from the injected Clock, and the stall watch is a timer on it.
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import { PopPenalties, RECOVERED_AFTER_MS } from './pop-penalties.ts';
import { RefusalRound, type Refusal } from './refusal-round.ts';

/** No frame for this long from a POP that was playing: treat it as dead and fail over. */
export const STALL_FAILOVER_MS = 1000;
/** A stall watch firing this late was held up by this process, not by the POP. */
export const STALLED_WATCH_MS = 250;
/** After such a late watch, how soon to look again (sockets have been read by then). */
export const STALL_RECHECK_MS = 100;
/** The longest a quiet POP is waited for while every other POP is in its cooldown. */
export const MAX_STALL_WAIT_MS = 10_000;
/** Rounds over every POP, each failing without a frame, before giving up (once a POP has played). */
export const FAILOVER_ROUNDS = 3;
/** At most this many entries in popsUsed; further POPs still count in failovers. */
export const MAX_POPS_USED = 1000;

export type GiveUp =
  /** Every POP's latest answer refused the movie: the refusals, in the POPs' order. */
  | { readonly kind: 'every-pop-refused'; readonly refusals: readonly Refusal[] }
  /** Every POP failed (each round of them, see above) without a frame; the last failure, at `pop`. */
  | { readonly kind: 'no-pop-plays'; readonly pop: string; readonly why: string };

export type FailoverDecision =
  | { readonly action: 'switch'; readonly from: string; readonly to: string; readonly why: string }
  | { readonly action: 'give-up'; readonly reason: GiveUp };

export interface FailoverOptions {
  /** Client-facing POP addresses, best first; playback starts at the first. Duplicates are dropped. */
  readonly pops: readonly string[];
  readonly clock: Clock;
  /** Called when the POP in use sent no frame for `stallMs` while playing, with what to do now. */
  readonly onStall?: (decision: FailoverDecision) => void;
  /** Default STALL_FAILOVER_MS. */
  readonly stallMs?: number;
  /** Rounds of failures before giving up once a POP has played; default FAILOVER_ROUNDS. */
  readonly rounds?: number;
  /** The POPs whose refusals make a refusal round (those known to be up); default every POP. */
  readonly roundPops?: readonly string[];
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

export class FailoverPolicy {
  private readonly pops: readonly string[];
  private readonly round: RefusalRound;
  private readonly penalties: PopPenalties;
  private readonly stallMs: number;
  private readonly rounds: number;
  private index = 0;
  /** Failures since the last frame (from any POP). */
  private failuresInARow = 0;
  /** Whether the current attempt (a session at `current`) is already in popsUsed. */
  private counted = false;
  /** Whether a POP has played since the start (or the user's last restart). */
  private played = false;
  private watch: Timer | null = null;
  /** When the current POP last started to play (PLAY answered or resumed), and its frames since. */
  private playingSince = 0;
  private sessionFrames = 0;
  /** When the stall watch started counting: PLAY answered or resumed, or the last frame since. */
  private quietSince = 0;
  /** Stall watches that fired so late that this process, not the POP, had stalled. */
  stalledWatches = 0;
  private firstFrame: number | null = null;
  private lastFrame = 0;
  private gap = 0;
  private switches = 0;
  private readonly used: string[] = [];

  constructor(private readonly opts: FailoverOptions) {
    this.pops = [...new Set(opts.pops)];
    if (this.pops.length === 0) throw new PolicyError('a failover policy needs at least one POP');
    const up = (opts.roundPops ?? []).filter((p) => this.pops.includes(p));
    this.round = new RefusalRound(up.length > 0 ? up : this.pops);
    this.penalties = new PopPenalties(this.pops);
    this.stallMs = opts.stallMs ?? STALL_FAILOVER_MS;
    this.rounds = opts.rounds ?? FAILOVER_ROUNDS;
  }

  /** The POP to play from now. */
  get current(): string {
    return this.pops[this.index] as string;
  }

  /** Moves to another POP so far (each switch decision). */
  get failovers(): number {
    return this.switches;
  }

  /** The POPs played from (PLAY answered), in order; one entry per session. */
  get popsUsed(): readonly string[] {
    return this.used;
  }

  /** The longest time without a frame after the first one, ms (a failover's interruption). */
  get longestGapMs(): number {
    return this.gap;
  }

  /** Clock readings of the first and the latest frame; null before the first. */
  get frameSpan(): { readonly first: number; readonly last: number } | null {
    return this.firstFrame === null ? null : { first: this.firstFrame, last: this.lastFrame };
  }

  /** PLAY was answered at the current POP (or playback resumed after a pause): watch for a stall. */
  playing(): void {
    this.played = true;
    if (!this.counted) {
      this.counted = true;
      if (this.used.length < MAX_POPS_USED) this.used.push(this.current);
    }
    this.round.cleared(this.current);
    this.quietSince = this.playingSince = this.opts.clock.now();
    this.arm(this.stallMs);
  }

  /** A complete frame from the current POP. */
  frame(): void {
    const now = this.opts.clock.now();
    if (this.firstFrame !== null) this.gap = Math.max(this.gap, now - this.lastFrame);
    this.firstFrame ??= now;
    this.lastFrame = now;
    this.quietSince = now;
    this.failuresInARow = 0;
    this.sessionFrames++;
    if (now - this.playingSince >= RECOVERED_AFTER_MS) this.penalties.recovered(this.current);
  }

  /** Paused, torn down or over: no frames are expected, so the stall watch stops. */
  idle(): void {
    this.watch?.cancel();
    this.watch = null;
  }

  /** The session ended without a failure (TEARDOWN, duration over): the next session is a new one. */
  stopped(): void {
    this.idle();
    this.counted = false;
    this.sessionFrames = 0;
  }

  /** The user asks again (or for another movie): a new refusal round and failure count, same POP. */
  restart(): void {
    this.stopped();
    this.round.reset();
    this.failuresInARow = 0;
    this.played = false;
  }

  /** The current POP answered SETUP with an error status: it refuses the movie. */
  refused(status: number, reason: string, why: string): FailoverDecision {
    this.round.refused(this.current, status, reason);
    if (this.round.complete) return this.giveUp({ kind: 'every-pop-refused', refusals: this.round.refusals() });
    return this.failure(why);
  }

  /** The current POP failed for another reason (unreachable, connection dropped, PLAY refused). */
  failed(why: string): FailoverDecision {
    this.round.cleared(this.current);
    return this.failure(why);
  }

  private failure(why: string): FailoverDecision {
    this.failuresInARow++;
    const rounds = this.played ? this.rounds : 1;
    if (this.failuresInARow >= rounds * this.pops.length) {
      return this.giveUp({ kind: 'no-pop-plays', pop: this.current, why });
    }
    const from = this.current;
    const now = this.opts.clock.now();
    this.penalties.failed(from, now);
    this.stopped();
    this.index = this.pops.indexOf(this.penalties.next(from, now));
    this.switches++;
    return { action: 'switch', from, to: this.current, why };
  }

  private giveUp(reason: GiveUp): FailoverDecision {
    this.stopped();
    return { action: 'give-up', reason };
  }

  /** Failures in a row of `pop` that its cooldown counts (pop-penalties.ts). */
  failuresOf(pop: string): number {
    return this.penalties.failures(pop);
  }

  /**
   * One timer at a time: when it fires early (a frame came since), it waits the rest; when the quiet
   * POP played in this session and every other one is in its cooldown, it waits for the first to end.
   */
  private arm(ms: number): void {
    this.watch?.cancel();
    const due = this.opts.clock.now() + ms;
    this.watch = this.opts.clock.setTimer(ms, () => {
      this.watch = null;
      const now = this.opts.clock.now();
      // Fired far past its time: this process was stalled (a busy host), and the frames the POP
      // sent meanwhile are still unread in the socket (timers run first). Look again after reading.
      if (now - due > STALLED_WATCH_MS) {
        this.stalledWatches++;
        this.quietSince = Math.max(this.quietSince, now - this.stallMs + STALL_RECHECK_MS);
        this.arm(STALL_RECHECK_MS);
        return;
      }
      const quiet = now - this.quietSince;
      if (quiet < this.stallMs) {
        this.arm(this.stallMs - quiet);
        return;
      }
      if (this.sessionFrames > 0 && this.penalties.othersPenalised(this.current, now)) {
        const until = Math.min(this.penalties.soonestOtherEnd(this.current), this.quietSince + MAX_STALL_WAIT_MS);
        if (until > now) {
          this.arm(until - now);
          return;
        }
      }
      const decision = this.failed(`no frame from ${this.current} for ${Math.round(quiet)} ms`);
      this.opts.onStall?.(decision);
    });
  }
}
