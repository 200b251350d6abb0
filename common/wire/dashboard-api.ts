/**
 * The dashboard's JSON: what a node pushes to the bootstrapper (a sealed `report`, see bootstrap.ts)
 * and what the bootstrapper serves (GET /overlay, each GET /feed update). status-api.ts re-exports
 * this module, so /status, /viewers and the dashboard come from one place.
 *
 * A report carries only what changed since the node's last one (rows keyed by neighbour, movie and
 * viewer; a row that is absent is unchanged), plus the events since then, and now and then
 * everything (`full`); every part is bounded, so a report always fits one line.
 */
import * as v from 'valibot';
import { packReportBody, unpackReportBody } from './report-body.ts';
import { ViewerStatsSchema } from './status-api.ts';

/** Bounds of one report (checked by the bootstrapper; the node trims to them before sending). */
export const MAX_REPORT_NEIGHBOURS = 256;
export const MAX_REPORT_STREAMS = 256;
export const MAX_REPORT_VIEWERS = 128;
export const MAX_REPORT_EVENTS = 64;
const MAX_NAME_CHARS = 255;
/** The largest JSON a (deflated) report body may inflate to. */
export const MAX_REPORT_JSON_BYTES = 256 * 1024;

const Name = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_NAME_CHARS));
const Count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const Ms = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(2 ** 31));
/** A node's own clock (performance.now(): ms since its start), which outgrows Ms after 24.8 days. */
const ClockMs = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const list = <T extends v.GenericSchema>(item: T, max: number) => v.pipe(v.array(item), v.maxLength(max));

/** What can happen on the overlay. `registered` and `gone` are the bootstrapper's own. */
export const EVENT_KINDS = [
  'registered',
  'gone',
  'join',
  'prune',
  'link-down',
  'link-up',
  'reroute',
  'switch',
  'failover',
  'nak',
  'stream-start',
  'stream-end',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** What a node may report: not `registered` and `gone` (the bootstrapper's) nor `failover` (the store's). */
export type ReportedEventKind = Exclude<EventKind, 'registered' | 'gone' | 'failover'>;
export const REPORTED_EVENT_KINDS = EVENT_KINDS.filter(
  (k): k is ReportedEventKind => k !== 'registered' && k !== 'gone' && k !== 'failover',
);

/** An event as a node reports it: `agoMs` before the report was made (clocks need not agree). */
export const ReportEventSchema = v.object({
  kind: v.picklist(REPORTED_EVENT_KINDS),
  agoMs: Ms,
  movie: v.optional(Name),
  /** The neighbour concerned (link events, joins, prunes), or `viewer` for a local client. */
  peer: v.optional(Name),
  /** Reroutes and switches: the old and the new upstream. */
  from: v.optional(v.nullable(Name)),
  to: v.optional(v.nullable(Name)),
  /** NAKs: how many since the last report. */
  count: v.optional(Count),
});
export type ReportEvent = v.InferOutput<typeof ReportEventSchema>;

export const ReportNeighbourSchema = v.object({
  name: Name,
  alive: v.boolean(),
  rttMs: v.nullable(Ms),
  /** Cut by fault injection (POST /faults). */
  cut: v.boolean(),
});

export const ReportStreamSchema = v.object({
  movie: Name,
  state: v.picklist(['joining', 'active']),
  upstream: v.nullable(Name),
  downstream: list(Name, MAX_REPORT_NEIGHBOURS),
  /** Local viewers (POPs). */
  clients: Count,
  /** Bytes received (cumulative): the link's traffic, from the difference between two reports. */
  bytesIn: Count,
});
export type ReportStream = v.InferOutput<typeof ReportStreamSchema>;

export const TelemetryReportSchema = v.object({
  /** The node's clock (ms, monotonic): only differences between its reports mean anything. */
  at: ClockMs,
  /** The rows below are all there is (the rest of the node's rows are gone); else they are changes. */
  full: v.optional(v.literal(true)),
  /** Rows that changed (keyed by name, movie and id), and the streams and viewers that went away. */
  neighbours: v.optional(list(ReportNeighbourSchema, MAX_REPORT_NEIGHBOURS)),
  streams: v.optional(list(ReportStreamSchema, MAX_REPORT_STREAMS)),
  streamsEnded: v.optional(list(Name, MAX_REPORT_STREAMS)),
  viewers: v.optional(
    list(
      v.lazy(() => ViewerStatsSchema),
      MAX_REPORT_VIEWERS,
    ),
  ),
  viewersGone: v.optional(list(Name, MAX_REPORT_VIEWERS)),
  /** The events since the last report (absent: none). */
  events: v.optional(list(ReportEventSchema, MAX_REPORT_EVENTS)),
  /** Events this node dropped (queue full), since it started (absent: none). */
  droppedEvents: v.optional(Count),
  /** What reporting costs the node, cumulative since it started (sent with full reports). */
  cost: v.optional(v.object({ sentBytes: Count, busyMs: ClockMs })),
});
export type TelemetryReport = v.InferOutput<typeof TelemetryReportSchema>;
export type ReportNeighbour = v.InferOutput<typeof ReportNeighbourSchema>;

/** A report as its body travels (report-body.ts: JSON, deflated when that is shorter). */
export function encodeTelemetryReport(r: TelemetryReport): string {
  return packReportBody(JSON.stringify(r));
}

/** A report's body (the sealed text: JSON, or deflated JSON), validated; never throws. */
export function decodeTelemetryReport(body: string): { ok: true; value: TelemetryReport } | { ok: false } {
  const text = unpackReportBody(body, MAX_REPORT_JSON_BYTES);
  if (text === null) return { ok: false };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false };
  }
  const r = v.safeParse(TelemetryReportSchema, raw);
  return r.success ? { ok: true, value: r.output } : { ok: false };
}

