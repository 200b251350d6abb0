/**
 * Checks the signed frames (common/wire/frame-auth.ts) of the streams a node passes to its
 * viewers, packet by packet, before anything is cached, forwarded or delivered: a packet is
 * released once its frame's signature checked out under a known server's key, or once a
 * released packet of the same frame listed its hash.
 *
 * A packet that arrives before the packet vouching for it (reordering, or the first packet lost
 * and repaired later) waits, up to VERIFY_HOLD_MS and MAX_HELD_PACKETS per stream; so does a
 * frame whose server's key is not known yet (the keyring may still be learning it). Anything
 * that fails is dropped and counted. A bad signature or a hash mismatch under a known key proves
 * the sender faulty (authentic data cannot fail), and `faulty` tells the tree so.
 *
 * Pure: no I/O, time from the injected clock.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock, Timer } from '../../common/core/clock.ts';
import { packetHash, verifyHead } from '../../common/security/frame-signature.ts';
import { decodeFrameAuth, type FrameAuth } from '../../common/wire/frame-auth.ts';
import { decodeRtp, RTP_HEADER_BYTES, rtpHasExtension, rtpSequence, rtpSsrc } from '../../common/wire/rtp.ts';

/** How long a packet may wait for the packet that vouches for it, or for its server's key. */
export const VERIFY_HOLD_MS = 500;
/** Packets waiting per stream; the oldest is dropped beyond (about 3.5 s of a 320x240 movie). */
export const MAX_HELD_PACKETS = 512;
/** Hashes remembered per stream (oldest forgotten first): enough for repairs out of any cache (512 packets). */
export const MAX_EXPECTED_HASHES = 2048;
/** Streams checked at once; the least recently used one is forgotten beyond. */
export const MAX_VERIFIED_STREAMS = 256;
const SWEEP_MS = 50;
const HASH_MISMATCH = 'a packet does not match the hash its frame lists';

export interface VerifyCounters {
  /** Packets released (their frame's signature or their hash checked out). */
  verified: number;
  /** Packets dropped because they fail under a known key: bad signature (or another movie's), hash mismatch. */
  rejected: number;
  /** First packets of frames dropped because no known server has the key they name. */
  unknownKey: number;
  /** Packets that had to wait for the packet vouching for them (or for a key). */
  held: number;
  /** Waiting packets given up (too old, or too many waiting). */
  expired: number;
  /** Packets that are not RTP or whose frame-signature extension does not parse. */
  malformed: number;
  /** Times a neighbour was reported faulty. */
  faulty: number;
}

export interface ServerKeyLookup {
  readonly server: string;
  readonly key: KeyObject;
}

export interface VerifierDeps {
  readonly clock: Clock;
  keyById(keyId: Buffer): ServerKeyLookup | undefined;
  /** A verified packet, as it arrived from `from` (released in the order it became verifiable). */
  release(from: string, movie: string, rtp: Buffer): void;
  /** `from` sent `movie` data that fails verification under a known key. */
  faulty(from: string, movie: string, why: string): void;
}

interface Held {
  readonly rtp: Buffer;
  readonly from: string;
  readonly at: number;
  /** A frame's first packet waiting for its server's key (rather than a packet waiting for its predecessor). */
  readonly needsKey: boolean;
}

interface StreamState {
  readonly movie: string;
  /** Hash each (SSRC, sequence number) must have, as released packets listed them. */
  readonly expected: Map<number, Buffer>;
  /** Waiting packets by (SSRC, sequence number), oldest first. */
  readonly held: Map<number, Held>;
  lastUsed: number;
}

/** One number for (SSRC, sequence number): 48 bits, exact in a double. */
function slot(ssrc: number, seq: number): number {
  return ssrc * 0x10000 + seq;
}

export class StreamVerifier {
  readonly counters: VerifyCounters = {
    verified: 0,
    rejected: 0,
    unknownKey: 0,
    held: 0,
    expired: 0,
    malformed: 0,
    faulty: 0,
  };
  private readonly streams = new Map<string, StreamState>();
  private timer: Timer | null = null;

  constructor(private readonly deps: VerifierDeps) {}

  /** Packets waiting right now, over all streams. */
  get holding(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.held.size;
    return n;
  }

  push(from: string, movie: string, rtp: Buffer): void {
    if (rtp.length < RTP_HEADER_BYTES) {
      this.counters.malformed++;
      return;
    }
    const now = this.deps.clock.now();
    const s = this.state(movie, now);
    this.check(s, from, rtp, now, false);
  }

  /** A server's key became known: frames that waited for it are checked now. */
  keyAdded(): void {
    const now = this.deps.clock.now();
    for (const s of this.streams.values()) {
      for (const [k, h] of [...s.held]) {
        if (!h.needsKey || this.deps.keyById(headKeyId(h.rtp) ?? Buffer.alloc(0)) === undefined) continue;
        s.held.delete(k);
        this.check(s, h.from, h.rtp, now, true);
      }
    }
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    for (const s of this.streams.values()) s.held.clear();
  }

