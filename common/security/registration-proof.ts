/**
 * The MACs of the registration handshake, both keyed with the node's key (nodeKey(secret, name)):
 *
 *   prove = HMAC(key, "onode/register/prove/v1" ‖ name ‖ node nonce ‖ bootstrapper nonce ‖ signing key)
 *   seal  = HMAC(key, "onode/register/seal/v1"  ‖ name ‖ node nonce ‖ bootstrapper nonce ‖ seq ‖ body)
 *   report = HMAC(key, "onode/register/report/v1" ‖ name ‖ node nonce ‖ bootstrapper nonce ‖ seq ‖ body)
 *
 * The node's proof shows it holds the key of the name its address maps to, for this connection
 * only (the bootstrapper's fresh nonce): a recorded proof is worthless on another connection. The
 * seal shows the bootstrapper holds it too, for this connection (the node's fresh nonce) and for
 * the exact body the node parses, so an impostor can feed neither neighbours nor keys. Each part
 * is length-prefixed, so no two different inputs hash the same bytes.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { equalBytes } from './equal-bytes.ts';

export const NONCE_BYTES = 32;
const PROVE_LABEL = 'onode/register/prove/v1';
const SEAL_LABEL = 'onode/register/seal/v1';
/** The node's reports to the bootstrapper: another label, so no sealed message can be reflected as one. */
const REPORT_LABEL = 'onode/register/report/v1';

export interface Session {
  readonly name: string;
  readonly nodeNonce: string;
  readonly bootNonce: string;
}

/** A fresh random nonce, base64. */
export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64');
}

export function proveMac(key: Buffer, s: Session, signingKey: string): string {
  return mac(key, PROVE_LABEL, [s.name, s.nodeNonce, s.bootNonce, signingKey]);
}

export function sealMac(key: Buffer, s: Session, seq: number, body: string): string {
  return mac(key, SEAL_LABEL, [s.name, s.nodeNonce, s.bootNonce, String(seq), body]);
}

export function reportMac(key: Buffer, s: Session, seq: number, body: string): string {
  return mac(key, REPORT_LABEL, [s.name, s.nodeNonce, s.bootNonce, String(seq), body]);
}

/** Constant-time comparison of two base64 MACs (false if either is not a full MAC). */
export function macEquals(expected: string, got: string): boolean {
  const a = Buffer.from(expected, 'base64');
  const b = Buffer.from(got, 'base64');
  return a.length === 32 && equalBytes(a, b);
}

function mac(key: Buffer, label: string, parts: readonly string[]): string {
  const h = createHmac('sha256', key);
  for (const p of [label, ...parts]) {
    const bytes = Buffer.from(p, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    h.update(len).update(bytes);
  }
  return h.digest('base64');
}
