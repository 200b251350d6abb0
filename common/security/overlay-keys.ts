/**
 * Keys derived from the overlay secret, the one secret the operator gives every node
 * (`--secret FILE` or ONODE_SECRET). Each use gets its own key (HMAC-SHA256 as a KDF with a
 * label), so a key leaked from one use (an operations token in a script) reveals nothing of the
 * others, and nothing on the wire is ever keyed with the secret itself.
 */
import { createHmac, randomBytes } from 'node:crypto';

/** Fewer bytes than this is a password, not a key. */
export const MIN_SECRET_BYTES = 16;
export const KEY_BYTES = 32;

export class SecretError extends Error {
  override readonly name = 'SecretError';
}

/** HMAC-SHA256(secret, label ‖ 0 ‖ part ‖ 0 ‖ part …): labels and parts never run into each other. */
export function deriveKey(secret: Buffer, label: string, ...parts: readonly string[]): Buffer {
  const h = createHmac('sha256', secret).update(label, 'utf8');
  for (const p of parts) h.update('\0', 'utf8').update(p, 'utf8');
  return h.digest();
}

/** The key every overlay datagram is authenticated with: held by the overlay's members only. */
export function overlayMacKey(secret: Buffer): Buffer {
  return deriveKey(secret, 'onode/overlay-mac/v1');
}

/** A node's own key: proves its identity when it registers with the bootstrapper. */
export function nodeKey(secret: Buffer, name: string): Buffer {
  return deriveKey(secret, 'onode/node/v1', name);
}

/** The bearer token of a node's mutating operations endpoints (POST /faults). */
export function opsToken(secret: Buffer): string {
  return deriveKey(secret, 'onode/ops-token/v1').toString('hex');
}

/** A new overlay secret as text (64 hex digits), what `onode secret` prints and the runners generate. */
export function generateSecret(): string {
  return randomBytes(KEY_BYTES).toString('hex');
}

/** Parses the text of a secret file or ONODE_SECRET: surrounding whitespace is ignored. */
export function parseSecret(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const bytes = Buffer.from(trimmed, 'utf8');
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new SecretError(
      `${where}: the overlay secret must be at least ${MIN_SECRET_BYTES} characters; ` +
        `make one with: onode secret > overlay.secret`,
    );
  }
  return bytes;
}
