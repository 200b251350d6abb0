/**
 * Per-neighbour liveness and RTT. Each node sends one HELLO per interval to every neighbour; a
 * hello echoes the last hello heard from that peer and how long it was held, so the peer computes
 * RTT = now - echoedSentAt - hold on its own clock. Clocks of different hosts are never compared.
 *
 * The timer runs at the fast rate only while a link needs it (it carries a stream, or is not up
 * yet); otherwise it wakes about once per idle period, when a hello or a deadline is due (an idle
 * daemon's CPU goes mostly on wake-ups: issue 13). nudge() brings the fast rate back at once.
 */
import type { Clock, Timer } from '../../common/core/clock.ts';
import type { HelloMessage } from '../../common/wire/overlay.ts';

export interface LinkMonitorOptions {
  /** Hello period on a link that carries a stream; default 100 ms. */
  readonly helloIntervalMs: number;
  /** Hello period on an idle link (nothing to repair there, so slower detection is fine); default 1000 ms. */
  readonly idleHelloIntervalMs?: number;
  /** A neighbour silent for this many periods is dead; default 3. */
  readonly deadAfterMisses: number;
}

export const DEFAULT_LINK_MONITOR: LinkMonitorOptions = {
  helloIntervalMs: 100,
  idleHelloIntervalMs: 1000,
  deadAfterMisses: 3,
};

export interface LinkEvents {
  up(neighbour: string): void;
  down(neighbour: string): void;
}

interface LinkState {
  alive: boolean;
  lastHeardAt: number | null;
  srttMs: number | null;
  lastRttMs: number | null;
  /** The lowest RTT sample of the current and of the previous half-window (see routeRttMs). */
  minNow: number;
  minBefore: number;
  minSince: number;
  peerSeq: number;
  peerSentAtUs: number;
  peerHeardAt: number;
  deaths: number;
  lastSentAt: number;
  upSince: number | null;
  /** When this end last saw the link become busy; until the peer has surely sped up too, the idle deadline holds. */
  busySince: number | null;
}

const US_WRAP = 0x1_0000_0000;
/** Routing's RTT is the lowest sample over this long (two halves: the minimum is never older). */
export const MIN_RTT_WINDOW_MS = 10_000;

export class LinkMonitor {
  private readonly links = new Map<string, LinkState>();
  private seq = 0;
  private timer: Timer | null = null;
  private dueAt: number | null = null;
  private running = false;
  /** Whether the last tick found a link that needs the fast rate (ticks every helloIntervalMs). */
  private fast = true;
  /** Ticks that ran a period late (this thread stalled) and judged no link. */
  stalledTicks = 0;
  /** Timer wake-ups so far (ticks). */
  ticks = 0;

  constructor(
    private readonly clock: Clock,
    private readonly sendHello: (to: string, msg: HelloMessage) => void,
    private readonly events: LinkEvents,
    private readonly options: LinkMonitorOptions = DEFAULT_LINK_MONITOR,
    /** True while a stream crosses the link (either way): hellos go at the fast rate. */
    private readonly busy: (neighbour: string) => boolean = () => true,
  ) {}

  /** Hellos go at once, then every helloIntervalMs (about every idleHelloIntervalMs while no link needs more). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = null;
    this.dueAt = null;
  }

  /**
   * A link may need fast hellos now (a stream joined across it, a link was added or lost): while
   * the timer is at the idle rate, the next tick comes at once instead (it looks at every link).
   */
  nudge(): void {
    if (!this.running || this.fast) return;
    this.fast = true;
    this.schedule(0);
  }

  add(neighbour: string): void {
    if (this.links.has(neighbour)) return;
    this.nudge();
    this.links.set(neighbour, {
      alive: false,
      lastHeardAt: null,
      srttMs: null,
      lastRttMs: null,
      minNow: Infinity,
      minBefore: Infinity,
      minSince: this.clock.now(),
      peerSeq: 0,
      peerSentAtUs: 0,
      peerHeardAt: 0,
      deaths: 0,
      lastSentAt: -Infinity,
      busySince: null,
      upSince: null,
    });
  }

  remove(neighbour: string): void {
    const link = this.links.get(neighbour);
    this.links.delete(neighbour);
    if (link?.alive) this.events.down(neighbour);
  }

  neighbours(): string[] {
    return [...this.links.keys()];
  }

  /** Whether `neighbour` is one (without building the list: asked for every packet). */
  has(neighbour: string): boolean {
    return this.links.has(neighbour);
  }

  isAlive(neighbour: string): boolean {
    return this.links.get(neighbour)?.alive ?? false;
  }

  /** Smoothed RTT (RFC 6298 style, gain 1/8), or undefined before the first sample. */
  rttMs(neighbour: string): number | undefined {
    return this.links.get(neighbour)?.srttMs ?? undefined;
  }

  /**
   * The link's RTT for routing: the lowest sample of the last MIN_RTT_WINDOW_MS (at least half of
   * it), as BBR keeps min_rtt. Queueing and a busy host only ever add to an RTT, so the minimum
   * is the path's own delay: it does not jitter, and routes are not told again for every wobble.
   * A link that became slower shows it within the window; a faster one at once.
   */
  routeRttMs(neighbour: string): number | undefined {
    const link = this.links.get(neighbour);
    if (link === undefined) return undefined;
    const min = Math.min(link.minNow, link.minBefore);
    return Number.isFinite(min) ? min : undefined;
  }

