/**
 * Which rows of one part of a telemetry report (neighbours, streams or viewers) a report should
 * carry: a report sends only the rows that changed, keyed (a neighbour by name, a stream by movie,
 * a viewer by id), and names the keys that went away; the bootstrapper merges them. A row's shape
 * (what changes the picture: a link's state, a tree branch) makes it urgent; its numbers (RTTs,
 * counters) are refreshed at most every `refreshMs`.
 */

export interface RowFormat<R> {
  key(row: R): string;
  /** What makes a change urgent. */
  shape(row: R): string;
  /** What is only refreshed now and then. */
  numbers(row: R): string;
}

export interface PendingRows<R> {
  readonly rows: R[];
  /** Keys sent before and no longer present. */
  readonly gone: string[];
  /** A row is new or changed shape, or one went away: this should go now. */
  readonly urgent: boolean;
}

interface Sent {
  readonly shape: string;
  readonly numbers: string;
  readonly at: number;
}

export class ReportRows<R> {
  private sent = new Map<string, Sent>();

  constructor(private readonly format: RowFormat<R>) {}

  /**
   * The rows to send now: every one in a full report; else the new or reshaped ones, and, when any
   * row's changed numbers are `refreshMs` old, every row whose numbers changed (one refresh, not many).
   */
  pending(rows: readonly R[], full: boolean, now: number, refreshMs: number): PendingRows<R> {
    const f = this.format;
    if (full) return { rows: [...rows], gone: [], urgent: false };
    const out: R[] = [];
    const changed: R[] = [];
    let urgent = false;
    let refresh = false;
    const present = new Set<string>();
    for (const r of rows) {
      const key = f.key(r);
      present.add(key);
      const prev = this.sent.get(key);
      if (prev === undefined || prev.shape !== f.shape(r)) {
        urgent = true;
        out.push(r);
      } else if (prev.numbers !== f.numbers(r)) {
        changed.push(r);
        if (now - prev.at >= refreshMs) refresh = true;
      }
    }
    const gone = [...this.sent.keys()].filter((k) => !present.has(k));
    if (refresh) out.push(...changed);
    return { rows: out, gone, urgent: urgent || gone.length > 0 };
  }

  /** These rows and gone keys were sent at `now` (a full report: they are all there is). */
  commit(rows: readonly R[], gone: readonly string[], now: number, full: boolean): void {
    if (full) this.sent.clear();
    for (const k of gone) this.sent.delete(k);
    const f = this.format;
    for (const r of rows) this.sent.set(f.key(r), { shape: f.shape(r), numbers: f.numbers(r), at: now });
  }

  /** Forgets what was sent: the next report must carry everything. */
  clear(): void {
    this.sent.clear();
  }
}
