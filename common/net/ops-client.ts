/** Calls a node's mutating operations endpoints with its bearer token (onode fault, tests, benchmarks). */
import * as v from 'valibot';
import { FaultsReplySchema, type FaultsReply, type FaultsRequest, OpsErrorSchema } from '../wire/ops-api.ts';

export type FaultsOutcome =
  | { readonly ok: true; readonly reply: FaultsReply }
  | { readonly ok: false; readonly status: number; readonly error: string };

export async function postFaults(
  target: { host: string; port: number },
  token: string,
  body: FaultsRequest,
  timeoutMs = 3000,
): Promise<FaultsOutcome> {
  const res = await fetch(`http://${target.host}:${target.port}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const json: unknown = await res.json().catch(() => undefined);
  if (res.ok) {
    const reply = v.safeParse(FaultsReplySchema, json);
    if (reply.success) return { ok: true, reply: reply.output };
    return { ok: false, status: res.status, error: 'the node answered with an unexpected body' };
  }
  const err = v.safeParse(OpsErrorSchema, json);
  return { ok: false, status: res.status, error: err.success ? err.output.error : `HTTP ${res.status}` };
}
