/**
 * Tells when a POP has answered nothing for too long while the client waits on it. A POP's RTSP
 * answer to SETUP waits for its tree join, which may take seconds; a POP that is frozen (SIGSTOP,
 * a hung host) keeps its TCP connection open and never answers. Its answers to pings tell the two
 * apart: a joining POP answers them at once, a frozen one does not.
 *
 * No I/O: the caller reports each answer (heard()); time comes from the injected Clock.
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import { STALL_RECHECK_MS, STALLED_WATCH_MS } from './failover-policy.ts';

/** How often silence is looked at, at most. */
export const SILENCE_CHECK_MS = 250;

export class SilenceWatch {
  private lastHeard = 0;
  private timer: Timer | null = null;

  /** @param onSilent called once, with the silence in ms, when nothing was heard for `silentMs`. */
  constructor(
    private readonly clock: Clock,
    private readonly silentMs: number,
    private readonly onSilent: (silentMs: number) => void,
  ) {}

  /** Starts counting silence from now (idempotent while running). */
  start(): void {
    if (this.timer !== null) return;
    this.lastHeard = this.clock.now();
    this.arm();
  }

  /** The POP answered. */
  heard(): void {
    this.lastHeard = this.clock.now();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  private arm(): void {
    const step = Math.min(SILENCE_CHECK_MS, this.silentMs);
    const due = this.clock.now() + step;
    this.timer = this.clock.setTimer(step, () => {
      const now = this.clock.now();
      // Fired far past its time: this process stalled, and answers may sit unread in the socket.
      if (now - due > STALLED_WATCH_MS)
        this.lastHeard = Math.max(this.lastHeard, now - this.silentMs + STALL_RECHECK_MS);
      const quiet = now - this.lastHeard;
      if (quiet < this.silentMs) return this.arm();
      this.timer = null;
      this.onSilent(quiet);
    });
  }
}
