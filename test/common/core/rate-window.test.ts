import { describe, expect, it } from 'vitest';
import { KeyedRateWindows, RateWindow } from '../../../common/core/rate-window.ts';

describe('RateWindow', () => {
  it('allows `limit` units a window, then none until the next', () => {
    const w = new RateWindow(3, 1000);
    expect([w.take(0), w.take(10), w.take(20), w.take(30)]).toEqual([true, true, true, false]);
    expect(w.remaining(999)).toBe(0);
    expect(w.take(1000)).toBe(true);
    expect(w.remaining(1000)).toBe(2);
  });

  it('takes several units only when all fit; spend records what remaining allowed', () => {
    const w = new RateWindow(10);
    expect(w.take(0, 11)).toBe(false);
    expect(w.remaining(0)).toBe(10);
    w.spend(0, 7);
    expect(w.remaining(0)).toBe(3);
  });
});

describe('KeyedRateWindows', () => {
  it('gives each key its own budget', () => {
    const w = new KeyedRateWindows(2, 10);
    expect([w.take(0, 'a'), w.take(0, 'a'), w.take(0, 'a')]).toEqual([true, true, false]);
    expect(w.take(0, 'b')).toBe(true);
    expect(w.take(1000, 'a')).toBe(true);
  });

  it('bounds the table: a new key past maxKeys waits for the next window, known keys go on', () => {
    const w = new KeyedRateWindows(5, 2);
    expect([w.take(0, 'a'), w.take(0, 'b'), w.take(0, 'c')]).toEqual([true, true, false]);
    expect(w.take(0, 'a')).toBe(true);
    expect(w.take(1000, 'c')).toBe(true);
  });

  it('lets keys that find the table full share the overflow budget, the table staying bounded', () => {
    const w = new KeyedRateWindows(5, 2, 1000, 3);
    expect([w.take(0, 'a'), w.take(0, 'b')]).toEqual([true, true]);
    expect(['c', 'd', 'e', 'f'].map((k) => w.take(0, k))).toEqual([true, true, true, false]);
    expect(w.take(0, 'a')).toBe(true);
    expect(w.take(1000, 'f')).toBe(true);
  });
});
