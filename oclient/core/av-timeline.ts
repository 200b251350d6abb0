/**
 * One timeline for the two tracks of an H.264 + AAC session. Each track's RTP timestamps count
 * in its own clock from its own random base (RFC 3550 section 5.1), so a player places them on
 * a shared time axis from an anchor per track:
 *
 * - the first track to deliver a unit is anchored at its arrival time (the caller's clock);
 * - the other one is anchored exactly relative to it when a sync point is known: the two RTP
 *   timestamps of one instant, from RTSP RTP-Info or from both tracks' RTCP sender reports
 *   (RFC 3550 section 6.4.1: NTP time and RTP timestamp of one instant per stream);
 * - without one, it is anchored at its own arrival too (off by network jitter and, for video
 *   with B-frames, by the reordering delay, since a sender sends in decode order).
 *
 * An anchor never moves once set, so timestamps written to a file never jump back.
 * All times are milliseconds in the caller's clock (nowMs); nothing here reads a clock.
 */
import type { AvTrackKind } from '../../common/media/av-rtp-plan.ts';

/** RTP timestamps of both tracks at one instant. */
export interface SyncPoint {
  readonly video: number;
  readonly audio: number;
}

/** An RTCP sender report's 64-bit NTP timestamp (seconds and 2^-32 fractions) in ms, for senderReport. */
export function ntpToMs(ntpSec: number, ntpFrac: number): number {
  return ntpSec * 1000 + (ntpFrac / 2 ** 32) * 1000;
}

/** Signed distance a - b between two 32-bit RTP timestamps (serial number arithmetic). */
export function timestampDiff(a: number, b: number): number {
  return ((a - b) | 0) as number;
}

/** Counts one track's 32-bit RTP timestamps on, through wraps, from the first one seen. */
export class RtpUnwrapper {
  private last: number | undefined;
  private extended = 0;

  unwrap(timestamp: number): number {
    const ts = timestamp >>> 0;
    this.extended = this.last === undefined ? ts : this.extended + timestampDiff(ts, this.last);
    this.last = ts;
    return this.extended;
  }

  /** The extended value of `timestamp` near the last one seen (without moving on); undefined before any. */
  peek(timestamp: number): number | undefined {
    return this.last === undefined ? undefined : this.extended + timestampDiff(timestamp >>> 0, this.last);
  }

  reset(): void {
    this.last = undefined;
    this.extended = 0;
  }
}

interface Anchor {
  /** Extended ticks ↔ ms on the timeline. */
  readonly ticks: number;
  readonly ms: number;
  readonly how: 'arrival' | 'sync';
}

interface SenderReport {
  readonly ntpMs: number;
  readonly rtpTimestamp: number;
}

const TRACKS: readonly AvTrackKind[] = ['video', 'audio'];

export class AvTimeline {
  private readonly unwrappers = { video: new RtpUnwrapper(), audio: new RtpUnwrapper() };
  private readonly anchors: { video?: Anchor; audio?: Anchor } = {};
  private readonly reports: { video?: SenderReport; audio?: SenderReport } = {};
  private sync: SyncPoint | undefined;

  /** @param rates clock rate of each track (Hz). @param sync RTP-Info's timestamps, when known. */
  constructor(
    private readonly rates: { readonly video: number; readonly audio: number },
    sync?: SyncPoint,
  ) {
    this.sync = sync;
  }

  /** The RTP timestamps of one instant (RTSP RTP-Info); used for a track not yet anchored. */
  setSyncPoint(sync: SyncPoint): void {
    this.sync = sync;
  }

  /** An RTCP sender report's NTP time (as ms) and RTP timestamp for a track. */
  senderReport(track: AvTrackKind, ntpMs: number, rtpTimestamp: number): void {
    this.reports[track] = { ntpMs, rtpTimestamp: rtpTimestamp >>> 0 };
  }

  /** How a track was anchored, if it was. */
  anchoredBy(track: AvTrackKind): Anchor['how'] | undefined {
    return this.anchors[track]?.how;
  }

  /**
   * Places a unit: its extended timestamp (ticks, counting on through wraps) and its time on
   * the timeline. The first unit of a track anchors it (at `arrivalMs` or by the sync point).
   */
  place(track: AvTrackKind, timestamp: number, arrivalMs: number): { ticks: number; timeMs: number } {
    const ticks = this.unwrappers[track].unwrap(timestamp);
    const anchor = this.anchors[track] ?? this.anchorFor(track, ticks, arrivalMs);
    this.anchors[track] = anchor;
    return { ticks, timeMs: anchor.ms + ((ticks - anchor.ticks) * 1000) / this.rates[track] };
  }

  /**
   * A new source for the track (another SSRC, another POP): its timestamps start over from its
   * next unit. The sync point belonged to the old source too: the caller sets the new one.
   */
  restart(track: AvTrackKind): void {
    this.unwrappers[track].reset();
    delete this.anchors[track];
    delete this.reports[track];
    this.sync = undefined;
  }

  private anchorFor(track: AvTrackKind, ticks: number, arrivalMs: number): Anchor {
    const other = TRACKS.find((t) => t !== track) ?? 'video';
    const otherAnchor = this.anchors[other];
    const point = this.syncPoint();
    const otherTicks = point === undefined ? undefined : this.unwrappers[other].peek(point[other]);
    const ownTicks = point === undefined ? undefined : this.unwrappers[track].peek(point[track]);
    if (otherAnchor === undefined || otherTicks === undefined || ownTicks === undefined) {
      return { ticks, ms: arrivalMs, how: 'arrival' };
    }
    const ms = otherAnchor.ms + ((otherTicks - otherAnchor.ticks) * 1000) / this.rates[other];
    return { ticks: ownTicks, ms, how: 'sync' };
  }

  /** RTP-Info's point, or one computed from both sender reports (the video report's instant). */
  private syncPoint(): SyncPoint | undefined {
    if (this.sync !== undefined) return this.sync;
    const v = this.reports.video;
    const a = this.reports.audio;
    if (v === undefined || a === undefined) return undefined;
    const audioAtVideo = a.rtpTimestamp + Math.round(((v.ntpMs - a.ntpMs) * this.rates.audio) / 1000);
    return { video: v.rtpTimestamp, audio: audioAtVideo >>> 0 };
  }
}
