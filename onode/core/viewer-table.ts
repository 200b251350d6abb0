/**
 * A POP's viewer statistics, without sockets: one row per RTSP session that played, fed by the
 * session's lifecycle (PLAY, PAUSE, TEARDOWN or timeout), by the oclient's playback reports
 * (viewer-report.ts, player "oclient") and by the RTCP receiver reports any RTSP player sends
 * (ffmpeg, GStreamer: player "rtsp", loss and jitter only). GET /viewers lists the rows.
 *
 * Rows are named by the session's label ("POP/v3"), never by its id, which is the viewer's
 * credential. Input is not trusted: the RTSP layer only hands over a report that came on the
 * session's own connection; here a report is size-capped, schema-checked and rate-limited per
 * session, and anything refused is counted, never thrown. The table is bounded: a gone row is
 * kept GONE_KEEP_MS so the end shows, and when the table is full a new viewer goes unlisted
 * (counted) rather than pushing out a live one.
 */
import type { Clock } from '../../common/core/clock.ts';
import type { ReportBlock } from '../../common/wire/rtcp.ts';
import type { ViewerStats } from '../../common/wire/status-api.ts';
import { decodeViewerReport, type ViewerReportFailure } from '../../common/wire/viewer-report.ts';
import { MAX_SESSIONS } from './rtsp-sessions.ts';

/** Live sessions are at most MAX_SESSIONS; the rest is room for gone rows. */
export const MAX_VIEWER_ROWS = 2 * MAX_SESSIONS;
/** How long a gone viewer stays listed. */
export const GONE_KEEP_MS = 60_000;
/** Per session, reports (and receiver reports) closer together than this are dropped. */
export const MIN_REPORT_INTERVAL_MS = 500;
/** MJPEG's RTP clock (RFC 2435): jitter in timestamp units / 90 = ms. */
const RTP_CLOCK_PER_MS = 90;

export type ReportVerdict = 'accepted' | 'unknown' | 'limited' | ViewerReportFailure;

/** What the RTSP sessions tell the table; the table never sees a session id. */
export interface ViewerSink {
  /** PLAY accepted (again, after a PAUSE). */
  played(label: string, movie: string, client: string): void;
  paused(label: string): void;
  /** TEARDOWN, timeout, the connection closed, or the session failed. */
  gone(label: string): void;
  /** A SET_PARAMETER body from the session's own connection. */
  report(label: string, body: Buffer): ReportVerdict;
  /** An RTCP RR's (or SR's) report blocks from the session's RTCP source. */
  receiverReport(label: string, blocks: readonly ReportBlock[]): void;
}

export interface ViewerTableCounters {
  reportsAccepted: number;
  reportsMalformed: number;
  reportsOversize: number;
  reportsUnsupported: number;
  reportsLimited: number;
  /** Reports for a session with no row (not played yet, gone, or unlisted when the table was full). */
  reportsUnknown: number;
  receiverReports: number;
  receiverReportsLimited: number;
  /** RRs with report blocks for an oclient's row (not its own: it sends none), ignored. */
  receiverReportsIgnored: number;
  /** New viewers not listed because the table was full. */
  rowsRefused: number;
}

export interface ViewerTableDeps {
  /** The POP's name: rows are "pop/label". */
  readonly pop: string;
  readonly clock: Clock;
  /** Wall clock for the rows' times (ms since 1970); intervals use `clock`. */
  wallClockMs(): number;
}

export interface ViewerTableLimits {
  readonly maxRows: number;
  readonly goneKeepMs: number;
  readonly minReportIntervalMs: number;
}

export const DEFAULT_VIEWER_LIMITS: ViewerTableLimits = {
  maxRows: MAX_VIEWER_ROWS,
  goneKeepMs: GONE_KEEP_MS,
  minReportIntervalMs: MIN_REPORT_INTERVAL_MS,
};

