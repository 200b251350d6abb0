/**
 * The JSON of a node's GET /status: one schema for the node that writes it and every program that
 * reads it (`onode status`, tests, benchmarks). Counters are open records: a reader names the ones
 * it needs, and new counters never break an older reader.
 */
import * as v from 'valibot';

/** A group of counters: an object of numbers (or nested groups), read by name. */
const Counters = v.custom<object>(
  (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
  'expected an object',
);
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
});

export const MovieStatusSchema = v.object({
  name: v.string(),
  fps: v.number(),
  width: v.number(),
  height: v.number(),
  frames: v.number(),
});

export const SessionStatusSchema = v.object({
  movie: v.string(),
  client: v.string(),
  state: v.string(),
  packets: v.number(),
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
  recovery: v.optional(Counters),
  catalogue: v.optional(v.pipe(v.array(MovieStatusSchema), v.readonly())),
  sessions: v.optional(v.array(SessionStatusSchema)),
  counters: v.optional(v.record(v.string(), v.optional(Counters))),
  registered: v.optional(Strings),
  /** The stream-signing keys this node knows (key ids, never key material it should not share). */
  serverKeys: v.optional(v.array(v.object({ server: v.string(), keyId: v.string() }))),
  /** A server's own signing key id. */
  signingKeyId: v.optional(v.string()),
});

export type StatusReport = v.InferOutput<typeof StatusReportSchema>;

/** Parses GET /status's body; the error names the first field that does not fit. */
export function parseStatusReport(json: unknown): { ok: true; value: StatusReport } | { ok: false; error: string } {
  const r = v.safeParse(StatusReportSchema, json);
  if (r.success) return { ok: true, value: r.output };
  const first = r.issues[0];
  const path = first?.path?.map((p) => String(p.key)).join('.') ?? '';
  return { ok: false, error: `${path === '' ? '' : `${path}: `}${first?.message ?? 'invalid'}` };
}
