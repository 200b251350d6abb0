/**
 * Logs in at the bootstrapper: the POP list (client-facing addresses), the movie catalogue and
 * every server's stream-signing public key (to verify the frames a POP passes on).
 */
import { BootstrapConnection, BootstrapUnreachable } from '../../common/net/bootstrap-connection.ts';
import type { PopInfo, ServerKeyInfo } from '../../common/wire/bootstrap.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';

export interface Welcome {
  readonly pops: readonly PopInfo[];
  readonly catalogue: readonly MovieInfo[];
  /** Each server's Ed25519 public key, base64 of the raw 32 bytes. */
  readonly serverKeys: readonly ServerKeyInfo[];
}

export async function login(host: string, port: number, localAddress?: string, timeoutMs = 3000): Promise<Welcome> {
  const conn = await BootstrapConnection.open({ host, port, ...(localAddress ? { localAddress } : {}) }, timeoutMs);
  try {
    const reply = conn.next(timeoutMs);
    conn.send({ type: 'login' });
    const msg = await reply;
    if (msg.type === 'welcome') return { pops: msg.pops, catalogue: msg.catalogue, serverKeys: msg.serverKeys };
    throw new BootstrapUnreachable(
      msg.type === 'error'
        ? `the bootstrapper refused the login: ${msg.detail}`
        : `unexpected ${msg.type} from the bootstrapper`,
    );
  } finally {
    conn.close();
  }
}
