/**
 * The operations API of every node (its status HTTP port): the JSON of POST /faults, and the
 * header rules of every mutating request. One schema per body, shared by the node, `onode fault`,
 * tests and benchmarks.
 */
import * as v from 'valibot';
import { isNodeName } from './names.ts';

/** A mutating request carries `Authorization: Bearer TOKEN` (opsToken of the overlay secret). */
export const OPS_AUTH_SCHEME = 'Bearer';
export const MAX_OPS_BODY_BYTES = 4096;
const MAX_FAULT_NAMES = 256;

/** The names of the topology's nodes, by the one rule every codec uses (names.ts). */
const NodeName = v.custom<string>(isNodeName, 'not a node name');

export const FaultsRequestSchema = v.strictObject({
  cut: v.optional(v.pipe(v.array(NodeName), v.maxLength(MAX_FAULT_NAMES))),
  restore: v.optional(v.pipe(v.array(NodeName), v.maxLength(MAX_FAULT_NAMES))),
});
export type FaultsRequest = v.InferOutput<typeof FaultsRequestSchema>;

export const FaultsReplySchema = v.object({
  name: v.string(),
  cut: v.array(v.string()),
});
export type FaultsReply = v.InferOutput<typeof FaultsReplySchema>;

export const OpsErrorSchema = v.object({ error: v.string() });

/** The first problem valibot found, as "field: message", for an HTTP 400 body. */
export function describeIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (first === undefined) return 'invalid body';
  const path = first.path?.map((p) => String(p.key)).join('.') ?? '';
  return path === '' ? first.message : `${path}: ${first.message}`;
}