// ---- What the bootstrapper serves: GET /overlay and every GET /feed update. ----

export const DashboardNodeSchema = v.object({
  name: v.string(),
  role: v.picklist(['server', 'node', 'pop']),
  registered: v.boolean(),
  /** The bootstrapper itself runs this node. */
  bootstrapper: v.boolean(),
  /** How long ago its last report arrived (ms), null before the first. */
  reportAgoMs: v.nullable(v.number()),
  /** The node's last reported reporting cost: its clock (ms), bytes sent and time spent, cumulative. */
  cost: v.nullable(v.object({ at: v.number(), sentBytes: v.number(), busyMs: v.number() })),
});

export const DashboardLinkSchema = v.object({
  a: v.string(),
  b: v.string(),
  /** The smaller of the two ends' measured RTTs, null when neither has one. */
  rttMs: v.nullable(v.number()),
  /** Up at both registered ends (a gone node's links are down). */
  alive: v.boolean(),
  /** Cut by fault injection at either end. */
  cut: v.boolean(),
  /** Stream traffic over the link, both directions, kbit/s. */
  kbps: v.number(),
});

export const TreeEdgeSchema = v.object({ from: v.string(), to: v.string(), kbps: v.number() });

export const MovieTreeSchema = v.object({
  movie: v.string(),
  /** The server at the root, null while no node reports one. */
  server: v.nullable(v.string()),
  edges: v.array(TreeEdgeSchema),
  /** POPs serving the movie to local viewers. */
  pops: v.array(v.string()),
});

export const DashboardEventSchema = v.object({
  /** Increasing: the page names an event by it. */
  id: v.number(),
  /** Wall clock of the bootstrapper, ms since the epoch. */
  at: v.number(),
  node: v.string(),
  kind: v.picklist(EVENT_KINDS),
  movie: v.optional(v.string()),
  peer: v.optional(v.string()),
  from: v.optional(v.nullable(v.string())),
  to: v.optional(v.nullable(v.string())),
  count: v.optional(v.number()),
});

export const DashboardStateSchema = v.object({
  /** Wall clock of the bootstrapper, ms since the epoch. */
  at: v.number(),
  /** Increases with every change the feed sends. */
  version: v.number(),
  nodes: v.array(DashboardNodeSchema),
  links: v.array(DashboardLinkSchema),
  movies: v.array(MovieTreeSchema),
  viewers: v.array(v.lazy(() => ViewerStatsSchema)),
  /** The latest events, oldest first. */
  events: v.array(DashboardEventSchema),
  counters: v.record(v.string(), v.number()),
});

export type DashboardNode = v.InferOutput<typeof DashboardNodeSchema>;
export type DashboardLink = v.InferOutput<typeof DashboardLinkSchema>;
export type TreeEdge = v.InferOutput<typeof TreeEdgeSchema>;
export type MovieTree = v.InferOutput<typeof MovieTreeSchema>;
export type DashboardEvent = v.InferOutput<typeof DashboardEventSchema>;
export type DashboardState = v.InferOutput<typeof DashboardStateSchema>;