interface Row {
  stats: ViewerStats;
  lastReportAt: number;
  lastRrAt: number;
  /** The last report's packet counters, for the interval's fraction lost. */
  packets: { received: number; lost: number } | null;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class ViewerTable implements ViewerSink {
  readonly counters: ViewerTableCounters = {
    reportsAccepted: 0,
    reportsMalformed: 0,
    reportsOversize: 0,
    reportsUnsupported: 0,
    reportsLimited: 0,
    reportsUnknown: 0,
    receiverReports: 0,
    receiverReportsLimited: 0,
    receiverReportsIgnored: 0,
    rowsRefused: 0,
  };
  private readonly rows = new Map<string, Row>();
  /** Gone rows by label, oldest first, with when they went (monotonic). */
  private readonly gone_ = new Map<string, number>();

  constructor(
    private readonly deps: ViewerTableDeps,
    private readonly limits: ViewerTableLimits = DEFAULT_VIEWER_LIMITS,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  played(label: string, movie: string, client: string): void {
    this.expire();
    const row = this.rows.get(label);
    if (row !== undefined) {
      if (row.stats.state === 'paused') this.update(row, { state: 'playing' });
      return;
    }
    if (this.gone_.has(label)) return;
    if (this.rows.size >= this.limits.maxRows && !this.dropOldestGone()) {
      this.counters.rowsRefused++;
      return;
    }
    const at = this.deps.wallClockMs();
    this.rows.set(label, {
      stats: {
        id: `${this.deps.pop}/${label}`,
        pop: this.deps.pop,
        movie,
        client,
        player: 'rtsp',
        startedAt: at,
        updatedAt: at,
        state: 'playing',
        startupMs: null,
        fps: null,
        bitrateKbps: null,
        framesReceived: null,
        framesLost: null,
        packetsLost: 0,
        fractionLost: 0,
        jitterMs: null,
        longestStallMs: null,
        failovers: null,
      },
      lastReportAt: -Infinity,
      lastRrAt: -Infinity,
      packets: null,
    });
  }

  paused(label: string): void {
    const row = this.rows.get(label);
    if (row !== undefined && row.stats.state === 'playing') this.update(row, { state: 'paused' });
  }

  gone(label: string): void {
    const row = this.rows.get(label);
    if (row === undefined || row.stats.state === 'gone') return;
    // The last figures stay: they tell how the viewer fared until it left.
    this.update(row, { state: 'gone' });
    this.gone_.set(label, this.deps.clock.now());
    this.expire();
  }

  report(label: string, body: Buffer): ReportVerdict {
    const row = this.rows.get(label);
    if (row === undefined || row.stats.state === 'gone') {
      this.counters.reportsUnknown++;
      return 'unknown';
    }
    const now = this.deps.clock.now();
    if (now - row.lastReportAt < this.limits.minReportIntervalMs) {
      this.counters.reportsLimited++;
      return 'limited';
    }
    // Any report past the limit spends it, good or bad: parsing costs a session at most 1/interval.
    row.lastReportAt = now;
    const decoded = decodeViewerReport(body);
    if (!decoded.ok) {
      if (decoded.reason === 'oversize') this.counters.reportsOversize++;
      else if (decoded.reason === 'unsupported') this.counters.reportsUnsupported++;
      else this.counters.reportsMalformed++;
      return decoded.reason;
    }
    const r = decoded.value;
    // The interval's loss from the difference of the counters; a reset (fewer than before) starts over.
    const prev = row.packets;
    const dReceived = prev === null ? r.packetsReceived : r.packetsReceived - prev.received;
    const dLost = prev === null ? r.packetsLost : r.packetsLost - prev.lost;
    const fractionLost =
      dReceived >= 0 && dLost >= 0 && dReceived + dLost > 0 ? round(dLost / (dReceived + dLost), 4) : 0;
    row.packets = { received: r.packetsReceived, lost: r.packetsLost };
    this.counters.reportsAccepted++;
    this.update(row, {
      player: 'oclient',
      startupMs: r.startupMs,
      fps: r.fps,
      bitrateKbps: r.bitrateKbps,
      framesReceived: r.framesReceived,
      framesLost: r.framesLost,
      packetsLost: r.packetsLost,
      fractionLost,
      jitterMs: r.jitterMs,
      longestStallMs: r.longestStallMs,
      failovers: r.failovers,
      ...(r.total === undefined ? {} : { total: r.total }),
    });
    return 'accepted';
  }

  receiverReport(label: string, blocks: readonly ReportBlock[]): void {
    const row = this.rows.get(label);
    // Empty RRs (the oclient's keep-alives) say nothing about loss. An oclient's row holds what it
    // reported over its own RTSP connection; an RR, matched only by a forgeable UDP source, never
    // overwrites that (an oclient sends no report blocks, so such an RR is not its own).
    const block = blocks[0];
    if (row === undefined || row.stats.state === 'gone' || block === undefined) return;
    if (row.stats.player === 'oclient') {
      this.counters.receiverReportsIgnored++;
      return;
    }
    const now = this.deps.clock.now();
    if (now - row.lastRrAt < this.limits.minReportIntervalMs) {
      this.counters.receiverReportsLimited++;
      return;
    }
    row.lastRrAt = now;
    this.counters.receiverReports++;
    this.update(row, {
      packetsLost: Math.max(0, block.cumulativeLost),
      fractionLost: round(block.fractionLost / 256, 4),
      jitterMs: round(block.jitter / RTP_CLOCK_PER_MS, 2),
    });
  }

  /** Every row, oldest first; gone rows past their keep time are dropped first. */
  list(): ViewerStats[] {
    this.expire();
    return [...this.rows.values()].map((r) => r.stats);
  }

  private update(row: Row, change: Partial<Mutable<ViewerStats>>): void {
    row.stats = { ...row.stats, ...change, updatedAt: this.deps.wallClockMs() };
  }

  private expire(): void {
    const limit = this.deps.clock.now() - this.limits.goneKeepMs;
    for (const [label, at] of this.gone_) {
      if (at > limit) break;
      this.gone_.delete(label);
      this.rows.delete(label);
    }
  }

  private dropOldestGone(): boolean {
    const oldest = this.gone_.keys().next();
    if (oldest.done === true) return false;
    this.gone_.delete(oldest.value);
    this.rows.delete(oldest.value);
    return true;
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
