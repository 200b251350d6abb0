import { describe, expect, it } from 'vitest';
import { chooseBest, LATENCY_TOLERANCE } from '../../../onode/core/route-choice.ts';

const r = (via: string, latencyMs: number, hops: number) => ({ via, latencyMs, hops });

describe('chooseBest', () => {
  it('returns undefined for no candidates', () => {
    expect(chooseBest([])).toBeUndefined();
  });

  it('picks the lowest latency when hop counts are equal', () => {
    expect(chooseBest([r('a', 30, 3), r('b', 20, 3), r('c', 25, 3)])?.via).toBe('b');
  });

  it('prefers fewer hops within 10% of the lowest latency', () => {
    expect(chooseBest([r('far', 100, 5), r('near', 109, 2)])?.via).toBe('near');
  });

  it('accepts fewer hops exactly at the 10% limit', () => {
    expect(LATENCY_TOLERANCE).toBe(0.1);
    expect(chooseBest([r('far', 100, 5), r('near', 110, 2)])?.via).toBe('near');
  });

  it('ignores fewer hops beyond 10% of the lowest latency', () => {
    expect(chooseBest([r('far', 100, 5), r('near', 110.5, 2)])?.via).toBe('far');
  });

  it('among several near routes takes the fewest hops, then the lowest latency', () => {
    const picked = chooseBest([r('a', 100, 4), r('b', 108, 2), r('c', 105, 2), r('d', 104, 3), r('e', 200, 1)]);
    expect(picked?.via).toBe('c');
  });

  it('measures the 10% from the lowest latency, not from the current best', () => {
    // 'b' is within 10% of 'a' and has fewer hops; 'c' has fewer still but is 12% above 'a'.
    expect(chooseBest([r('a', 100, 5), r('b', 109, 3), r('c', 112, 1)])?.via).toBe('b');
  });

  it('breaks exact ties by neighbour name, whatever the input order', () => {
    const tied = [r('m', 50, 2), r('c', 50, 2), r('x', 50, 2)];
    expect(chooseBest(tied)?.via).toBe('c');
    expect(chooseBest([...tied].reverse())?.via).toBe('c');
  });

  it('handles zero latency (a server next door)', () => {
    expect(chooseBest([r('a', 0, 1), r('b', 0, 2)])?.via).toBe('a');
    expect(chooseBest([r('a', 0, 2), r('b', 0.01, 1)])?.via).toBe('a');
  });
});
