/**
 * The link monitor's timer on idle links (issue 13): about one wake-up per idle period while no link
 * carries a stream, the fast rate at once on nudge(), and the same failure detection as before.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import { DEFAULT_LINK_MONITOR, LinkMonitor } from '../../../onode/core/link-monitor.ts';

const FAST = DEFAULT_LINK_MONITOR.helloIntervalMs;
const IDLE = DEFAULT_LINK_MONITOR.idleHelloIntervalMs ?? FAST;
const DELAY_MS = 5;

/** A hub `a` with spokes (each a monitor of its own), links of DELAY_MS; `busy`: which of a's links carry a stream. */
function star(spokes: readonly string[], opts: { startAt?: Record<string, number> } = {}) {
  const clock = new VirtualClock();
  const cut = new Set<string>();
  const busy = new Set<string>();
  const sent: { from: string; to: string; at: number }[] = [];
  const down: { who: string; peer: string; at: number }[] = [];
  const monitors = new Map<string, LinkMonitor>();
  const make = (self: string, isBusy: (n: string) => boolean): LinkMonitor =>
    new LinkMonitor(
      clock,
      (to, msg) => {
        sent.push({ from: self, to, at: clock.now() });
        const spoke = self === 'a' ? to : self;
        if (!cut.has(spoke)) clock.setTimer(DELAY_MS, () => monitors.get(to)?.onHello(self, msg));
      },
      { up: () => {}, down: (peer) => down.push({ who: self, peer, at: clock.now() }) },
      DEFAULT_LINK_MONITOR,
      isBusy,
    );
  const hub = make('a', (n) => busy.has(n));
  monitors.set('a', hub);
  for (const s of spokes) {
    const m = make(s, () => busy.has(s));
    monitors.set(s, m);
    m.add('a');
  }
  hub.start();
  for (const s of spokes) {
    const at = opts.startAt?.[s] ?? 0;
    clock.setTimer(at, () => {
      hub.add(s);
      monitors.get(s)?.start();
    });
  }
  const hellos = (from: string, to: string, since: number) =>
    sent.filter((h) => h.from === from && h.to === to && h.at >= since).map((h) => h.at);
  return { clock, cut, busy, sent, down, hub, monitors, hellos };
}

describe('LinkMonitor on idle links', () => {
  it('wakes about once per idle period while every link is up and idle, and still says hello on each', () => {
    const s = star(['b', 'c', 'd']);
    s.clock.advance(2000);
    const ticks0 = s.hub.ticks;
    const from = s.clock.now();
    s.clock.advance(10_000);
    // The old timer ticked every FAST ms (100 ticks in 10 s).
    expect(s.hub.ticks - ticks0).toBeLessThanOrEqual(10_000 / IDLE + 1);
    for (const n of ['b', 'c', 'd']) {
      const at = s.hellos('a', n, from);
      expect(at.length).toBeGreaterThanOrEqual(10_000 / IDLE - 1);
      for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeLessThanOrEqual(IDLE);
    }
    expect(s.down).toEqual([]);
  });

  it('sends the hellos of links that came up at different times in one wake-up', () => {
    const s = star(['b', 'c', 'd'], { startAt: { b: 0, c: 330, d: 670 } });
    s.clock.advance(4000);
    const from = s.clock.now();
    s.clock.advance(5000);
    const times = new Set(s.sent.filter((h) => h.from === 'a' && h.at >= from).map((h) => h.at));
    expect(times.size).toBeLessThanOrEqual(5000 / IDLE + 1);
  });

  it('goes to the fast rate at once when nudged for a stream, and back to the idle rate after it', () => {
    const s = star(['b', 'c']);
    s.clock.advance(3000);
    s.clock.advance(IDLE / 2);
    const joinedAt = s.clock.now();
    s.busy.add('b');
    s.hub.nudge();
    s.monitors.get('b')?.nudge();
    s.clock.advance(1000);
    const toB = s.hellos('a', 'b', joinedAt);
    expect(toB[0]).toBe(joinedAt);
    expect(toB.length).toBeGreaterThanOrEqual(1000 / FAST);
    // The idle link keeps its idle rate meanwhile.
    expect(s.hellos('a', 'c', joinedAt).length).toBeLessThanOrEqual(2);
    s.busy.delete('b');
    s.clock.advance(1000);
    const ticks0 = s.hub.ticks;
    s.clock.advance(5000);
    expect(s.hub.ticks - ticks0).toBeLessThanOrEqual(5000 / IDLE + 1);
  });

  it('detects a silent idle link as soon as its idle deadline passes', () => {
    const s = star(['b', 'c']);
    s.clock.advance(5300);
    s.cut.add('b');
    const heard = s.hub.lastHeardAt('b')!;
    s.clock.advance(5000);
    const d = s.down.find((x) => x.who === 'a' && x.peer === 'b');
    expect(d).toBeDefined();
    // Three idle periods of silence, judged within one fast period of it (as with the old timer).
    expect(d!.at - heard).toBeGreaterThan(3 * IDLE);
    expect(d!.at - heard).toBeLessThanOrEqual(3 * IDLE + FAST);
    expect(s.hub.isAlive('c')).toBe(true);
  });

  it('detects a silent link carrying a stream within three fast periods, as before', () => {
    const s = star(['b']);
    s.clock.advance(3000);
    s.busy.add('b');
    s.hub.nudge();
    s.monitors.get('b')?.nudge();
    // Past a whole idle period: both ends judge the link by the fast rate.
    s.clock.advance(IDLE + 500);
    s.cut.add('b');
    const cutAt = s.clock.now();
    s.clock.advance(1000);
    const d = s.down.find((x) => x.who === 'a' && x.peer === 'b');
    expect(d!.at - cutAt).toBeGreaterThan(2 * FAST);
    expect(d!.at - cutAt).toBeLessThanOrEqual(4 * FAST);
  });

  it('probes a neighbour that is not up yet at the fast rate', () => {
    const s = star(['b']);
    s.clock.advance(3000);
    s.hub.add('z');
    const from = s.clock.now();
    s.clock.advance(1000);
    expect(s.hellos('a', 'z', from).length).toBeGreaterThanOrEqual(1000 / FAST);
    s.hub.remove('z');
    const ticks0 = s.hub.ticks;
    s.clock.advance(5000);
    expect(s.hub.ticks - ticks0).toBeLessThanOrEqual(5000 / IDLE + 1);
  });

  it('stops: no timer is left, and start() again resumes', () => {
    const s = star(['b']);
    s.clock.advance(2000);
    s.hub.stop();
    s.hub.stop();
    const ticks0 = s.hub.ticks;
    s.hub.nudge();
    s.clock.advance(5000);
    expect(s.hub.ticks).toBe(ticks0);
    s.hub.start();
    expect(s.hub.ticks).toBe(ticks0 + 1);
  });
});
