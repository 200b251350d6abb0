/** The registration's retry waits (issue 13): a start backs off, and nodes started together spread out. */
import { describe, expect, it } from 'vitest';
import {
  jittered,
  RETRY_JITTER,
  START_RETRY_MAX_MS,
  START_RETRY_MS,
  startRetryMs,
} from '../../../onode/net/bootstrap-link.ts';

describe('start retry waits', () => {
  it('double from START_RETRY_MS up to START_RETRY_MAX_MS (no jitter at random = 0.5)', () => {
    const mid = () => 0.5;
    const waits = [1, 2, 3, 4, 5, 6, 20].map((n) => startRetryMs(n, mid));
    expect(waits).toEqual([300, 600, 1200, START_RETRY_MAX_MS, START_RETRY_MAX_MS, START_RETRY_MAX_MS, 2000]);
    expect(waits[0]).toBe(START_RETRY_MS);
  });

  it('are spread by at most RETRY_JITTER either way', () => {
    for (const r of [0, 0.1, 0.5, 0.9, 0.999]) {
      const ms = jittered(1000, () => r);
      expect(ms).toBeGreaterThanOrEqual(1000 * (1 - RETRY_JITTER));
      expect(ms).toBeLessThanOrEqual(1000 * (1 + RETRY_JITTER));
    }
    expect(jittered(1000, () => 0)).toBe(750);
    expect(jittered(1000, () => 0.999)).toBeGreaterThan(1240);
  });

  it('200 nodes failing together retry over a spread of times, not in step', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const at = Array.from({ length: 200 }, () => startRetryMs(4, random));
    expect(new Set(at).size).toBeGreaterThan(150);
    expect(Math.max(...at) - Math.min(...at)).toBeGreaterThan(START_RETRY_MAX_MS * RETRY_JITTER);
  });
});
