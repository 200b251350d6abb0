/**
 * One side's record of the routes told over one link, per server, with a digest of the whole that
 * changes with any entry: the sender keeps what it told, the receiver what it heard, and hellos
 * carry the sender's digest so the receiver can tell when an update went missing. The digest is a
 * sum of per-entry hashes (mod 2^32), so it follows each change in O(1).
 */
import type { RouteAdvert } from '../../common/wire/overlay.ts';

export class AdvertLedger {
  /** The adverts by server; their hashes are not kept but computed again when one leaves (less memory per route). */
  private readonly entries = new Map<string, RouteAdvert>();
  private sum = 0;

  get digest(): number {
    return this.sum;
  }

  get size(): number {
    return this.entries.size;
  }

  get(server: string): RouteAdvert | undefined {
    return this.entries.get(server);
  }

  has(server: string): boolean {
    return this.entries.has(server);
  }

  servers(): IterableIterator<string> {
    return this.entries.keys();
  }

  adverts(): RouteAdvert[] {
    return [...this.entries.values()];
  }

  set(advert: RouteAdvert): void {
    this.delete(advert.server);
    this.entries.set(advert.server, advert);
    this.sum = (this.sum + advertHash(advert)) >>> 0;
  }

  delete(server: string): boolean {
    const old = this.entries.get(server);
    if (old === undefined) return false;
    this.entries.delete(server);
    this.sum = (this.sum - advertHash(old)) >>> 0;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.sum = 0;
  }
}

/**
 * FNV-1a over the advert's fields as the wire carries them (a JSON round trip keeps every value),
 * joined by NULs: [server, seq, latencyMs, hops, cv, ...path]. Hashed field by field, without
 * building the joined text (the value is the same: both ends of a link must agree on it).
 */
export function advertHash(a: RouteAdvert): number {
  let h = fnv(0x811c9dc5, a.server);
  h = fnv(h, `\u0000${a.seq}\u0000${a.latencyMs}\u0000${a.hops}\u0000${a.cv}`);
  // Each name follows a NUL: hashing a zero code unit is the multiply alone.
  for (const name of a.path) h = fnv(Math.imul(h, 0x01000193), name);
  return h >>> 0;
}

function fnv(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}
