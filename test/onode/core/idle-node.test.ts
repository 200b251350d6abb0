/**
 * An idle overlay node's timers (issue 13): on an idle daemon most CPU goes on wake-ups, so a relay
 * with every link up and no stream must wake only a few times a second, and come back to that
 * after a stream through it ends.
 */
import { describe, expect, it } from 'vitest';
import { type Clock, VirtualClock } from '../../../common/core/clock.ts';
import type { OverlayMessage } from '../../../common/wire/overlay.ts';
import { OverlayNode } from '../../../onode/core/overlay-node.ts';
import { fakeMovie, SimNetwork } from '../../../onode/sim/sim-network.ts';

/** A clock that counts the timer callbacks that fire (each one a wake-up in a real process). */
class CountingClock implements Clock {
  fired = 0;
  constructor(private readonly base: Clock) {}
  now(): number {
    return this.base.now();
  }
  setTimer(ms: number, fn: () => void) {
    return this.base.setTimer(ms, () => {
      this.fired++;
      fn();
    });
  }
}

/** A relay `r` between two nodes, each link 2 ms; `r` counts its wake-ups. */
function line() {
  const clock = new VirtualClock();
  const counting = new CountingClock(clock);
  const nodes = new Map<string, OverlayNode>();
  const outbox = (self: string) => ({
    send: (to: string, msg: OverlayMessage) => clock.setTimer(2, () => nodes.get(to)?.receive(self, msg)),
    sendData: () => {},
  });
  for (const name of ['a', 'r', 'b']) {
    nodes.set(name, new OverlayNode(name, name === 'r' ? counting : clock, outbox(name)));
  }
  nodes.get('a')?.setNeighbours(['r']);
  nodes.get('b')?.setNeighbours(['r']);
  nodes.get('r')?.setNeighbours(['a', 'b']);
  for (const n of nodes.values()) n.start();
  return { clock, counting, r: nodes.get('r')! };
}

describe('an idle overlay node', () => {
  it('wakes at most twice a second once its links are up (it woke 11 times a second before)', () => {
    const l = line();
    l.clock.advance(5000);
    expect(l.r.links.isAlive('a') && l.r.links.isAlive('b')).toBe(true);
    const fired = l.counting.fired;
    l.clock.advance(20_000);
    expect((l.counting.fired - fired) / 20).toBeLessThanOrEqual(2);
    expect(l.r.links.isAlive('a') && l.r.links.isAlive('b')).toBe(true);
  });

  it('keeps no branch sweep while it has no branch, and comes back to idle after a stream ends', () => {
    const net = new SimNetwork();
    net.addNode('s', [fakeMovie('m')]);
    net.addNode('r');
    net.addNode('p');
    net.addLink('s', 'r', 2);
    net.addLink('r', 'p', 2);
    net.start();
    net.run(3000);
    expect(net.node('r').tree.sweeping).toBe(false);
    const v = net.watch('p', 'm');
    net.run(2000);
    expect(v.packets.length).toBeGreaterThan(0);
    expect(net.node('r').tree.sweeping).toBe(true);
    net.unwatch(v);
    // The branch is left, the stream lingers and ends; the next sweep finds no branch and stops.
    net.run(5000);
    expect(net.node('r').streams()).toEqual([]);
    expect(net.node('r').tree.sweeping).toBe(false);
  });
});
