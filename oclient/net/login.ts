/**
 * Logs in at the bootstrapper: the POP list (client-facing addresses), the movie catalogue and
 * every server's stream-signing public key (to verify the frames a POP passes on). With several
 * bootstrappers, the first that answers in order (loginFirst).
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

/** How long a login may wait to connect, and again for the welcome (one bootstrapper). */
export const LOGIN_TIMEOUT_MS = 3000;
/**
 * With several bootstrappers, how long one may take to connect and answer before the next is
 * tried: a live one answers in a round trip, so a dead or stalled one costs the client well under 1 s.
 */
export const LOGIN_FAILOVER_MS = 300;

export interface LoginTarget {
  readonly host: string;
  readonly port: number;
}

/** One login attempt: `timeoutMs` to connect and again to be answered, or `totalMs` for both together. */
export type LoginAttempt = (target: LoginTarget, timeoutMs: number, totalMs?: number) => Promise<Welcome>;

export async function login(
  host: string,
  port: number,
  localAddress?: string,
  timeoutMs = LOGIN_TIMEOUT_MS,
  totalMs?: number,
): Promise<Welcome> {
  const started = performance.now();
  const connectMs = Math.min(timeoutMs, totalMs ?? timeoutMs);
  const conn = await BootstrapConnection.open({ host, port, ...(localAddress ? { localAddress } : {}) }, connectMs);
  try {
    const left = totalMs === undefined ? timeoutMs : Math.max(1, totalMs - (performance.now() - started));
    const reply = conn.next(left);
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

/**
 * Logs in at the first of `targets` that answers, in order. One bootstrapper: a plain login. Several:
 * each gets LOGIN_FAILOVER_MS in all (to connect and answer), a refusal or failure moves on to the
 * next; if none answered in time, each is asked once more with the full timeouts (slow beats none).
 * @throws BootstrapUnreachable saying why each failed
 */
export async function loginFirst(
  targets: readonly LoginTarget[],
  localAddress?: string,
  attempt: LoginAttempt = (t, timeoutMs, totalMs) => login(t.host, t.port, localAddress, timeoutMs, totalMs),
): Promise<Welcome & { readonly from: LoginTarget }> {
  // [timeoutMs, totalMs] per round.
  const rounds: [number, number | undefined][] =
    targets.length > 1
      ? [
          [LOGIN_FAILOVER_MS, LOGIN_FAILOVER_MS],
          [LOGIN_TIMEOUT_MS, undefined],
        ]
      : [[LOGIN_TIMEOUT_MS, undefined]];
  const why: string[] = [];
  for (const [timeoutMs, totalMs] of rounds) {
    for (const t of targets) {
      try {
        return { ...(await attempt(t, timeoutMs, totalMs)), from: t };
      } catch (err) {
        if (targets.length === 1) throw err;
        why.push(`${t.host}:${t.port}: ${(err as Error).message}`);
      }
    }
  }
  throw new BootstrapUnreachable(`no bootstrapper answered the login (${why.join('; ')})`);
}
