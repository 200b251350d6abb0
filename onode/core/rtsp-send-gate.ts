/**
 * The bounded send queue of one TCP-interleaved viewer. RTP shares the viewer's RTSP
 * connection, and a viewer that stops reading would otherwise make the POP buffer its stream
 * without end. At the start of each frame the gate looks at how much is still waiting on the
 * connection: over the limit, the whole frame is dropped (a player shows the frames it gets
 * whole, never a half-written one); a viewer still over the limit after STUCK_CLOSE_MS is
 * closed, which frees what it holds.
 */

/** Bytes waiting on a viewer's connection above which its next frame is dropped (~2 s of a 2 Mbit/s stream). */
export const SEND_QUEUE_LIMIT_BYTES = 512 * 1024;
/** A viewer over the limit this long has stopped reading: it is closed. */
export const STUCK_CLOSE_MS = 20_000;

export type GateDecision = 'send' | 'drop' | 'stuck';

export class FrameGate {
  packetsDropped = 0;
  framesDropped = 0;
  private midFrame = false;
  private dropping = false;
  private overSince: number | null = null;

  constructor(
    private readonly limitBytes = SEND_QUEUE_LIMIT_BYTES,
    private readonly stuckMs = STUCK_CLOSE_MS,
  ) {}

  /** For one RTP packet: `queuedBytes` are waiting on the connection, `marker` ends a frame. */
  decide(queuedBytes: number, marker: boolean, now: number): GateDecision {
    if (!this.midFrame) {
      this.dropping = queuedBytes > this.limitBytes;
      if (this.dropping) {
        this.framesDropped++;
        this.overSince ??= now;
      } else {
        this.overSince = null;
      }
    }
    this.midFrame = !marker;
    if (!this.dropping) return 'send';
    this.packetsDropped++;
    return this.overSince !== null && now - this.overSince >= this.stuckMs ? 'stuck' : 'drop';
  }

  /** Whether something other than the stream (RTCP, a retransmission) may be queued now. */
  static hasRoom(queuedBytes: number, limitBytes = SEND_QUEUE_LIMIT_BYTES): boolean {
    return queuedBytes <= limitBytes;
  }
}
