/**
 * One H.264 + AAC output over every session of a playback (POP failovers): each session has its
 * own AvReceiver and timeline, and a new POP starts with the group of pictures since the last
 * keyframe (its fast start), part of which was written already. This decides, unit by unit in
 * the order the receivers hand them on (decode order), what is written and at what time:
 *
 * - Same SSRC as the last unit written of the track (the same server's stream through another
 *   POP: packets are forwarded as signed, timestamps included): after a switch, units are
 *   dropped until the last unit written comes again (by RTP timestamp), so the file continues
 *   exactly after it in decode order. A unit never written that comes before it (lost in the old
 *   session) is dropped too: written late, it would be out of decode order. Should the resend
 *   not reach back that far, a keyframe after the last unit written (video; audio: any unit
 *   after it) continues the file, which decodes cleanly from there.
 * - Its time continues the track's timeline from the last unit written (same clock), so the
 *   tracks stay in sync across sessions without re-anchoring.
 * - Another SSRC, or a jump of more than MAX_JUMP_S (a source that restarted its clock), is a
 *   new timeline: placed after everything written, both tracks of a session by one offset.
 *
 * No I/O, no clock: the caller feeds units as its receivers emit them.
 */
import type { AvTrackKind } from '../../common/media/av-rtp-plan.ts';
import type { AvUnit } from './av-receiver.ts';
import { timestampDiff } from './av-timeline.ts';

/** RTP timestamps of written units remembered per track (about 80 s of 25 fps video, 40 s of 48 kHz AAC). */
export const MAX_REMEMBERED_UNITS = 2048;
/** A timestamp this far (seconds) from the last written one is a new timeline, not a resend. */
export const MAX_JUMP_S = 10;

export interface AvContinuityCounts {
  /** Units dropped because they were written already (a new POP's fast start resending them). */
  duplicates: number;
  /** Units dropped because written now they would be out of decode order (older than the last written). */
  stale: number;
  /** New timelines started (another SSRC, or a clock jump), after the first. */
  newTimelines: number;
}

interface TrackState {
  ssrc: number | undefined;
  /** The last unit written, in decode order: its RTP timestamp and output time. */
  lastTs: number;
  lastOutMs: number;
  /** Waiting for the last unit written to come again (after a switch). */
  resuming: boolean;
  readonly written: Set<number>;
  readonly order: number[];
}

const newState = (): TrackState => ({
  ssrc: undefined,
  lastTs: 0,
  lastOutMs: 0,
  resuming: false,
  written: new Set(),
  order: [],
});

export class AvContinuity {
  readonly counts: { readonly video: AvContinuityCounts; readonly audio: AvContinuityCounts } = {
    video: { duplicates: 0, stale: 0, newTimelines: 0 },
    audio: { duplicates: 0, stale: 0, newTimelines: 0 },
  };
  private readonly state: Record<AvTrackKind, TrackState> = { video: newState(), audio: newState() };
  /** Maps this session's unit times onto the output's, for tracks on a new timeline. */
  private sessionOffsetMs: number | undefined;
  private anyWritten = false;

  /** @param rates each track's RTP clock rate (Hz). */
  constructor(private readonly rates: { readonly video: number; readonly audio: number }) {}

  /** A new session begins: its first units may repeat what was written. */
  beginSession(): void {
    this.sessionOffsetMs = undefined;
    for (const s of Object.values(this.state)) s.resuming = s.ssrc !== undefined;
  }

  /** The unit to write (re-timed onto the output's timeline), or null to drop it. `ssrc`: its RTP stream. */
  admit(unit: AvUnit, ssrc: number): AvUnit | null {
    const track = unit.track;
    const s = this.state[track];
    const c = this.counts[track];
    const ts = unit.pts >>> 0;
    const rate = this.rates[track];
    const d = timestampDiff(ts, s.lastTs);
    if (s.ssrc !== ssrc || Math.abs(d) > MAX_JUMP_S * rate) return this.newTimeline(unit, ssrc, ts);
    if (s.resuming) {
      if (ts === s.lastTs) {
        s.resuming = false;
        c.duplicates++;
        return null;
      }
      if (s.written.has(ts)) {
        c.duplicates++;
        return null;
      }
      const continues = d > 0 && (track === 'audio' || (unit.track === 'video' && unit.keyframe));
      if (!continues) {
        c.stale++;
        return null;
      }
      s.resuming = false;
    } else if (s.written.has(ts)) {
      c.duplicates++;
      return null;
    }
    return this.write(s, unit, ts, s.lastOutMs + (d * 1000) / rate);
  }

  private newTimeline(unit: AvUnit, ssrc: number, ts: number): AvUnit {
    const s = this.state[unit.track];
    if (s.ssrc !== undefined) this.counts[unit.track].newTimelines++;
    if (this.sessionOffsetMs === undefined) {
      // After everything written so far (1 ms on), or the receiver's own time for the very first unit.
      const end = Math.max(this.state.video.lastOutMs, this.state.audio.lastOutMs);
      this.sessionOffsetMs = this.anyWritten ? end + 1 - unit.timeMs : 0;
    }
    s.ssrc = ssrc;
    s.resuming = false;
    s.written.clear();
    s.order.length = 0;
    return this.write(s, unit, ts, unit.timeMs + this.sessionOffsetMs);
  }

  private write(s: TrackState, unit: AvUnit, ts: number, outMs: number): AvUnit {
    s.lastTs = ts;
    s.lastOutMs = outMs;
    s.written.add(ts);
    s.order.push(ts);
    if (s.order.length > MAX_REMEMBERED_UNITS) s.written.delete(s.order.shift() as number);
    this.anyWritten = true;
    return { ...unit, timeMs: outMs };
  }
}
