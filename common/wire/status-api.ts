/**
 * The JSON of a node's GET /status: one schema for the node that writes it and every program that
 * reads it (`onode status`, tests, benchmarks). Counters are open records: a reader names the ones
 * it needs, and new counters never break an older reader.
 */
import * as v from 'valibot';
import { describeIssue } from './ops-api.ts';

/** A group of counters, read by name: a reader names the ones it needs, new ones never break it. */
const CounterGroup = v.record(v.string(), v.number());
const Strings = v.pipe(v.array(v.string()), v.readonly());

export const NeighbourStatusSchema = v.object({
  name: v.string(),
  address: v.nullable(v.string()),
  alive: v.boolean(),
  rttMs: v.nullable(v.number()),
  failures: v.number(),
});

export const RouteStatusSchema = v.object({
  server: v.string(),
  via: v.string(),
  latencyMs: v.number(),
  hops: v.number(),
});

export const StreamStatusSchema = v.object({
  movie: v.string(),
  state: v.string(),
  upstream: v.nullable(v.string()),
  rootPath: Strings,
  downstream: Strings,
  /** Viewers at this node, by client address (never by session id). */
  clients: Strings,
  packetsIn: v.number(),
  bytesIn: v.number(),
  packetsOut: v.number(),
  bytesOut: v.number(),
  strayPackets: v.number(),
  duplicates: v.number(),
  repaired: v.number(),
});

export const MovieStatusSchema = v.object({
  name: v.string(),
  fps: v.number(),
  width: v.number(),
  height: v.number(),
  frames: v.number(),
});

/** A viewer's RTSP session, named by a label: never by its id, which is the viewer's credential. */
export const SessionStatusSchema = v.object({
  viewer: v.string(),
  movie: v.string(),
  client: v.string(),
  transport: v.string(),
  state: v.string(),
  packets: v.number(),
  retransmitted: v.number(),
  packetsDropped: v.number(),
  framesDropped: v.number(),
});

/** Failures survived, and the last tree event worth showing (reroute, repair, failure). */
export const RecoveryStatusSchema = v.object({
  linkFailures: v.number(),
  reroutes: v.number(),
  switches: v.number(),
  repairsRequested: v.number(),
  repairsServed: v.number(),
  lastEvent: v.nullable(v.object({ at: v.number(), movie: v.string(), what: v.string(), agoMs: v.number() })),
});

/** The node's counters by part; a part the node does not have (RTSP on a relay) is absent. */
export const CountersStatusSchema = v.object({
  transport: v.optional(CounterGroup),
  tree: v.optional(CounterGroup),
  routing: v.optional(CounterGroup),
  node: v.optional(CounterGroup),
  routes: v.optional(CounterGroup),
  /** POPs: the RTSP sessions' counters (numbers, read by name); the connections' and the viewer table's as groups. */
  rtsp: v.optional(v.looseObject({ connections: CounterGroup, viewers: v.optional(CounterGroup) })),
  verify: v.optional(CounterGroup),
  sign: v.optional(CounterGroup),
  bootstrapper: v.optional(CounterGroup),
  registration: v.optional(CounterGroup),
  ops: v.optional(CounterGroup),
  /** Servers: time requests sent, answers taken and refused (onode/core/time-sync.ts). */
  time: v.optional(CounterGroup),
});

/**
 * A server's clock against the reference (the bootstrapper's clock, ms since 1970): reference time =
 * this host's ms since 1970 + offsetMs, within errorMs (null before the first sample). On the
 * bootstrapper (reference 'self') both are 0.
 */
export const ClockStatusSchema = v.object({
  reference: v.picklist(['bootstrapper', 'self']),
  synced: v.boolean(),
  offsetMs: v.number(),
  errorMs: v.nullable(v.number()),
  /** Samples in the estimate's window. */
  samples: v.number(),
});

