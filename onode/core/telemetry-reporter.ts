/**
 * A node's telemetry for the bootstrapper's dashboard, without I/O: samples the node every
 * SAMPLE_MS, turns changes into events (telemetry-events.ts), and hands `send` a report body (JSON
 * text) at most once per `pushEveryMs`, or sooner (not before `minGapMs`) when an event is waiting.
 *
 * To stay cheap on the wire (the budget is 2 kbit/s per node) a report carries only the parts that
 * changed: neighbours and routes when their shape changes or an RTT or latency moves by half,
 * streams when their shape changes or every `countersEveryMs` for the rates, viewers when one comes,
 * goes or changes state, or every `countersEveryMs`; and everything every `fullEveryMs`.
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import {
  MAX_REPORT_EVENTS,
  MAX_REPORT_NEIGHBOURS,
  MAX_REPORT_ROUTES,
  MAX_REPORT_STREAMS,
  MAX_REPORT_VIEWERS,
  type ReportNeighbour,
  type ReportRoute,
  type ReportStream,
  type TelemetryReport,
} from '../../common/wire/dashboard-api.ts';
import type { ViewerStats } from '../../common/wire/status-api.ts';
import { diffSamples, EventQueue, type NodeEvent, type NodeSample } from './telemetry-events.ts';

export interface TelemetryOptions {
  /** How often the node is sampled for events (ms); default 250. */
  readonly sampleMs: number;
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
   * The long-run budget for reports (bytes per second on the wire) and the burst it may save up.
   * Over budget, reports wait and events are summarised by kind; default 200 B/s (1.6 kbit/s), 4 KiB.
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
  budgetBytesPerSec: 200,
  burstBytes: 4096,
};

/** Events worth sending one by one when the budget is short; the rest are summarised first. */
const PRIORITY: ReadonlySet<string> = new Set(['link-down', 'link-up', 'reroute', 'switch']);
/** How often a report carries the reporter's own cost (a few bytes). */
const COST_EVERY_MS = 10_000;
/** A rough size of one event in a report line, for the budget. */
const EVENT_BYTES = 80;

/** What the reporter reads from the node. */
export interface TelemetrySource {
  neighbours(): readonly ReportNeighbour[];
  routes(): readonly ReportRoute[];
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

type Part = 'neighbours' | 'routes' | 'streams' | 'viewers';

export class TelemetryReporter {
  readonly counters: TelemetryCounters = { reports: 0, busyMs: 0, trimmed: 0, bytes: 0, summarised: 0 };
  private readonly queue: EventQueue;
  private last: NodeSample | null = null;
  private timer: Timer | null = null;
  private lastPush = -Infinity;
  private lastCost = -Infinity;
  /** Bytes the budget allows now (a token bucket), and when it was last refilled. */
  private tokens: number;
  private refilledAt: number | null = null;
  private lastFull = -Infinity;
  /** Per part: the shape and numbers last sent, and when. */
  private readonly sent = new Map<Part, { shape: string; numbers: string; at: number }>();

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
    const tick = (): void => {
      this.timer = this.clock.setTimer(this.o.sampleMs, tick);
      this.sample();
    };
    this.timer = this.clock.setTimer(0, tick);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** The next report carries everything (a new connection: the bootstrapper may know nothing). */
  resync(): void {
    this.lastFull = -Infinity;
    this.sent.clear();
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
    if (this.last !== null) this.queue.push(diffSamples(this.last, next));
    this.last = next;
    const elapsed = this.refilledAt === null ? 0 : now - this.refilledAt;
    this.tokens = Math.min(this.o.burstBytes, this.tokens + (elapsed * this.o.budgetBytesPerSec) / 1000);
    this.refilledAt = now;
    const since = now - this.lastPush;
    const due = since >= this.o.pushEveryMs || (this.queue.length > 0 && since >= this.o.minGapMs);
    // Over budget, reports wait (events keep their times; the queue is bounded); events may borrow
    // up to one burst, which later reports pay back, so the long-run rate stays within the budget.
    const allowed = this.tokens > 0 || (this.queue.length > 0 && this.tokens > -this.o.burstBytes);
    if (due && allowed) this.push(next);
  }

