import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import { Interval } from '../../../common/core/interval.ts';

describe('Interval', () => {
  it('runs every ms from start until stop, in virtual time', () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    const interval = new Interval(clock, 100, () => at.push(clock.now()));
    interval.start();
    clock.advance(350);
    interval.stop();
    clock.advance(1000);
    expect(at).toEqual([100, 200, 300]);
    expect(clock.pending()).toBe(0);
  });

  it('with `now`, runs at once and then every ms', () => {
    const clock = new VirtualClock(5);
    const at: number[] = [];
    new Interval(clock, 100, () => at.push(clock.now())).start(true);
    clock.advance(200);
    expect(at).toEqual([5, 105, 205]);
  });

  it('keeps one timer however often start is called, and stop twice is harmless', () => {
    const clock = new VirtualClock();
    let runs = 0;
    const interval = new Interval(clock, 10, () => runs++);
    interval.start();
    interval.start(true);
    expect(runs).toBe(0);
    expect(clock.pending()).toBe(1);
    clock.advance(30);
    expect(runs).toBe(3);
    interval.stop();
    interval.stop();
    expect(interval.running).toBe(false);
    expect(clock.pending()).toBe(0);
  });

  it('stops for good when fn stops it, and keeps one timer when fn restarts it', () => {
    const clock = new VirtualClock();
    let runs = 0;
    const stopping: Interval = new Interval(clock, 10, () => {
      runs++;
      stopping.stop();
    });
    stopping.start();
    clock.advance(100);
    expect(runs).toBe(1);
    expect(clock.pending()).toBe(0);

    const restarting: Interval = new Interval(clock, 10, () => {
      restarting.stop();
      restarting.start();
    });
    restarting.start();
    clock.advance(35);
    expect(clock.pending()).toBe(1);
  });

  it('keeps running after a run that threw (the error still reaches the caller)', () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    const interval = new Interval(clock, 100, () => {
      at.push(clock.now());
      if (at.length === 1) throw new Error('a bug in one run');
    });
    interval.start();
    expect(() => clock.advance(100)).toThrow('a bug in one run');
    clock.advance(200);
    expect(at).toEqual([100, 200, 300]);
    expect(interval.running).toBe(true);
    interval.stop();
  });

  it('starts again after a stop', () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    const interval = new Interval(clock, 50, () => at.push(clock.now()));
    interval.start();
    clock.advance(60);
    interval.stop();
    clock.advance(100);
    interval.start();
    clock.advance(60);
    expect(at).toEqual([50, 210]);
  });
});
