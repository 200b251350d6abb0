/**
 * The playback report an oclient sends its POP every few seconds while it plays: the body of an
 * RTSP SET_PARAMETER (RFC 2326 §10.9) on the session's own control connection, as JSON of
 * content type VIEWER_STATS_CONTENT_TYPE. The POP puts it in its viewer table (GET /viewers).
 *
 * Why SET_PARAMETER and not RTCP APP/XR: the RTSP connection is reliable and names the session
 * by its secret id, which the POP checks against the connection that made it; RTCP over UDP is
 * matched by source address and port only, which anyone on the path can forge. JSON keeps the
 * format open to new fields; the size cap and the schema keep it cheap to refuse.
 */
import * as v from 'valibot';
import { type Decoded, fail, ok } from './result.ts';

export const VIEWER_STATS_CONTENT_TYPE = 'application/x-onode-viewer-stats';
/** A report is about 300 bytes; anything larger is refused before parsing. */
export const MAX_VIEWER_REPORT_BYTES = 1024;
/** The format's version; a POP refuses others (as 'unsupported'). */
export const VIEWER_REPORT_VERSION = 1;

const Count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
/** Rates and durations: finite, non-negative, and bounded so a sum over viewers stays finite. */
const Amount = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1e9));

const ViewerReportSchema = v.object({
  v: v.literal(VIEWER_REPORT_VERSION),
  /** SETUP sent → first complete frame, in this session; null before it. */
  startupMs: v.nullable(Amount),
  /** Over the last second. */
  fps: Amount,
  bitrateKbps: Amount,
  /** This session's counters (each session at a POP counts from zero). */
  framesReceived: Count,
  framesLost: Count,
  packetsReceived: Count,
  packetsLost: Count,
  jitterMs: Amount,
  /** The longest time without a frame after this session's first one (including an ongoing one). */
  longestStallMs: Amount,
  /** The client's failovers so far, over every POP it played this movie from. */
  failovers: Count,
  /** The client's counters over every session of this playback, where it keeps them. */
  total: v.optional(v.object({ framesReceived: Count, framesLost: Count })),
  /** Over the whole playback (every session): frames shown twice; 0 unless something is wrong. */
  framesRepeated: v.optional(Count),
  /** Frames of the movie's timeline never shown between two that were (a jump forward). */
  framesSkipped: v.optional(Count),
  /** Frames dropped because they had been shown already (a POP's fast start resending one). */
  framesDuplicate: v.optional(Count),
});

export type ViewerReport = v.InferOutput<typeof ViewerReportSchema>;
export type ViewerReportFailure = 'oversize' | 'malformed' | 'unsupported';

export function encodeViewerReport(report: ViewerReport): Buffer {
  return Buffer.from(JSON.stringify(report));
}

/** Never throws: a body over the cap, not JSON, or not the schema is a failure with its reason. */
export function decodeViewerReport(body: Buffer): Decoded<ViewerReport, ViewerReportFailure> {
  if (body.length > MAX_VIEWER_REPORT_BYTES) return fail('oversize');
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return fail('malformed');
  }
  if (typeof json === 'object' && json !== null && 'v' in json && json.v !== VIEWER_REPORT_VERSION) {
    return fail('unsupported');
  }
  const r = v.safeParse(ViewerReportSchema, json);
  return r.success ? ok(r.output) : fail('malformed');
}
