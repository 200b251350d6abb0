/**
 * Movie names by the 8-byte id DATA carries instead (common/wire/overlay.ts movieId). A node
 * learns a name whenever one passes through it (joins, acks, leaves, repairs, carrying lists)
 * or it is told; DATA whose id it never learnt cannot be delivered. Bounded: the least recently
 * used name goes first.
 */
import { MOVIE_ID_BYTES, movieIdOrUndefined } from '../../common/wire/overlay.ts';

/** Names remembered: far more than the streams a node carries at once. */
export const MAX_MOVIE_IDS = 4096;

interface Entry {
  readonly name: string;
  readonly id: Buffer;
  readonly key: number;
}

export class MovieIds {
  /** By the id's first 6 bytes (a number, so no allocation per lookup); the last 2 are compared. */
  private readonly byKey = new Map<number, Entry>();
  /** In order of use, least recent first. */
  private readonly byName = new Map<string, Entry>();
  private newest: Entry | null = null;

  /** Remembers a movie (or marks it used) and returns its id; undefined for a name DATA cannot carry. */
  learn(name: string): Buffer | undefined {
    const known = this.byName.get(name);
    if (known !== undefined) {
      this.touch(known);
      return known.id;
    }
    const id = movieIdOrUndefined(name);
    if (id === undefined) return undefined;
    const entry: Entry = { name, id, key: keyOf(id, 0) };
    // Two names sharing 48 bits of id (odds 2^-48 a pair): the newer wins, the older's DATA goes unknown.
    const clash = this.byKey.get(entry.key);
    if (clash !== undefined) this.byName.delete(clash.name);
    if (this.byName.size >= MAX_MOVIE_IDS) {
      const oldest = this.byName.values().next().value;
      if (oldest !== undefined) this.forget(oldest);
    }
    this.byKey.set(entry.key, entry);
    this.byName.set(name, entry);
    this.newest = entry;
    return id;
  }

  /** The name of the id at buf[offset, offset + 8), or undefined if never learnt (or forgotten). */
  nameOf(buf: Buffer, offset = 0): string | undefined {
    if (buf.length < offset + MOVIE_ID_BYTES) return undefined;
    const entry = this.byKey.get(keyOf(buf, offset));
    if (entry === undefined || entry.id[6] !== buf[offset + 6] || entry.id[7] !== buf[offset + 7]) return undefined;
    this.touch(entry);
    return entry.name;
  }

  get size(): number {
    return this.byName.size;
  }

  private touch(entry: Entry): void {
    // Consecutive packets of one stream: already the newest, nothing to move.
    if (entry === this.newest) return;
    this.byName.delete(entry.name);
    this.byName.set(entry.name, entry);
    this.newest = entry;
  }

  private forget(entry: Entry): void {
    this.byName.delete(entry.name);
    this.byKey.delete(entry.key);
    if (this.newest === entry) this.newest = null;
  }
}

function keyOf(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * 0x10000 + buf.readUInt16BE(offset + 4);
}
