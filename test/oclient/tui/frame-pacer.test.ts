import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FramePacer } from '../../../oclient/tui/frame-pacer.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function pacer(opts: { ready?: () => boolean; whenReady?: (cb: () => void) => void } = {}) {
  const drawn: number[] = [];
  const p = new FramePacer<number>((f) => drawn.push(f), { minIntervalMs: 40, now: () => Date.now(), ...opts });
  return { p, drawn };
}

describe('FramePacer', () => {
  it('draws a frame on the next turn of the event loop', () => {
    const { p, drawn } = pacer();
    p.push(1);
    expect(drawn).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(drawn).toEqual([1]);
    expect(p.shown).toBe(1);
  });

  it('draws only the newest of a burst and counts the rest as skipped', () => {
    const { p, drawn } = pacer();
    for (let i = 1; i <= 5; i++) p.push(i);
    vi.advanceTimersByTime(0);
    expect(drawn).toEqual([5]);
    expect(p).toMatchObject({ shown: 1, skipped: 4 });
  });

  it('keeps draws at least minIntervalMs apart, never queueing', () => {
    const { p, drawn } = pacer();
    p.push(1);
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(10);
    p.push(2);
    vi.advanceTimersByTime(10);
    p.push(3);
    vi.advanceTimersByTime(10);
    expect(drawn).toEqual([1]);
    vi.advanceTimersByTime(10); // 40 ms after the first draw
    expect(drawn).toEqual([1, 3]);
    expect(p.skipped).toBe(1);
    vi.advanceTimersByTime(200);
    expect(drawn).toEqual([1, 3]);
  });

  it('draws every frame when they come slower than the limit', () => {
    const { p, drawn } = pacer();
    for (let i = 1; i <= 4; i++) {
      p.push(i);
      vi.advanceTimersByTime(50);
    }
    expect(drawn).toEqual([1, 2, 3, 4]);
    expect(p.skipped).toBe(0);
  });

  it('waits for a slow output to drain, then draws the newest frame', () => {
    let ready = false;
    let resume: (() => void) | null = null;
    const { p, drawn } = pacer({
      ready: () => ready,
      whenReady: (cb) => {
        resume = cb;
      },
    });
    p.push(1);
    vi.advanceTimersByTime(100);
    p.push(2);
    p.push(3);
    vi.advanceTimersByTime(100);
    expect(drawn).toEqual([]);
    expect(resume).not.toBeNull();
    ready = true;
    (resume as unknown as () => void)();
    vi.advanceTimersByTime(0);
    expect(drawn).toEqual([3]);
    expect(p).toMatchObject({ shown: 1, skipped: 2 });
  });

  it('draws nothing after stop', () => {
    const { p, drawn } = pacer();
    p.push(1);
    p.stop();
    p.push(2);
    vi.advanceTimersByTime(100);
    expect(drawn).toEqual([]);
  });
});
