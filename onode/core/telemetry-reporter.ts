/**
 * A node's telemetry for the bootstrapper's dashboard, without I/O: samples the node every
 * `sampleMs`, turns changes into events (telemetry-events.ts), and hands `send` a report body (JSON
 * text) at most once per `pushEveryMs`, or sooner (not before `minGapMs`) when an event is waiting.
 * A quiet node (no stream, nothing changed in the last sample) is sampled every `idleSampleMs`
 * instead (each wake-up costs an idle daemon CPU: issue 13); poke() samples at once, so a link
 * going down or a first join is still reported at once.
 *
 * To stay cheap on the wire (the budget is 2 kbit/s per node) a report carries only the parts that
 * changed, and only what the bootstrapper shows. A change of shape (a link up or down, a tree
 * branch, a viewer coming or going) goes at once with its events; numbers (RTTs, byte counters,
 * viewer figures) are refreshed every `countersEveryMs` while the budget has room; everything every
 * `fullEveryMs`. Over the budget, events still go, summarised by kind (see sampleNow).
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import {
  encodeTelemetryReport,
  MAX_REPORT_EVENTS,
  MAX_REPORT_NEIGHBOURS,
  MAX_REPORT_STREAMS,
  MAX_REPORT_VIEWERS,
  type ReportNeighbour,
  type ReportStream,
  type TelemetryReport,
} from '../../common/wire/dashboard-api.ts';
import { wireBytes } from '../../common/wire/report-body.ts';
import type { ViewerStats } from '../../common/wire/status-api.ts';
import { ReportRows, type RowFormat } from './report-rows.ts';
import { diffSamples, EventQueue, type NodeEvent, type NodeSample } from './telemetry-events.ts';

export interface TelemetryOptions {
  /** How often the node is sampled for events (ms); default 250. */
  readonly sampleMs: number;
  /** How often a quiet node is sampled (no stream, no change in the last sample; ms); default sampleMs. */
  readonly idleSampleMs?: number;
  /** The longest gap between reports while anything changes (ms); default 1000. */
  readonly pushEveryMs: number;
  /** The shortest gap between reports, even with events waiting (ms); default 250 (4 per second). */
  readonly minGapMs: number;
  /** Stream counters and viewer rows are resent at most this often when only numbers changed (ms); default 5000. */
  readonly countersEveryMs: number;
  /** Every part is resent this often, changed or not (ms); default 30 000. */
  readonly fullEveryMs: number;
  /** Events kept for the next report; older ones are dropped and counted. Default 256. */
  readonly maxQueuedEvents: number;
  /** The largest body sent (UTF-8 bytes of the JSON as it travels, escaped inside the report line). */
  readonly maxBodyBytes: number;
  /**
   * The long-run budget for reports (bytes per second on the wire) and the burst it may save up;
   * default 180 B/s (1.44 kbit/s) and 1 KiB, so that even a node that spends its burst and its
   * debt (1.5 bursts in all, see sampleNow) stays under 2 kbit/s over any 30 s. Over budget,
   * numbers wait and events are summarised by kind.
   */
  readonly budgetBytesPerSec: number;
  readonly burstBytes: number;
}

export const DEFAULT_TELEMETRY: TelemetryOptions = {
  sampleMs: 250,
  pushEveryMs: 1000,
  minGapMs: 250,
  countersEveryMs: 5000,
  fullEveryMs: 30_000,
  maxQueuedEvents: 256,
  maxBodyBytes: 60 * 1024,
  budgetBytesPerSec: 180,
  burstBytes: 1024,
};

/**
 * What the daemons run: a quiet node is sampled once a second, and the node pokes the reporter when
 * a link goes up or down or a stream joins (OverlayNode.onShapeChange), so those are still seen at once.
 */
export const DAEMON_TELEMETRY: TelemetryOptions = { ...DEFAULT_TELEMETRY, idleSampleMs: 1000 };

