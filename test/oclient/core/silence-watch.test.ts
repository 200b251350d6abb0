import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import { SilenceWatch } from '../../../oclient/core/silence-watch.ts';

function watched(silentMs = 1000): { clock: VirtualClock; watch: SilenceWatch; silences: number[] } {
  const clock = new VirtualClock();
  const silences: number[] = [];
  const watch = new SilenceWatch(clock, silentMs, (ms) => silences.push(ms));
  return { clock, watch, silences };
}

describe('SilenceWatch', () => {
  it('tells once when nothing was heard for the silence, counted from start()', () => {
    const { clock, watch, silences } = watched();
    watch.start();
    clock.advance(900);
    expect(silences).toEqual([]);
    clock.advance(200);
    expect(silences).toEqual([1000]);
    expect(watch.running).toBe(false);
    clock.advance(5000);
    expect(silences).toHaveLength(1);
  });

  it('stays quiet while answers keep coming, and counts from the last one', () => {
    const { clock, watch, silences } = watched();
    watch.start();
    for (let i = 0; i < 20; i++) {
      clock.advance(300);
      watch.heard();
    }
    expect(silences).toEqual([]);
    clock.advance(1000);
    expect(silences).toEqual([1000]);
  });

  it('does not blame the POP for a stall of this process (answers may be unread in the socket)', () => {
    const { clock, watch, silences } = watched();
    watch.start();
    clock.advance(100);
    clock.stall(3000); // the timers fire late, before the socket is read
    clock.advance(0);
    expect(silences).toEqual([]);
    watch.heard(); // what the socket held, read once the timers ran
    clock.advance(900);
    expect(silences).toEqual([]);
  });

  it('still tells a real silence after such a stall', () => {
    const { clock, watch, silences } = watched();
    watch.start();
    clock.stall(3000);
    clock.advance(0);
    clock.advance(1000);
    expect(silences).toHaveLength(1);
  });

  it('stop() ends the watch; start() again counts afresh', () => {
    const { clock, watch, silences } = watched();
    watch.start();
    clock.advance(800);
    watch.stop();
    clock.advance(5000);
    expect(silences).toEqual([]);
    watch.start();
    clock.advance(999);
    expect(silences).toEqual([]);
    clock.advance(300);
    expect(silences).toHaveLength(1);
  });
});
