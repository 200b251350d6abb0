/**
 * Sends the POP this session's playback statistics every few seconds while it plays, as an RTSP
 * SET_PARAMETER on the session's own connection (the carrier, and why, in
 * common/wire/viewer-report.ts). One report in flight at most; a POP that does not understand
 * them (451, 501, 405: an older POP) is not asked again. A lost report costs nothing but its row's
 * freshness, so failures are counted, never raised.
 */
import { encodeViewerReport, VIEWER_STATS_CONTENT_TYPE, type ViewerReport } from '../../common/wire/viewer-report.ts';

/** Default interval between reports, ms. */
export const DEFAULT_REPORT_INTERVAL_MS = 2000;
/** Answers that mean the POP will never take reports. */
const NOT_UNDERSTOOD = new Set([405, 451, 501]);

export interface ReporterCounters {
  sent: number;
  accepted: number;
  /** Answered with another status, or no answer. */
  failed: number;
}

export class StatsReporter {
  readonly counters: ReporterCounters = { sent: 0, accepted: 0, failed: 0 };
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;
  /** False once the POP said it does not understand reports. */
  private understood = true;

  /**
   * @param send the SET_PARAMETER: resolves with the POP's status
   * @param build the report now (called only when one is due)
   */
  constructor(
    private readonly send: (contentType: string, body: Buffer) => Promise<number>,
    private readonly build: () => ViewerReport,
    private readonly intervalMs = DEFAULT_REPORT_INTERVAL_MS,
  ) {}

  /** Whether reports are going out (for the TUI and the stats file). */
  get reporting(): boolean {
    return this.timer !== null && this.understood;
  }

  start(): void {
    if (this.timer !== null || this.intervalMs <= 0 || !this.understood) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    if (this.inFlight || !this.understood) return;
    this.inFlight = true;
    this.counters.sent++;
    this.send(VIEWER_STATS_CONTENT_TYPE, encodeViewerReport(this.build()))
      .then((status) => {
        if (status === 200) this.counters.accepted++;
        else this.counters.failed++;
        if (NOT_UNDERSTOOD.has(status)) {
          this.understood = false;
          this.stop();
        }
      })
      .catch(() => {
        this.counters.failed++;
      })
      .finally(() => {
        this.inFlight = false;
      });
  }
}