  private push(s: NodeSample): void {
    const now = s.at;
    // Events and changes of shape go first; refreshes of numbers only while half the burst is saved up.
    const spare = this.tokens >= this.o.burstBytes / 2;
    const full = spare && now - this.lastFull >= this.o.fullEveryMs;
    const refreshMs = spare ? this.o.countersEveryMs : Infinity;
    if (full) this.lastFull = now;
    const report: { -readonly [K in keyof TelemetryReport]: TelemetryReport[K] } = {
      at: round(now),
      events: this.events(now),
      droppedEvents: this.queue.dropped,
    };
    const neighbours = s.neighbours.slice(0, MAX_REPORT_NEIGHBOURS).map((n) => ({ ...n, rttMs: roundOrNull(n.rttMs) }));
    if (
      this.due(
        'neighbours',
        neighbours.map((n) => `${n.name}:${n.alive}:${n.cut}:${bucket(n.rttMs)}`),
        full,
        now,
      )
    )
      report.neighbours = neighbours;
    const routes = this.source
      .routes()
      .slice(0, MAX_REPORT_ROUTES)
      .map((r) => ({ ...r, latencyMs: round(r.latencyMs) }));
    if (
      this.due(
        'routes',
        routes.map((r) => `${r.server}:${r.via}:${r.hops}:${bucket(r.latencyMs)}`),
        full,
        now,
      )
    )
      report.routes = routes;
    const streams = s.streams.slice(0, MAX_REPORT_STREAMS);
    const shape = streams.map((x) => `${x.movie}:${x.state}:${x.upstream}:${x.downstream.join(',')}:${x.clients}`);
    const numbers = streams.map((x) => `${x.bytesIn}:${x.bytesOut}`).join();
    if (this.due('streams', shape, full, now, numbers, refreshMs)) report.streams = streams;
    const viewers = this.source.viewers().slice(0, MAX_REPORT_VIEWERS);
    const vShape = viewers.map((v) => `${v.id}:${v.state}:${v.failovers}`);
    const vNumbers = viewers.map((v) => v.updatedAt).join();
    if (this.due('viewers', vShape, full, now, vNumbers, refreshMs)) report.viewers = viewers;
    if (report.events.length === 0 && !full && Object.keys(report).length === 3) return;
    if (now - this.lastCost >= COST_EVERY_MS) {
      this.lastCost = now;
      report.cost = { sentBytes: this.counters.bytes, busyMs: round(this.counters.busyMs) };
    }
    this.lastPush = now;
    const body = this.fit(report);
    this.counters.reports++;
    const bytes = this.send(body) ?? Buffer.byteLength(body);
    this.counters.bytes += bytes;
    this.tokens -= bytes;
  }

  /**
   * The queued events for a report: one by one while the budget allows (priority kinds first), the
   * rest as one summary per kind (`count`, the newest one's time, no details).
   */
  private events(now: number): TelemetryReport['events'] {
    const all = this.queue.take(this.o.maxQueuedEvents);
    const room = Math.min(MAX_REPORT_EVENTS, Math.max(0, Math.floor(this.tokens / 2 / EVENT_BYTES)));
    const one = (e: NodeEvent) => {
      const { at, ...rest } = e;
      return { ...rest, agoMs: round(Math.max(0, now - at)) };
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
    for (const s of summary.values()) out.push({ kind: s.kind, agoMs: round(Math.max(0, now - s.at)), count: s.count });
    return out.slice(0, MAX_REPORT_EVENTS);
  }

  /**
   * True when a part should be sent: a full report, its shape changed, or its numbers changed and
   * the ones sent are `refreshMs` old.
   */
  private due(part: Part, shape: readonly string[], full: boolean, now: number, numbers = '', refreshMs = 0): boolean {
    const key = shape.join('|');
    const prev = this.sent.get(part);
    const stale = prev !== undefined && prev.numbers !== numbers && now - prev.at >= refreshMs;
    if (!full && prev !== undefined && prev.shape === key && !stale) return false;
    this.sent.set(part, { shape: key, numbers, at: now });
    return true;
  }

  /** The body as JSON, halving viewers, then events, then streams until it fits maxBodyBytes. */
  private fit(r: { -readonly [K in keyof TelemetryReport]: TelemetryReport[K] }): string {
    for (;;) {
      const body = JSON.stringify(r);
      // Inside the report line the body is a JSON string: quotes and backslashes double.
      if (Buffer.byteLength(JSON.stringify(body)) <= this.o.maxBodyBytes) return body;
      this.counters.trimmed++;
      if (r.viewers !== undefined && r.viewers.length > 0) r.viewers = r.viewers.slice(0, r.viewers.length >> 1);
      else if (r.events.length > 0) r.events = r.events.slice(r.events.length >> 1);
      else if (r.streams !== undefined && r.streams.length > 0) r.streams = r.streams.slice(0, r.streams.length >> 1);
      else if (r.routes !== undefined && r.routes.length > 0) r.routes = r.routes.slice(0, r.routes.length >> 1);
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
