/**
 * What each neighbour says it carries (movie → the server it comes from), so a join can go to
 * the nearest copy. An announcement too long for one datagram comes in numbered parts; it
 * replaces the neighbour's previous one only once every part is in (a partial list would make
 * movies seem to vanish). One partial announcement per neighbour is kept.
 */
import { MAX_CARRYING } from '../../common/wire/overlay-control.ts';
import type { CarryingMessage } from '../../common/wire/overlay.ts';

interface PartialAnnouncement {
  readonly version: number;
  readonly parts: number;
  readonly received: Map<number, CarryingMessage>;
  entries: number;
}

export interface CarryingCounters {
  /** Parts of an announcement dropped: inconsistent with the parts before them, or past MAX_CARRYING entries. */
  carryingRejected: number;
}

export class CarryingTable {
  /** @param counters where to count (the node's, so /status shows them). */
  constructor(readonly counters: CarryingCounters = { carryingRejected: 0 }) {}

  private readonly byNeighbour = new Map<string, ReadonlyMap<string, string | null>>();
  private readonly partial = new Map<string, PartialAnnouncement>();

  onCarrying(from: string, msg: CarryingMessage): void {
    if (msg.part === undefined || msg.parts === undefined || msg.version === undefined) {
      this.partial.delete(from);
      this.install(from, [msg]);
      return;
    }
    let p = this.partial.get(from);
    if (p !== undefined && (p.version !== msg.version || p.parts !== msg.parts)) {
      // A newer announcement (or a restarted neighbour's): the older one will never complete.
      this.partial.delete(from);
      p = undefined;
    }
    if (p === undefined) {
      p = { version: msg.version, parts: msg.parts, received: new Map(), entries: 0 };
      this.partial.set(from, p);
    }
    if (p.received.has(msg.part)) return;
    if (p.entries + msg.movies.length > MAX_CARRYING) {
      this.counters.carryingRejected++;
      this.partial.delete(from);
      return;
    }
    p.received.set(msg.part, msg);
    p.entries += msg.movies.length;
    if (p.received.size < p.parts) return;
    this.partial.delete(from);
    this.install(from, [...p.received.values()]);
  }

  /** The neighbour went down: what it carried is gone with it. */
  forget(neighbour: string): void {
    this.byNeighbour.delete(neighbour);
    this.partial.delete(neighbour);
  }

  /** Neighbours (among those `usable`) that announced the movie. */
  carriers(movie: string, usable: (neighbour: string) => boolean): string[] {
    return [...this.byNeighbour].filter(([n, m]) => m.has(movie) && usable(n)).map(([n]) => n);
  }

  /** The server a neighbour said it gets the movie from, if it said. */
  root(neighbour: string, movie: string): string | null {
    return this.byNeighbour.get(neighbour)?.get(movie) ?? null;
  }

  private install(from: string, parts: readonly CarryingMessage[]): void {
    const map = new Map<string, string | null>();
    for (const msg of parts) for (const [i, m] of msg.movies.entries()) map.set(m, msg.roots?.[i] ?? null);
    this.byNeighbour.set(from, map);
  }
}
