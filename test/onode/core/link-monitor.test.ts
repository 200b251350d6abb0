import { describe, expect, it } from 'vitest';
import { OffsetClock, VirtualClock } from '../../../common/core/clock.ts';
import type { HelloMessage } from '../../../common/wire/overlay.ts';
import { LinkMonitor } from '../../../onode/core/link-monitor.ts';

/** Two monitors joined by a link of `delayMs` each way, with their own clock offsets. */
function pair(delayMs: number, offsetA: number, offsetB: number) {
  const clock = new VirtualClock();
  const hellos: HelloMessage[] = [];
  const events: string[] = [];
  let linkUp = true;
  const monitors: Record<string, LinkMonitor> = {};
  const make = (self: string, _peer: string, offset: number): LinkMonitor =>
    new LinkMonitor(
      new OffsetClock(clock, offset),
      (to, msg) => {
        hellos.push(msg);
        if (linkUp) clock.setTimer(delayMs, () => monitors[to]!.onHello(self, msg));
      },
      { up: (n) => events.push(`${self}:up:${n}`), down: (n) => events.push(`${self}:down:${n}`) },
    );
  monitors.a = make('a', 'b', offsetA);
  monitors.b = make('b', 'a', offsetB);
  monitors.a.add('b');
  monitors.b.add('a');
  monitors.a.start();
  monitors.b.start();
  return {
    clock,
    hellos,
    events,
    a: monitors.a,
    b: monitors.b,
    cut: () => {
      linkUp = false;
    },
  };
}

describe('LinkMonitor', () => {
  it.each([
    [0, 0],
    [-5000, 3000],
    [4999.5, -4999.5],
  ])('measures RTT = 2 × delay whatever the clock offsets (%d, %d)', (offsetA, offsetB) => {
    const p = pair(7, offsetA, offsetB);
    p.clock.advance(1000);
    expect(p.a.rttMs('b')).toBe(14);
    expect(p.b.rttMs('a')).toBe(14);
    expect([...p.events].sort()).toEqual(['a:up:b', 'b:up:a']);
  });

  it('sends timestamps as unsigned 32-bit microseconds even when the clock reads negative', () => {
    const p = pair(3, -5000, -5000);
    p.clock.advance(500);
    expect(p.hellos.length).toBeGreaterThan(0);
    for (const h of p.hellos) {
      for (const v of [h.sentAtUs, h.echoSentAtUs, h.holdUs]) {
        expect(Number.isInteger(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThan(2 ** 32);
      }
    }
  });

  it('declares a silent neighbour dead after three missed hellos, once', () => {
    const p = pair(5, 0, 0);
    p.clock.advance(1000);
    p.cut();
    const cutAt = p.clock.now();
    let downAt: number | null = null;
    while (downAt === null && p.clock.now() < cutAt + 2000) {
      p.clock.advance(10);
      if (!p.a.isAlive('b')) downAt = p.clock.now();
    }
    // Last hello heard up to one period before the cut; dead once silent for more than 300 ms.
    expect(downAt! - cutAt).toBeGreaterThan(200);
    expect(downAt! - cutAt).toBeLessThanOrEqual(400);
    p.clock.advance(2000);
    expect(p.events.filter((e) => e === 'a:down:b')).toHaveLength(1);
    expect(p.a.deaths('b')).toBe(1);
  });

  it('declares nobody dead on a tick that ran late because the thread stalled', () => {
    const p = pair(5, 0, 0);
    // Between ticks, with the last hellos delivered: the next thing due is a tick.
    p.clock.advance(1050);
    // Half a second without running (a busy host): the ticks fire late, before any hello is read.
    p.clock.stall(500);
    p.clock.advance(300);
    expect(p.a.isAlive('b') && p.b.isAlive('a')).toBe(true);
    expect(p.events.filter((e) => e.includes('down'))).toEqual([]);
    expect(p.a.stalledTicks).toBe(1);
  });
});
