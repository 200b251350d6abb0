/**
 * A node's overlay events, found by comparing two samples of its state (no hooks into the protocol
 * code): links that went down or up, joins and prunes below it, upstream changes (reroutes and
 * make-before-break switches), NAKs. Sampling every few hundred ms finds each within that time.
 * EventQueue holds them until the next report, bounded: the oldest go first and are counted.
 */
import type { ReportedEventKind, ReportNeighbour, ReportStream } from '../../common/wire/dashboard-api.ts';

/** What the reporter samples; a copy, never changed after it is taken. */
export interface NodeSample {
  readonly at: number;
  readonly neighbours: readonly ReportNeighbour[];
  readonly streams: readonly ReportStream[];
  /** The tree's cumulative counters. */
  readonly naks: number;
  readonly switches: number;
}

/** An event with the node's time it was seen at. */
export interface NodeEvent {
  readonly kind: ReportedEventKind;
  readonly at: number;
  readonly movie?: string;
  readonly peer?: string;
  readonly from?: string | null;
  readonly to?: string | null;
  readonly count?: number;
}

/** The events between two samples, in a stable order (links, then streams by movie). */
export function diffSamples(prev: NodeSample, next: NodeSample): NodeEvent[] {
  const at = next.at;
  const out: NodeEvent[] = [];
  const wasAlive = new Map(prev.neighbours.map((n) => [n.name, n.alive]));
  for (const n of next.neighbours) {
    const was = wasAlive.get(n.name) ?? false;
    if (was && !n.alive) out.push({ kind: 'link-down', at, peer: n.name });
    else if (!was && n.alive) out.push({ kind: 'link-up', at, peer: n.name });
  }
  const before = new Map(prev.streams.map((s) => [s.movie, s]));
  const switched = next.switches > prev.switches;
  for (const s of next.streams) {
    const old = before.get(s.movie);
    before.delete(s.movie);
    if (old === undefined) {
      out.push({ kind: 'stream-start', at, movie: s.movie, to: s.upstream });
      for (const d of s.downstream) out.push({ kind: 'join', at, movie: s.movie, peer: d });
      if (s.clients > 0) out.push({ kind: 'join', at, movie: s.movie, peer: 'viewer', count: s.clients });
      continue;
    }
    if (old.upstream !== null && s.upstream !== null && old.upstream !== s.upstream) {
      out.push({ kind: switched ? 'switch' : 'reroute', at, movie: s.movie, from: old.upstream, to: s.upstream });
    } else if (old.upstream !== s.upstream && s.upstream !== null) {
      out.push({ kind: 'reroute', at, movie: s.movie, from: old.upstream, to: s.upstream });
    }
    const had = new Set(old.downstream);
    for (const d of s.downstream) if (!had.delete(d)) out.push({ kind: 'join', at, movie: s.movie, peer: d });
    for (const d of had) out.push({ kind: 'prune', at, movie: s.movie, peer: d });
    if (s.clients > old.clients) {
      out.push({ kind: 'join', at, movie: s.movie, peer: 'viewer', count: s.clients - old.clients });
    } else if (s.clients < old.clients) {
      out.push({ kind: 'prune', at, movie: s.movie, peer: 'viewer', count: old.clients - s.clients });
    }
  }
  for (const s of before.values()) out.push({ kind: 'stream-end', at, movie: s.movie, from: s.upstream });
  if (next.naks > prev.naks) out.push({ kind: 'nak', at, count: next.naks - prev.naks });
  return out;
}

/** Events waiting for the next report. */
export class EventQueue {
  private items: NodeEvent[] = [];
  /** Events dropped because the queue was full, since it was made. */
  dropped = 0;

  constructor(private readonly max: number) {}

  get length(): number {
    return this.items.length;
  }

  push(events: readonly NodeEvent[]): void {
    for (const e of events) this.items.push(e);
    const over = this.items.length - this.max;
    if (over > 0) {
      this.items.splice(0, over);
      this.dropped += over;
    }
  }

  /** Takes up to `max` queued events, oldest first. */
  take(max: number): NodeEvent[] {
    return this.items.splice(0, max);
  }
}
