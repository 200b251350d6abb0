/**
 * A telemetry report's body as it travels inside the sealed `report` line: the JSON text, or, when
 * that is shorter on the wire, `z:` and the base64 of its raw deflate. Reports repeat the same keys
 * in every row (neighbours, streams, viewers), so deflate halves the larger ones; and base64 has no
 * quotes, which inside the line's JSON string would each cost a backslash.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';

const PREFIX = 'z:';
/** Bodies shorter than this stay JSON: deflate's header and base64 cost more than they save. */
const COMPRESS_FROM = 160;

/** The bytes a body takes inside the line (a JSON string: quotes and backslashes double). */
export function wireBytes(body: string): number {
  return Buffer.byteLength(JSON.stringify(body));
}

export function packReportBody(json: string): string {
  if (json.length < COMPRESS_FROM) return json;
  const packed = PREFIX + deflateRawSync(json).toString('base64');
  return wireBytes(packed) < wireBytes(json) ? packed : json;
}

/** The JSON text of a body, or null when it is not one (bad base64 or deflate, or inflating past maxBytes). */
export function unpackReportBody(body: string, maxBytes: number): string | null {
  if (!body.startsWith(PREFIX)) return body;
  try {
    // maxOutputLength: a small body must not inflate into a large one (a deflate bomb).
    return inflateRawSync(Buffer.from(body.slice(PREFIX.length), 'base64'), { maxOutputLength: maxBytes }).toString();
  } catch {
    return null;
  }
}
