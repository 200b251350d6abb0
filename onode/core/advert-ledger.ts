/**
 * One side's record of the routes told over one link, per server, with a digest of the whole that
 * changes with any entry: the sender keeps what it told, the receiver what it heard, and hellos
 * carry the sender's digest so the receiver can tell when an update went missing. The digest is a
 * sum of per-entry hashes (mod 2^32), so it follows each change in O(1).
 */
import type { RouteAdvert } from '../../common/wire/overlay.ts';

interface Entry {
  readonly advert: RouteAdvert;
  readonly hash: number;
}

export class AdvertLedger {
  private readonly entries = new Map<string, Entry>();
  private sum = 0;

  get digest(): number {
    return this.sum;
  }

  get size(): number {
    return this.entries.size;
  }

  get(server: string): RouteAdvert | undefined {
    return this.entries.get(server)?.advert;
  }

  has(server: string): boolean {
    return this.entries.has(server);
  }

  servers(): IterableIterator<string> {
    return this.entries.keys();
  }

  adverts(): RouteAdvert[] {
    return [...this.entries.values()].map((e) => e.advert);
  }

  set(advert: RouteAdvert): void {
    this.delete(advert.server);
    const hash = advertHash(advert);
    this.entries.set(advert.server, { advert, hash });
    this.sum = (this.sum + hash) >>> 0;
  }

  delete(server: string): boolean {
    const old = this.entries.get(server);
    if (old === undefined) return false;
    this.entries.delete(server);
    this.sum = (this.sum - old.hash) >>> 0;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.sum = 0;
  }
}

/** FNV-1a over the advert's fields as the wire carries them (a JSON round trip keeps every value). */
export function advertHash(a: RouteAdvert): number {
  const fields = [a.server, a.seq, a.latencyMs, a.hops, a.cv, ...a.path];
  const text = fields.join('\u0000');
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
