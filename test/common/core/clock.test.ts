import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';

describe('VirtualClock', () => {
  it('fires timers in deadline order, ties in scheduling order, only when advanced', () => {
    const clock = new VirtualClock(1000);
    const fired: string[] = [];
    clock.setTimer(20, () => fired.push('b'));
    clock.setTimer(10, () => fired.push('a'));
    clock.setTimer(20, () => fired.push('c'));
    expect(fired).toEqual([]);
    clock.advance(15);
    expect(fired).toEqual(['a']);
    expect(clock.now()).toBe(1015);
    clock.advance(100);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.now()).toBe(1115);
  });

  it('runs timers scheduled by timers and skips cancelled ones', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const t = clock.setTimer(5, () => fired.push(5));
    clock.setTimer(1, () => clock.setTimer(1, () => fired.push(2)));
    t.cancel();
    clock.advance(10);
    expect(fired).toEqual([2]);
    expect(clock.pending()).toBe(0);
  });
});