export const StatusReportSchema = v.object({
  name: v.nullable(v.string()),
  role: v.string(),
  pid: v.number(),
  state: v.optional(v.literal('starting')),
  addresses: v.optional(Strings),
  uptimeSec: v.optional(v.number()),
  bootstrapper: v.optional(v.string()),
  neighbours: v.optional(v.array(NeighbourStatusSchema)),
  routes: v.optional(v.array(RouteStatusSchema)),
  streams: v.optional(v.array(StreamStatusSchema)),
  faults: v.optional(v.object({ cut: Strings })),
  recovery: v.optional(RecoveryStatusSchema),
  catalogue: v.optional(v.pipe(v.array(MovieStatusSchema), v.readonly())),
  sessions: v.optional(v.array(SessionStatusSchema)),
  counters: v.optional(CountersStatusSchema),
  registered: v.optional(Strings),
  /** The stream-signing keys this node knows (key ids, never key material it should not share). */
  serverKeys: v.optional(v.array(v.object({ server: v.string(), keyId: v.string() }))),
  /** A server's own signing key id. */
  signingKeyId: v.optional(v.string()),
  /** Servers: their clock against the reference. */
  clock: v.optional(ClockStatusSchema),
});

/** What GET /status answers and NodeProcess.report() returns: the one type every reader uses. */
export type StatusReport = v.InferOutput<typeof StatusReportSchema>;
export type NeighbourStatus = v.InferOutput<typeof NeighbourStatusSchema>;
export type RouteStatus = v.InferOutput<typeof RouteStatusSchema>;
export type StreamStatus = v.InferOutput<typeof StreamStatusSchema>;
export type SessionStatus = v.InferOutput<typeof SessionStatusSchema>;
export type CountersStatus = v.InferOutput<typeof CountersStatusSchema>;
export type ClockStatus = v.InferOutput<typeof ClockStatusSchema>;

/**
 * One viewer's playback as its POP knows it: from the oclient's own reports (player "oclient"),
 * or from the RTCP receiver reports of any other player (player "rtsp", fewer fields). POPs list
 * theirs; the bootstrapper's GET /viewers lists every POP's. Named by a label, never by the RTSP
 * session id (the viewer's credential). Times are the POP's clock, ms since the epoch.
 */
export const ViewerStatsSchema = v.object({
  /** Unique at the POP: "POP/label". */
  id: v.string(),
  pop: v.string(),
  movie: v.string(),
  /** The viewer's address:port as the POP sees it. */
  client: v.string(),
  player: v.picklist(['oclient', 'rtsp']),
  /** PLAY accepted (the POP's clock). */
  startedAt: v.number(),
  /** The last report or receiver report. */
  updatedAt: v.number(),
  /** Playing, paused, or gone (TEARDOWN or timeout; kept a while so the end shows). */
  state: v.picklist(['playing', 'paused', 'gone']),
  startupMs: v.nullable(v.number()),
  fps: v.nullable(v.number()),
  bitrateKbps: v.nullable(v.number()),
  framesReceived: v.nullable(v.number()),
  framesLost: v.nullable(v.number()),
  /** Cumulative packets lost (RTCP RR) and the last interval's fraction lost, 0..1. */
  packetsLost: v.number(),
  fractionLost: v.number(),
  jitterMs: v.nullable(v.number()),
  longestStallMs: v.nullable(v.number()),
  failovers: v.nullable(v.number()),
  /** The oclient's counters over every session of its playback (all POPs), when it reports them. */
  total: v.optional(v.object({ framesReceived: v.number(), framesLost: v.number() })),
});
export type ViewerStats = v.InferOutput<typeof ViewerStatsSchema>;

/** GET /viewers, on a POP (its own) and on the bootstrapper (every POP's). */
export const ViewersReportSchema = v.object({
  at: v.number(),
  viewers: v.array(ViewerStatsSchema),
});
export type ViewersReport = v.InferOutput<typeof ViewersReportSchema>;

/** Parses GET /status's body; the error names the first field that does not fit. */
export function parseStatusReport(json: unknown): { ok: true; value: StatusReport } | { ok: false; error: string } {
  const r = v.safeParse(StatusReportSchema, json);
  return r.success ? { ok: true, value: r.output } : { ok: false, error: describeIssue(r.issues) };
}

// The dashboard's JSON (node reports, GET /overlay, GET /feed), defined beside this one.
export * from './dashboard-api.ts';
