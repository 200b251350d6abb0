import { describe, expect, it } from 'vitest';
import {
  clearlyFaster,
  DATA_SILENCE_FRAMES,
  FrameGap,
  MIN_DATA_SILENCE_MS,
  SWITCH_CONFIRMATIONS,
  SwitchHysteresis,
} from '../../../../onode/core/stream/switch-policy.ts';

describe('clearlyFaster', () => {
  it('wants 20 % and at least 2 ms less latency, both routes known', () => {
    expect(clearlyFaster(50, 40)).toBe(true);
    expect(clearlyFaster(50, 41)).toBe(false); // 18 % faster
    expect(clearlyFaster(5, 3.5)).toBe(false); // 30 % faster, but 1.5 ms
    expect(clearlyFaster(10, 8)).toBe(true);
    expect(clearlyFaster(undefined, 1)).toBe(false);
    expect(clearlyFaster(50, undefined)).toBe(false);
  });
});

describe('SwitchHysteresis', () => {
  it(`confirms a faster route only on the ${SWITCH_CONFIRMATIONS}rd refresh in a row, then counts again`, () => {
    const h = new SwitchHysteresis();
    const seen = [true, true, true, true, true, true].map((f) => h.confirm(f));
    expect(seen).toEqual([false, false, true, false, false, true]);
  });

  it('starts over when one refresh finds no faster route', () => {
    const h = new SwitchHysteresis();
    expect([true, true, false, true, true, true].map((f) => h.confirm(f))).toEqual([
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
  });
});

describe('FrameGap', () => {
  /** 25 fps with two packets 1 ms apart per frame, from `start` for `frames` frames; returns the last arrival. */
  function feed(g: FrameGap, start: number, frames: number): number {
    let t = start;
    for (let i = 0; i < frames; i++) {
      t = start + 40 * i;
      g.arrived(t);
      g.arrived(t + 1);
    }
    return t + 1;
  }

  it('learns the gap between frames, not between the packets of one frame', () => {
    const g = new FrameGap();
    expect(g.gapMs).toBeNull();
    feed(g, 0, 20);
    expect(g.gapMs).toBeCloseTo(39, 5);
  });

  it('follows a rate change gradually (a moving average)', () => {
    const g = new FrameGap();
    const last = feed(g, 0, 10);
    g.arrived(last + 100);
    expect(g.gapMs).toBeGreaterThan(39);
    expect(g.gapMs).toBeLessThan(100);
  });

  it(`reports a silence of ${DATA_SILENCE_FRAMES} frame gaps (never under ${MIN_DATA_SILENCE_MS} ms) once`, () => {
    const g = new FrameGap();
    const last = feed(g, 0, 10);
    expect(g.overdue(last + MIN_DATA_SILENCE_MS - 1)).toBeNull();
    expect(g.overdue(last + MIN_DATA_SILENCE_MS)).toBe(MIN_DATA_SILENCE_MS);
    expect(g.overdue(last + MIN_DATA_SILENCE_MS + 1)).toBeNull(); // the same silence, reported already

    const slow = new FrameGap();
    for (let t = 0; t <= 1000; t += 200) slow.arrived(t);
    expect(slow.overdue(1000 + 3 * 200 - 1)).toBeNull();
    expect(slow.overdue(1000 + 3 * 200)).toBe(600);
  });

  it('gives an upstream whose frames come in bursts (a busy host) longer before calling it silent', () => {
    const steady = new FrameGap();
    const last = feed(steady, 0, 50);
    expect(steady.overdue(last + MIN_DATA_SILENCE_MS)).toBe(MIN_DATA_SILENCE_MS);
    // The same 25 fps, but held up and then delivered: gaps of 10 ms and 190 ms in turn.
    const bursty = new FrameGap();
    let t = 0;
    for (let i = 0; i < 50; i++) {
      t += i % 2 === 0 ? 10 : 190;
      bursty.arrived(t);
    }
    expect(bursty.overdue(t + MIN_DATA_SILENCE_MS)).toBeNull();
    const limit = bursty.overdue(t + 1000);
    expect(limit).toBeGreaterThan(MIN_DATA_SILENCE_MS + 100);
    expect(limit).toBeLessThan(1000);
  });

  it('reports nothing before the gap is known', () => {
    const g = new FrameGap();
    g.arrived(0);
    expect(g.overdue(10_000)).toBeNull();
  });
});