/** Events worth sending one by one when the budget is short; the rest are summarised first. */
const PRIORITY: ReadonlySet<string> = new Set(['link-down', 'link-up', 'reroute', 'switch']);
/** How often a report carries the reporter's own cost (a few bytes). */
const COST_EVERY_MS = 10_000;
/** Events sent one by one even in debt (priority kinds first), so a failure is always shown in full. */
const MIN_EVENTS = 4;
/** A rough size of one event in a report line, for the budget. */
const EVENT_BYTES = 80;

/** What the reporter reads from the node. */
export interface TelemetrySource {
  neighbours(): readonly ReportNeighbour[];
  streams(): readonly ReportStream[];
  /** The tree's cumulative NAKs (sent and received) and make-before-break switches. */
  treeCounters(): { readonly naks: number; readonly switches: number };
  /** POPs: their viewers (default none). */
  viewers(): readonly ViewerStats[];
}

export interface TelemetryCounters {
  reports: number;
  /** Time spent sampling and building reports (ms of this thread). */
  busyMs: number;
  /** Reports cut down to fit maxBodyBytes (viewers or events left out). */
  trimmed: number;
  /** Events sent only as part of a per-kind summary (over the byte budget). */
  summarised: number;
  bytes: number;
}

type MutableReport = { -readonly [K in keyof TelemetryReport]: TelemetryReport[K] };

const NEIGHBOUR_ROWS: RowFormat<ReportNeighbour> = {
  key: (n) => n.name,
  shape: (n) => `${n.alive}:${n.cut}`,
  numbers: (n) => String(bucket(n.rttMs)),
};
const STREAM_ROWS: RowFormat<ReportStream> = {
  key: (x) => x.movie,
  shape: (x) => `${x.state}:${x.upstream}:${x.downstream.join(',')}:${x.clients}`,
  numbers: (x) => String(x.bytesIn),
};
const VIEWER_ROWS: RowFormat<ViewerStats> = {
  key: (v) => v.id,
  shape: (v) => `${v.state}:${v.failovers}`,
  numbers: (v) => String(v.updatedAt),
};

export class TelemetryReporter {
  readonly counters: TelemetryCounters = { reports: 0, busyMs: 0, trimmed: 0, bytes: 0, summarised: 0 };
  private readonly queue: EventQueue;
  private last: NodeSample | null = null;
  private timer: Timer | null = null;
  /** When the pending sample is due (null while stopped). */
  private dueAt: number | null = null;
  /** Whether the last sample found the node quiet (sampled every idleSampleMs). */
  private quiet = false;
  private lastPush = -Infinity;
  private lastCost = -Infinity;
  /** Bytes the budget allows now (a token bucket), and when it was last refilled. */
  private tokens: number;
  private refilledAt: number | null = null;
  private lastFull = -Infinity;
  /** Per part: what each row was when last sent. */
  private readonly neighbourRows = new ReportRows(NEIGHBOUR_ROWS);
  private readonly streamRows = new ReportRows(STREAM_ROWS);
  private readonly viewerRows = new ReportRows(VIEWER_ROWS);

  constructor(
    private readonly clock: Clock,
    private readonly source: TelemetrySource,
    /** Sends a report body; returns the bytes it took on the wire (default: the body's). */
    private readonly send: (body: string) => number | undefined,
    private readonly o: TelemetryOptions = DEFAULT_TELEMETRY,
    /** Where the reporter's own cost is timed (ms); real nodes pass performance.now. */
    private readonly cpuNow: () => number = () => 0,
  ) {
    this.queue = new EventQueue(o.maxQueuedEvents);
    this.tokens = o.burstBytes;
  }

  start(): void {
    if (this.timer !== null) return;
    this.schedule(0);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.dueAt = null;
  }

  /** Something changed shape (a link, a tree branch): a quiet node is sampled at once, not at its slow rate. */
  poke(): void {
    if (this.timer === null || this.dueAt === null || this.dueAt - this.clock.now() <= this.o.sampleMs) return;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    this.timer?.cancel();
    this.dueAt = this.clock.now() + ms;
    this.timer = this.clock.setTimer(ms, this.tick);
  }

