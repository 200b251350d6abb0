/**
 * A node's side of the registration handshake, without sockets: the register message with this
 * connection's nonce, the proof answering the bootstrapper's challenge, and the check of every
 * sealed message the bootstrapper sends afterwards (MAC under the node's key, over both nonces,
 * a sequence number that only grows, and the exact body).
 */
import { nodeKey } from '../../common/security/overlay-keys.ts';
import {
  macEquals,
  newNonce,
  proveMac,
  reportMac,
  sealMac,
  type Session,
} from '../../common/security/registration-proof.ts';
import { decodeSealedBody, type BootstrapMessage, type SealedMessage } from '../../common/wire/bootstrap.ts';
import { fail, ok, type Decoded, type DecodeFailure } from '../../common/wire/result.ts';

/** 'gap': a sealed message went missing (TCP delivers in order, so only someone on the path drops one). */
export type OpenFailure = DecodeFailure | 'not-challenged' | 'bad-mac' | 'replayed' | 'gap';
type Sealed = Omit<Extract<BootstrapMessage, { type: 'sealed' }>, 'type'>;

export class Registrant {
  readonly nonce: string;
  private session: Session | null = null;
  private key: Buffer | null = null;
  private lastSeq = -1;
  private reportSeq = 0;

  /**
   * @param signingKey a server's stream-signing public key (base64 of the raw 32 bytes), covered by the proof
   */
  constructor(
    private readonly secret: Buffer,
    private readonly pid: number,
    private readonly signingKey?: string,
    nonce: string = newNonce(),
  ) {
    this.nonce = nonce;
  }

  /** The name the bootstrapper challenged this node as (null before the challenge). */
  get name(): string | null {
    return this.session?.name ?? null;
  }

  register(): BootstrapMessage {
    return { type: 'register', pid: this.pid, nonce: this.nonce };
  }

  /** The proof for a challenge: this node holds the key of the name its address maps to. */
  prove(challenge: { readonly name: string; readonly nonce: string }): BootstrapMessage {
    const session: Session = { name: challenge.name, nodeNonce: this.nonce, bootNonce: challenge.nonce };
    this.session = session;
    this.key = nodeKey(this.secret, challenge.name);
    const mac = proveMac(this.key, session, this.signingKey ?? '');
    return this.signingKey === undefined ? { type: 'prove', mac } : { type: 'prove', mac, signingKey: this.signingKey };
  }

  /** A telemetry report for the bootstrapper, MAC'd for this connection (null before the challenge). */
  report(body: string): BootstrapMessage | null {
    if (this.session === null || this.key === null) return null;
    const seq = this.reportSeq++;
    return { type: 'report', seq, body, mac: reportMac(this.key, this.session, seq, body) };
  }

  /** The message inside a sealed envelope, if the real bootstrapper sealed it for this connection. */
  open(sealed: Sealed): Decoded<SealedMessage, OpenFailure> {
    if (this.session === null || this.key === null) return fail('not-challenged');
    if (!macEquals(sealMac(this.key, this.session, sealed.seq, sealed.body), sealed.mac)) return fail('bad-mac');
    if (sealed.seq <= this.lastSeq) return fail('replayed');
    if (sealed.seq !== this.lastSeq + 1) return fail('gap');
    this.lastSeq = sealed.seq;
    const inner = decodeSealedBody(sealed.body);
    return inner.ok ? ok(inner.value) : inner;
  }
}
