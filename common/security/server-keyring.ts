/**
 * The servers' stream-signing public keys (Ed25519, 32 raw bytes), as the bootstrapper
 * distributes them: who may originate a stream, looked up by server name or by key id (the
 * first 8 bytes of SHA-256 of the key, which signed frames carry).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const KEY_ID_BYTES = 8;
/** The DER prefix that wraps a raw Ed25519 public key as SubjectPublicKeyInfo. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface ServerKey {
  readonly server: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly raw: Buffer;
  readonly keyId: string;
  readonly key: KeyObject;
}

export function keyIdOf(raw: Buffer): Buffer {
  return createHash('sha256').update(raw).digest().subarray(0, KEY_ID_BYTES);
}

/** A raw Ed25519 public key as a KeyObject, or undefined when it is not one. */
export function ed25519PublicKey(raw: Buffer): KeyObject | undefined {
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) return undefined;
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

/** The raw 32 bytes of an Ed25519 public KeyObject. */
export function rawEd25519(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length);
}

type Listener = (key: ServerKey) => void;

export class ServerKeyring {
  private readonly byServer = new Map<string, ServerKey>();
  private readonly byId = new Map<string, ServerKey>();
  private readonly listeners: Listener[] = [];

  /** Sets (or replaces, after a server restarts) a server's key; false if the bytes are not a key. */
  set(server: string, raw: Buffer): boolean {
    const key = ed25519PublicKey(raw);
    if (key === undefined) return false;
    const old = this.byServer.get(server);
    if (old?.raw.equals(raw)) return true;
    if (old !== undefined) this.byId.delete(old.keyId);
    const entry: ServerKey = { server, raw: Buffer.from(raw), keyId: keyIdOf(raw).toString('hex'), key };
    this.byServer.set(server, entry);
    this.byId.set(entry.keyId, entry);
    for (const l of this.listeners) {
      try {
        l(entry);
      } catch {
        // a listener's bug must not stop the others from learning the key
      }
    }
    return true;
  }

  get(server: string): ServerKey | undefined {
    return this.byServer.get(server);
  }

  byKeyId(id: Buffer | string): ServerKey | undefined {
    return this.byId.get(typeof id === 'string' ? id : id.toString('hex'));
  }

  list(): ServerKey[] {
    return [...this.byServer.values()].sort((a, b) => (a.server < b.server ? -1 : 1));
  }

  /** Called for every new or changed key (e.g. to release frames that waited for it). */
  onKey(listener: Listener): void {
    this.listeners.push(listener);
  }
}