  private readonly tick = (): void => {
    this.timer = null;
    this.sample();
    // sample() does not stop the reporter; a stop() from `send` would have cleared dueAt.
    if (this.dueAt === null) return;
    this.schedule(this.quiet ? Math.max(this.o.sampleMs, this.o.idleSampleMs ?? this.o.sampleMs) : this.o.sampleMs);
  };

  /** The next report carries everything (a new connection: the bootstrapper may know nothing). */
  resync(): void {
    this.lastFull = -Infinity;
    for (const rows of [this.neighbourRows, this.streamRows, this.viewerRows]) rows.clear();
  }

  get droppedEvents(): number {
    return this.queue.dropped;
  }

  /** Samples the node, queues what changed, and reports when due. */
  sample(): void {
    const t0 = this.cpuNow();
    this.sampleNow();
    this.counters.busyMs += this.cpuNow() - t0;
  }

  private sampleNow(): void {
    const now = this.clock.now();
    const tree = this.source.treeCounters();
    const next: NodeSample = {
      at: now,
      neighbours: this.source.neighbours(),
      streams: this.source.streams(),
      naks: tree.naks,
      switches: tree.switches,
    };
    const events = this.last === null ? [] : diffSamples(this.last, next);
    this.queue.push(events);
    this.last = next;
    this.quiet = events.length === 0 && next.streams.length === 0;
    const elapsed = this.refilledAt === null ? 0 : now - this.refilledAt;
    this.tokens = Math.min(this.o.burstBytes, this.tokens + (elapsed * this.o.budgetBytesPerSec) / 1000);
    this.refilledAt = now;
    const since = now - this.lastPush;
    if (since < this.o.minGapMs) return;
    if (this.tokens <= -this.o.burstBytes) {
      // A whole burst in debt: events alone still go, once per pushEveryMs and mostly summarised
      // (parts wait), until half a burst more is spent; only then does the timeline wait for the budget.
      const events = this.queue.length > 0 && since >= this.o.pushEveryMs && this.tokens > -1.5 * this.o.burstBytes;
      if (events) this.push(now);
      return;
    }
    // Number refreshes (RTTs, rates, viewer figures) only out of debt, full reports only from a
    // saved-up budget: what changed shape comes first.
    const full = this.tokens >= this.o.burstBytes / 2 && now - this.lastFull >= this.o.fullEveryMs;
    const refreshMs = this.tokens > 0 && since >= this.o.pushEveryMs ? this.o.countersEveryMs : Infinity;
    const neighbours = next.neighbours
      .slice(0, MAX_REPORT_NEIGHBOURS)
      .map((n) => ({ ...n, rttMs: roundOrNull(n.rttMs) }));
    const n = this.neighbourRows.pending(neighbours, full, now, refreshMs);
    const st = this.streamRows.pending(next.streams.slice(0, MAX_REPORT_STREAMS), full, now, refreshMs);
    const vw = this.viewerRows.pending(this.source.viewers().slice(0, MAX_REPORT_VIEWERS), full, now, refreshMs);
    // Events and changes of shape (a link, a tree branch, a viewer) go at once, borrowing up to one
    // burst that later reports pay back; so the long-run rate stays within the budget.
    const urgent = this.queue.length > 0 || n.urgent || st.urgent || vw.urgent;
    const rows = n.rows.length + st.rows.length + vw.rows.length;
    if (!urgent && !full && rows === 0) return;
    if (full) this.lastFull = now;
    const report: MutableReport = { at: round(now) };
    if (full) report.full = true;
    if (n.rows.length > 0) report.neighbours = n.rows;
    if (st.rows.length > 0) report.streams = st.rows;
    if (st.gone.length > 0) report.streamsEnded = st.gone;
    if (vw.rows.length > 0) report.viewers = vw.rows;
    if (vw.gone.length > 0) report.viewersGone = vw.gone;
    const sent = this.push(now, report);
    // What fit is what was sent: rows trimmed away count as unsent and go in a later report.
    this.neighbourRows.commit(sent.neighbours ?? [], [], now, full);
    this.streamRows.commit(sent.streams ?? [], st.gone, now, full);
    this.viewerRows.commit(sent.viewers ?? [], vw.gone, now, full);
  }

