/**
 * Tells a movie nobody serves from a POP that is merely down. A POP that answers SETUP with an
 * error status (404, 453, 503, with the overlay's NAK reason when there is one) has refused the
 * movie; once every POP's latest answer is a refusal, trying them again only repeats the same
 * answers, so the client stops and reports them. Any other outcome (a POP that played, or failed
 * for a transient reason such as a dropped connection) keeps the ordinary failover going.
 */
import { reasonPhrase } from '../../common/wire/rtsp.ts';

/** One POP's answer refusing the movie. */
export interface Refusal {
  /** The POP's client-facing address. */
  readonly pop: string;
  /** The RTSP status of the SETUP answer. */
  readonly status: number;
  /** The overlay's NAK reason (e.g. 'unknown-movie'), else the RTSP reason phrase. */
  readonly reason: string;
}

/** What a refusal says: the overlay's NAK reason when the POP gave one, else the status's phrase. */
export function refusalReason(status: number, nakReason: string | null): string {
  return nakReason ?? reasonPhrase(status);
}

export class RefusalRound {
  /** Per POP, in the order given: its latest refusal, or null (not asked yet, or not a refusal). */
  private readonly latest = new Map<string, Refusal | null>();

  /** @param pops the POPs a round covers (client-facing addresses, best first; duplicates ignored) */
  constructor(pops: readonly string[]) {
    for (const pop of pops) this.latest.set(pop, null);
  }

  refused(pop: string, status: number, reason: string): void {
    if (this.latest.has(pop)) this.latest.set(pop, { pop, status, reason });
  }

  /** The POP played, or failed for a transient reason: it no longer counts as refusing. */
  cleared(pop: string): void {
    if (this.latest.has(pop)) this.latest.set(pop, null);
  }

  /** A new round: no POP counts as refusing. */
  reset(): void {
    for (const pop of this.latest.keys()) this.latest.set(pop, null);
  }

  hasRefused(pop: string): boolean {
    return (this.latest.get(pop) ?? null) !== null;
  }

  /** True when every POP's latest answer is a refusal (false for an empty round). */
  get complete(): boolean {
    return this.latest.size > 0 && [...this.latest.values()].every((r) => r !== null);
  }

  /** The refusals, in the POPs' order. */
  refusals(): Refusal[] {
    return [...this.latest.values()].filter((r): r is Refusal => r !== null);
  }
}

/**
 * "every POP refused bars.mjpeg: o5 404 unknown-movie, o7 503 no-route" (or "POP o5 refused …"
 * when there was only one), naming POPs by `nameOf`.
 */
export function describeRefusals(movie: string, refusals: readonly Refusal[], nameOf = (pop: string) => pop): string {
  const only = refusals.length === 1 ? refusals[0] : undefined;
  if (only !== undefined) return `POP ${nameOf(only.pop)} refused ${movie}: ${only.status} ${only.reason}`;
  return `every POP refused ${movie}: ${refusals.map((r) => `${nameOf(r.pop)} ${r.status} ${r.reason}`).join(', ')}`;
}