  private check(s: StreamState, from: string, rtp: Buffer, now: number, wasHeld: boolean): void {
    const k = slot(rtpSsrc(rtp), rtpSequence(rtp));
    const want = s.expected.get(k);
    if (want !== undefined) {
      if (!want.equals(packetHash(rtp))) return this.reject(s, from, HASH_MISMATCH);
      const auth = this.authOf(rtp);
      return this.accept(s, from, rtp, auth?.hashes ?? [], now);
    }
    const auth = this.authOf(rtp);
    if (auth === null) {
      this.counters.malformed++;
      return;
    }
    const head = auth.head;
    if (head === null) return this.hold(s, k, { rtp, from, at: now, needsKey: false }, wasHeld);
    const server = this.deps.keyById(head.keyId);
    if (server === undefined) return this.hold(s, k, { rtp, from, at: now, needsKey: true }, wasHeld);
    if (!verifyHead(rtp, head, s.movie, server.key)) {
      return this.reject(s, from, `a frame is not signed by ${server.server} for ${s.movie}`);
    }
    this.accept(s, from, rtp, auth.hashes, now);
  }

  /** The packet's frame-signature elements, or null when it is not RTP or they do not parse. */
  private authOf(rtp: Buffer): FrameAuth | null {
    if (!rtpHasExtension(rtp)) return { head: null, hashes: [] }; // no extension: nothing to read
    const d = decodeRtp(rtp);
    if (!d.ok) return null;
    const auth = decodeFrameAuth(d.value.extension);
    return auth.ok ? auth.value : null;
  }

  /** Releases a verified packet, then whatever waited on the hashes it lists. */
  private accept(s: StreamState, from: string, rtp: Buffer, hashes: readonly Buffer[], now: number): void {
    const work: { from: string; rtp: Buffer; hashes: readonly Buffer[] }[] = [{ from, rtp, hashes }];
    // In order: a frame whose first packet came last is released first packet first.
    for (let i = 0; i < work.length; i++) {
      const item = work[i]!;
      this.counters.verified++;
      this.deps.release(item.from, s.movie, item.rtp);
      const ssrc = rtpSsrc(item.rtp);
      const seq = rtpSequence(item.rtp);
      item.hashes.forEach((h, j) => {
        const next = slot(ssrc, (seq + 1 + j) & 0xffff);
        this.expect(s, next, Buffer.from(h)); // a copy, so the table does not keep whole packets alive
        const waiting = s.held.get(next);
        if (waiting === undefined) return;
        s.held.delete(next);
        if (!h.equals(packetHash(waiting.rtp))) {
          this.reject(s, waiting.from, HASH_MISMATCH);
          return;
        }
        work.push({ from: waiting.from, rtp: waiting.rtp, hashes: this.authOf(waiting.rtp)?.hashes ?? [] });
      });
    }
    s.lastUsed = now;
  }

  private expect(s: StreamState, k: number, hash: Buffer): void {
    s.expected.delete(k); // re-inserted as the newest
    s.expected.set(k, hash);
    if (s.expected.size > MAX_EXPECTED_HASHES) {
      const oldest = s.expected.keys().next().value;
      if (oldest !== undefined) s.expected.delete(oldest);
    }
  }

  private reject(s: StreamState, from: string, why: string): void {
    this.counters.rejected++;
    this.counters.faulty++;
    this.deps.faulty(from, s.movie, why);
  }

  private hold(s: StreamState, k: number, h: Held, wasHeld: boolean): void {
    if (s.held.has(k)) return; // a duplicate of a packet already waiting
    if (!wasHeld) this.counters.held++;
    s.held.set(k, h);
    if (s.held.size > MAX_HELD_PACKETS) {
      const [oldestKey, oldest] = s.held.entries().next().value ?? [];
      if (oldestKey !== undefined && oldest !== undefined) this.drop(s, oldestKey, oldest);
    }
    this.timer ??= this.deps.clock.setTimer(SWEEP_MS, () => this.sweep());
  }

  private drop(s: StreamState, k: number, h: Held): void {
    s.held.delete(k);
    if (h.needsKey) this.counters.unknownKey++;
    else this.counters.expired++;
  }

  /** Gives up packets that waited VERIFY_HOLD_MS; runs only while some packet waits. */
  private sweep(): void {
    this.timer = null;
    const now = this.deps.clock.now();
    let waiting = false;
    for (const s of this.streams.values()) {
      for (const [k, h] of s.held) {
        if (now - h.at < VERIFY_HOLD_MS) break; // oldest first: the rest are younger
        this.drop(s, k, h);
      }
      if (s.held.size > 0) waiting = true;
    }
    if (waiting) this.timer = this.deps.clock.setTimer(SWEEP_MS, () => this.sweep());
  }

  private state(movie: string, now: number): StreamState {
    let s = this.streams.get(movie);
    if (s === undefined) {
      if (this.streams.size >= MAX_VERIFIED_STREAMS) {
        let lru: StreamState | undefined;
        for (const x of this.streams.values()) if (lru === undefined || x.lastUsed < lru.lastUsed) lru = x;
        if (lru !== undefined) {
          for (const [k, h] of [...lru.held]) this.drop(lru, k, h);
          this.streams.delete(lru.movie);
        }
      }
      s = { movie, expected: new Map(), held: new Map(), lastUsed: now };
      this.streams.set(movie, s);
    }
    s.lastUsed = now;
    return s;
  }
}

/** The key id a frame's first packet names, or null. */
function headKeyId(rtp: Buffer): Buffer | null {
  const d = decodeRtp(rtp);
  if (!d.ok) return null;
  const auth = decodeFrameAuth(d.value.extension);
  return auth.ok && auth.value.head !== null ? auth.value.head.keyId : null;
}
