/**
 * The client's check of every frame before it is shown or written: the frame's first packet must
 * carry a signature of one of the servers the bootstrapper named at login, for the movie being
 * played, and every other packet must match the hash the frame lists for it
 * (common/security/frame-signature.ts). Sans I/O: the session hands it each complete frame.
 */
import { type FrameRejection, verifyFrame } from '../../common/security/frame-signature.ts';
import { ServerKeyring } from '../../common/security/server-keyring.ts';
import { TypedEmitter } from '../../common/core/typed-emitter.ts';

/** The servers' keys as the login welcome lists them: base64 of the raw 32-byte Ed25519 key. */
export interface ServerKeyText {
  readonly server: string;
  readonly key: string;
}

export interface FrameVerifyCounters {
  framesVerified: number;
  framesRejected: number;
  /** Rejected frames by reason. */
  readonly reasons: Partial<Record<FrameRejection, number>>;
}

export interface FrameVerifierEvents {
  /** A frame named a key the login did not list (a server that restarted since, with a new key): time to ask again. */
  'unknown-key': [];
}

export class FrameVerifier {
  readonly counters: FrameVerifyCounters = { framesVerified: 0, framesRejected: 0, reasons: {} };
  readonly events = new TypedEmitter<FrameVerifierEvents>();

  constructor(
    private readonly movie: string,
    private readonly keys: ServerKeyring,
  ) {}

  /** True when the frame (its packets in sequence order) is the movie's, signed by a known server. */
  check(packets: readonly Buffer[]): boolean {
    const verdict = verifyFrame(packets, this.movie, (id) => this.keys.byKeyId(id)?.key);
    if (verdict.ok) {
      this.counters.framesVerified++;
      return true;
    }
    this.counters.framesRejected++;
    this.counters.reasons[verdict.reason] = (this.counters.reasons[verdict.reason] ?? 0) + 1;
    if (verdict.reason === 'unknown-key') this.events.emit('unknown-key');
    return false;
  }
}

/** The login's server keys as a keyring; `invalid` names servers whose key is not an Ed25519 key. */
export function keyringFromLogin(serverKeys: readonly ServerKeyText[]): { keyring: ServerKeyring; invalid: string[] } {
  const keyring = new ServerKeyring();
  const invalid: string[] = [];
  for (const k of serverKeys) if (!keyring.set(k.server, Buffer.from(k.key, 'base64'))) invalid.push(k.server);
  return { keyring, invalid };
}
