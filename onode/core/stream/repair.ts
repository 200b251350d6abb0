/**
 * Repairs: packets a neighbour or a viewer missed are resent from this node's packet cache, and
 * what the cache lacks (lost on a link above) is asked of the upstream, hop by hop; it comes back
 * as ordinary data and flows down the tree. After a reroute or a switch the new upstream is asked
 * for everything after the newest packet this node had.
 */
import type { RepairMessage } from '../../../common/wire/overlay.ts';
import { repairRequests } from '../../../common/wire/control-split.ts';
import { rtpSequence, seqDiff } from '../../../common/wire/rtp.ts';
import { Interval } from '../../../common/core/interval.ts';
import { CACHE_PACKETS } from '../packet-cache.ts';
import type { Stream } from './stream-state.ts';
import type { StreamTable } from './stream-table.ts';

/** A lost packet is asked of upstream at most this often. */
export const REPAIR_RETRY_MS = 150;
/** Sequence numbers remembered as asked; past this many, those asked over REPAIR_RETRY_MS ago are forgotten. */
export const MAX_ASKED_SEQS = 2048;

/** At most this many packets per repair request at a source (as many as a cache holds). */
export const MAX_SOURCE_REPAIR = CACHE_PACKETS;

/** How often a stream's cache is checked for holes (packets that never came), which are then asked for. */
export const HOLE_CHECK_MS = 100;

/** One stream's repairs in progress. */
export class RepairLedger {
  /** Holes seen at the last check: only a hole still open a check later is asked for (not one merely late). */
  holes = new Set<number>();
  /** A rerouted branch's repair that arrived before this node had any packets: asked upstream once joined. */
  pending: RepairMessage | null = null;
  /** Sequence numbers asked of upstream, and when. */
  private readonly asked = new Map<number, number>();
  /** The last "everything after" request: not sent again to the same neighbour within REPAIR_RETRY_MS. */
  private lastAfter: { via: string; after: number; at: number } | null = null;

  /** Whether asking `via` for everything after `after` now repeats a request still being answered; notes it if not. */
  askedAfter(via: string, after: number, now: number): boolean {
    const last = this.lastAfter;
    if (last !== null && last.via === via && last.after === after && now - last.at < REPAIR_RETRY_MS) return true;
    this.lastAfter = { via, after, at: now };
    return false;
  }

  /**
   * Of `seqs`, those not among the `found` packets and not asked within REPAIR_RETRY_MS, in
   * order; they count as asked from `now`.
   */
  due(seqs: readonly number[], found: readonly Buffer[], now: number): number[] {
    const have = new Set(found.map(rtpSequence));
    const missing = seqs.filter((q) => !have.has(q) && now - (this.asked.get(q) ?? -Infinity) >= REPAIR_RETRY_MS);
    for (const q of missing) this.asked.set(q, now);
    if (this.asked.size > MAX_ASKED_SEQS) {
      for (const [q, at] of this.asked) if (now - at >= REPAIR_RETRY_MS) this.asked.delete(q);
    }
    return missing;
  }
}

/** The repair protocol over every stream of the table. */
export class Repairs {
  /**
   * The hole watch: a packet that never came (lost on the old path while a repair was still on
   * its way, say) is asked of whichever upstream feeds the stream now, until it comes or leaves
   * the cache's window. Servers share the timeline, so any upstream can have it.
   */
  private readonly holeWatch: Interval;

  constructor(private readonly table: StreamTable) {
    this.holeWatch = new Interval(table.deps.clock, HOLE_CHECK_MS, () => this.checkHoles());
  }

  /** Starts the hole watch, if the tree is running and it is not already on. */
  watch(): void {
    if (this.table.running) this.holeWatch.start();
  }

  stop(): void {
    this.holeWatch.stop();
  }

  private checkHoles(): void {
    let watching = false;
    for (const s of this.table.values()) {
      if (s.feed.kind !== 'flowing' && s.feed.kind !== 'switching') continue;
      watching = true;
      const ssrc = s.cache.source;
      if (ssrc === null) continue;
      const holes = s.cache.holes();
      const open = holes.filter((q) => s.repairs.holes.has(q));
      s.repairs.holes = new Set(holes);
      if (open.length > 0) this.askUpstream(s, ssrc, open, []);
    }
    // Only while some stream is received from upstream, like the silence watch.
    if (!watching) this.holeWatch.stop();
  }

  /** A neighbour (or viewer) missed packets: resend what the cache has, to it alone. */
  onRepair(from: string, msg: RepairMessage): void {
    const s = this.table.get(msg.movie);
    const branch = s?.branches.downstream.get(from);
    if (s === undefined || branch === undefined) return;
    if (s.feed.kind === 'source') return this.serveAtSource(s, from, msg, branch.attachedAtSeq);
    if (branch.attachedAtSeq === null && msg.after !== undefined) {
      // The branch attached before this node had packets: what it missed is further up.
      if (s.feed.kind === 'flowing' || s.feed.kind === 'switching') {
        // What comes back flows down every branch: two branches asking the same need one request.
        if (s.repairs.askedAfter(s.feed.via, msg.after, this.table.now())) return;
        this.table.counters.repairsRequested++;
        this.table.deps.send(s.feed.via, msg);
      } else {
        s.repairs.pending = msg;
      }
      return;
    }
    // After a reroute, only what the branch missed before it attached: everything later reached it live.
    const packets =
      msg.after !== undefined
        ? branch.attachedAtSeq === null
          ? []
          : s.cache.after(msg.ssrc, msg.after, branch.attachedAtSeq)
        : s.cache.pick(msg.ssrc, msg.seqs ?? []);
    for (const rtp of packets) this.table.deps.sendData([from], s.movie, rtp);
    s.counters.repaired += packets.length;
    this.table.counters.repairsServed++;
    if (msg.seqs !== undefined) this.askUpstream(s, msg.ssrc, msg.seqs, packets);
  }