  /** Adds the events and the cost to `report`, sends it (trimmed to fit), and returns what went. */
  private push(now: number, report: MutableReport = { at: round(now) }): MutableReport {
    // Empty and zero fields are left out: most reports carry a row or two and a few events.
    const events = this.events(now);
    if (events.length > 0) report.events = events;
    if (this.queue.dropped > 0) report.droppedEvents = this.queue.dropped;
    if (report.full === true || now - this.lastCost >= COST_EVERY_MS) {
      this.lastCost = now;
      report.cost = { sentBytes: this.counters.bytes, busyMs: round(this.counters.busyMs) };
    }
    this.lastPush = now;
    const body = this.fit(report);
    this.counters.reports++;
    const bytes = this.send(body) ?? Buffer.byteLength(body);
    this.counters.bytes += bytes;
    this.tokens -= bytes;
    return report;
  }

  /**
   * The queued events for a report: one by one while the budget allows (priority kinds first), the
   * rest as one summary per kind (`count`, the newest one's time, no details).
   */
  private events(now: number): NonNullable<TelemetryReport['events']> {
    const all = this.queue.take(this.o.maxQueuedEvents);
    const room = Math.min(MAX_REPORT_EVENTS, Math.max(MIN_EVENTS, Math.floor(this.tokens / 2 / EVENT_BYTES)));
    const one = (e: NodeEvent) => {
      const { at, ...rest } = e;
      return { ...rest, agoMs: Math.round(Math.max(0, now - at)) };
    };
    if (all.length <= room) return all.map(one);
    const keep = new Set([...all.filter((e) => PRIORITY.has(e.kind)), ...all].slice(0, room));
    const out = all.filter((e) => keep.has(e)).map(one);
    const summary = new Map<string, { kind: NodeEvent['kind']; at: number; count: number }>();
    for (const e of all) {
      if (keep.has(e)) continue;
      this.counters.summarised++;
      const s = summary.get(e.kind);
      if (s === undefined) summary.set(e.kind, { kind: e.kind, at: e.at, count: e.count ?? 1 });
      else {
        s.at = Math.max(s.at, e.at);
        s.count += e.count ?? 1;
      }
    }
    for (const s of summary.values())
      out.push({ kind: s.kind, agoMs: Math.round(Math.max(0, now - s.at)), count: s.count });
    return out.slice(0, MAX_REPORT_EVENTS);
  }

  /** The body as it travels, halving viewers, then events, then streams until it fits maxBodyBytes. */
  private fit(r: MutableReport): string {
    for (;;) {
      const body = encodeTelemetryReport(r);
      if (wireBytes(body) <= this.o.maxBodyBytes) return body;
      this.counters.trimmed++;
      if (r.viewers !== undefined && r.viewers.length > 0) r.viewers = r.viewers.slice(0, r.viewers.length >> 1);
      else if (r.events !== undefined && r.events.length > 0) r.events = r.events.slice(r.events.length >> 1);
      else if (r.streams !== undefined && r.streams.length > 0) r.streams = r.streams.slice(0, r.streams.length >> 1);
      else if (r.neighbours !== undefined && r.neighbours.length > 0)
        r.neighbours = r.neighbours.slice(0, r.neighbours.length >> 1);
      else return body;
    }
  }
}

/** Groups values about half apart, so RTT jitter (large on a loaded host) does not count as a change. */
function bucket(x: number | null): number {
  return x === null ? -1 : Math.round(Math.log1p(Math.max(0, x)) / Math.log(1.5));
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function roundOrNull(x: number | null): number | null {
  return x === null ? null : round(x);
}