  lastHeardAt(neighbour: string): number | null {
    return this.links.get(neighbour)?.lastHeardAt ?? null;
  }

  deaths(neighbour: string): number {
    return this.links.get(neighbour)?.deaths ?? 0;
  }

  /** Declares a neighbour dead now (e.g. the bootstrapper says its process is gone). */
  markDead(neighbour: string): void {
    const link = this.links.get(neighbour);
    if (link === undefined || !link.alive) return;
    link.alive = false;
    link.deaths++;
    this.nudge();
    this.events.down(neighbour);
  }

  /** Any packet from a neighbour proves it is alive. */
  heard(neighbour: string): void {
    const link = this.links.get(neighbour);
    if (link === undefined) return;
    link.lastHeardAt = this.clock.now();
    if (!link.alive) {
      link.alive = true;
      link.upSince = link.lastHeardAt;
      this.events.up(neighbour);
    }
  }

  /** When the link last came up (null while down): a link must stay up a while before the tree trusts it again. */
  upSince(neighbour: string): number | null {
    const link = this.links.get(neighbour);
    return link?.alive ? link.upSince : null;
  }

  onHello(from: string, msg: HelloMessage): void {
    const link = this.links.get(from);
    if (link === undefined) return;
    const now = this.clock.now();
    link.peerSeq = msg.seq;
    link.peerSentAtUs = msg.sentAtUs;
    link.peerHeardAt = now;
    if (msg.echoSeq !== 0) {
      const elapsedUs = (toUs(now) - msg.echoSentAtUs - msg.holdUs + 2 * US_WRAP) % US_WRAP;
      const sample = elapsedUs / 1000;
      // Samples over 10 s are wrap-around or stale echoes, not a path we could use.
      if (sample < 10_000) {
        link.lastRttMs = sample;
        link.srttMs = link.srttMs === null ? sample : link.srttMs + (sample - link.srttMs) / 8;
        if (now - link.minSince >= MIN_RTT_WINDOW_MS / 2) {
          link.minBefore = link.minNow;
          link.minNow = Infinity;
          link.minSince = now;
        }
        link.minNow = Math.min(link.minNow, sample);
      }
    }
    this.heard(from);
  }

  private schedule(ms: number): void {
    this.timer?.cancel();
    this.dueAt = this.clock.now() + ms;
    this.timer = this.clock.setTimer(ms, this.fire);
  }

  private readonly fire = (): void => {
    this.timer = null;
    if (this.running) this.tick();
  };

  private tick(): void {
    const now = this.clock.now();
    this.ticks++;
    this.seq = (this.seq % 0xffffffff) + 1;
    const fast = this.options.helloIntervalMs;
    const idle = Math.max(fast, this.options.idleHelloIntervalMs ?? fast);
    // This tick ran a whole period late: our own thread stalled, and the hellos that came meanwhile
    // are still unread. Nobody is declared dead on it; the next tick judges, after they are read.
    const stalled = this.dueAt !== null && now - this.dueAt > fast;
    if (stalled) this.stalledTicks++;
    // At the idle rate, a hello due within half a period goes now: the links' hellos fall into one wake-up.
    const early = this.fast ? fast / 2 : idle / 2;
    let needFast = false;
    let next = now + idle;
    for (const [name, link] of this.links) {
      const busy = this.busy(name);
      if (busy) link.busySince ??= now;
      else link.busySince = null;
      // Judge by the slow rate until the peer has had a full idle period to notice the stream too.
      const quick = link.busySince !== null && now - link.busySince >= idle;
      const deadline = (quick ? fast : idle) * this.options.deadAfterMisses;
      if (link.alive && link.lastHeardAt !== null && now - link.lastHeardAt > deadline && !stalled) {
        link.alive = false;
        link.deaths++;
        this.events.down(name);
      }
      // A link that is not up yet is probed at the fast rate too, so it comes up quickly.
      if (busy || !link.alive) needFast = true;
      else if (link.lastHeardAt !== null) next = Math.min(next, link.lastHeardAt + deadline + 1);
      if (!busy && link.alive && now - link.lastSentAt < idle - early) {
        next = Math.min(next, link.lastSentAt + idle);
        continue;
      }
      link.lastSentAt = now;
      const holdUs = link.peerSeq === 0 ? 0 : Math.round((now - link.peerHeardAt) * 1000);
      this.sendHello(name, {
        type: 'hello',
        seq: this.seq,
        sentAtUs: toUs(now),
        echoSeq: link.peerSeq,
        echoSentAtUs: link.peerSentAtUs,
        holdUs: Math.min(holdUs, US_WRAP - 1),
      });
    }
    // The events above may have stopped the monitor, or nudged it (a new timer is set already).
    if (!this.running || this.timer !== null) return;
    this.fast = needFast;
    this.schedule(needFast ? fast : Math.min(idle, Math.max(fast, next - now)));
  }
}

/** Microseconds modulo 2^32, in [0, 2^32) even for a negative reading (a clock offset may make `now` negative). */
function toUs(ms: number): number {
  const us = Math.floor(ms * 1000) % US_WRAP;
  return us < 0 ? us + US_WRAP : us;
}