  /**
   * At the source, the cache is only what this server sent; the movie's shared timeline has the
   * rest (frames sent by another server before the tree moved here): sent again by the channel.
   */
  private serveAtSource(s: Stream, from: string, msg: RepairMessage, attachedAt: number | null): void {
    let seqs = msg.seqs ?? [];
    const after = msg.after;
    if (after !== undefined) {
      const upTo = attachedAt ?? this.table.deps.newestSourceSeq(s.movie);
      const count = upTo === null ? 0 : Math.min(seqDiff(upTo, after), MAX_SOURCE_REPAIR);
      seqs = Array.from({ length: Math.max(0, count) }, (_, i) => (after + 1 + i) & 0xffff);
    }
    const packets = this.fromSource(s, msg.ssrc, seqs.slice(0, MAX_SOURCE_REPAIR));
    for (const rtp of packets) this.table.deps.sendData([from], s.movie, rtp);
    s.counters.repaired += packets.length;
    this.table.counters.repairsServed++;
  }

  /** The packets among `seqs`: cached ones, and the rest from the channel, in sequence order. */
  private fromSource(s: Stream, ssrc: number, seqs: readonly number[]): Buffer[] {
    const cached = s.cache.pick(ssrc, seqs);
    const have = new Set(cached.map(rtpSequence));
    const rest = seqs.filter((q) => !have.has(q));
    const resent = rest.length === 0 ? [] : this.table.deps.resendFromSource(s.movie, ssrc, rest);
    const order = new Map(seqs.map((q, i) => [q, i]));
    const rank = (p: Buffer): number => order.get(rtpSequence(p)) ?? 0;
    return [...cached, ...resent].sort((a, b) => rank(a) - rank(b));
  }

  /** Cached packets of a stream, for a local viewer's retransmission request (RTCP NACK). */
  cached(movie: string, ssrc: number, seqs: readonly number[]): Buffer[] {
    const s = this.table.get(movie);
    if (s === undefined) return [];
    if (s.feed.kind === 'source') return this.fromSource(s, ssrc, seqs.slice(0, MAX_SOURCE_REPAIR));
    const packets = s.cache.pick(ssrc, seqs);
    s.counters.repaired += packets.length;
    this.askUpstream(s, ssrc, seqs, packets);
    return packets;
  }

  /**
   * The stream has just been joined through `via`: after a reroute, ask it for what was sent while
   * we had no upstream; else pass on a branch's repair that came before we had any packets.
   */
  joined(s: Stream, via: string): void {
    const highest = this.askAfterNewest(s, via);
    if (highest !== null) {
      this.table.event(s.movie, `rerouted through ${via}; asked for packets after ${highest}`);
    } else if (s.repairs.pending !== null) {
      this.table.counters.repairsRequested++;
      this.table.deps.send(via, s.repairs.pending);
    }
    s.repairs.pending = null;
  }

  /** The stream moved to `via` (make-before-break): ask for anything the new path had not yet delivered. */
  switched(s: Stream, via: string): void {
    this.askAfterNewest(s, via);
  }

  /**
   * Asks `via` for every packet after the newest cached one, and soon for the holes before it (a
   * repair the old path was still bringing when we left it); that newest, or null with none cached.
   */
  private askAfterNewest(s: Stream, via: string): number | null {
    const ssrc = s.cache.source;
    const highest = s.cache.highestSeq;
    if (ssrc === null || highest === null) return null;
    if (s.repairs.askedAfter(via, highest, this.table.now())) return highest;
    this.table.counters.repairsRequested++;
    this.table.deps.send(via, { type: 'repair', movie: s.movie, ssrc, after: highest });
    // The holes go to the hole watch's next check, asked then if still open: the new upstream's
    // first packets, sent with its ack, may be filling them right now.
    for (const q of s.cache.holes()) s.repairs.holes.add(q);
    this.watch();
    return highest;
  }

  /**
   * Packets a viewer or branch asked for that this node never got (lost on a link above): ask
   * upstream. The same number is not asked for again within REPAIR_RETRY_MS.
   */
  private askUpstream(s: Stream, ssrc: number, seqs: readonly number[], found: readonly Buffer[]): void {
    if ((s.feed.kind !== 'flowing' && s.feed.kind !== 'switching') || s.cache.source !== ssrc) return;
    // Only what this node could have lost: a request for numbers not yet sent or long gone (a
    // forged or confused NACK) stops here instead of travelling up to the server.
    const missing = s.repairs.due(
      seqs.filter((q) => s.cache.inWindow(q)),
      found,
      this.table.now(),
    );
    if (missing.length === 0) return;
    // A long gap takes several requests: each datagram holds a few hundred sequence numbers.
    for (const request of repairRequests(s.movie, ssrc, missing)) {
      this.table.counters.repairsRequested++;
      this.table.deps.send(s.feed.via, request);
    }
  }
}
