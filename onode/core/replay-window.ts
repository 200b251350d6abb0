/**
 * Replay protection for authenticated overlay datagrams: per sender, the newest nonce seen
 * (epoch, counter) and a bitmap of the REPLAY_WINDOW counters behind it, like IPsec's
 * anti-replay window (RFC 4303 §3.4.3). A newer epoch means the sender restarted (or its
 * counter wrapped): its window starts over. Only datagrams whose tag was good are checked, so
 * only real neighbours ever get a window.
 */
import type { Nonce } from '../../common/wire/overlay.ts';

/** Counters remembered behind the newest: how far datagrams may arrive out of order. */
export const REPLAY_WINDOW = 4096;
/**
 * Senders remembered. Windows exist only for senders that proved the key, i.e. neighbours past
 * and present; past this the oldest is forgotten (a far-off limit, not a working one).
 */
export const MAX_REPLAY_SENDERS = 4096;

export type ReplayVerdict = 'fresh' | 'duplicate' | 'too-old' | 'old-epoch';

const WORD_BITS = 32;

interface SenderWindow {
  epoch: number;
  /** The highest counter seen in this epoch. */
  top: number;
  /** Bit (counter mod REPLAY_WINDOW) set = that counter was seen. */
  readonly seen: Uint32Array;
}

export class ReplayWindows {
  private readonly senders = new Map<string, SenderWindow>();

  /** Records the nonce if it is new ('fresh'), else says why it is a replay; never records a replay. */
  check(sender: string, nonce: Nonce): ReplayVerdict {
    const { epoch, counter } = nonce;
    let w = this.senders.get(sender);
    if (w === undefined) {
      if (this.senders.size >= MAX_REPLAY_SENDERS) {
        const oldest = this.senders.keys().next().value;
        if (oldest !== undefined) this.senders.delete(oldest);
      }
      w = { epoch, top: counter, seen: new Uint32Array(REPLAY_WINDOW / WORD_BITS) };
      this.senders.set(sender, w);
      mark(w.seen, counter);
      return 'fresh';
    }
    if (epoch < w.epoch) return 'old-epoch';
    if (epoch > w.epoch) {
      w.epoch = epoch;
      w.top = counter;
      w.seen.fill(0);
      mark(w.seen, counter);
      return 'fresh';
    }
    if (counter > w.top) {
      if (counter - w.top >= REPLAY_WINDOW) w.seen.fill(0);
      else for (let c = w.top + 1; c < counter; c++) unmark(w.seen, c);
      w.top = counter;
      mark(w.seen, counter);
      return 'fresh';
    }
    if (w.top - counter >= REPLAY_WINDOW) return 'too-old';
    if (isMarked(w.seen, counter)) return 'duplicate';
    mark(w.seen, counter);
    return 'fresh';
  }

  /** How many senders have a window (for tests and status). */
  get size(): number {
    return this.senders.size;
  }
}

function mark(seen: Uint32Array, counter: number): void {
  const bit = counter % REPLAY_WINDOW;
  seen[bit >>> 5]! |= 1 << (bit & 31);
}

function unmark(seen: Uint32Array, counter: number): void {
  const bit = counter % REPLAY_WINDOW;
  seen[bit >>> 5]! &= ~(1 << (bit & 31));
}

function isMarked(seen: Uint32Array, counter: number): boolean {
  const bit = counter % REPLAY_WINDOW;
  return (seen[bit >>> 5]! & (1 << (bit & 31))) !== 0;
}
