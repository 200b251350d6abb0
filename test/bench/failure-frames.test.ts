/** The failure benchmark's reading of what a viewer saw: frames lost, repeated, a new channel. */
import { describe, expect, it } from 'vitest';
import { analyseFailure, type Arrival } from '../../bench/failures/frames.ts';

const PERIOD = 40;
const FRAMES = 150;
/** Frames `indexes` arriving one period apart from t = 0. */
const arrivals = (indexes: readonly number[]): Arrival[] => indexes.map((index, i) => ({ at: i * PERIOD, index }));

describe('analyseFailure', () => {
  it('counts nothing on a clean run', () => {
    const o = analyseFailure(arrivals([...Array(50).keys()]), 1000, FRAMES, PERIOD);
    expect([o.framesLost, o.framesRepeated, o.newChannel]).toEqual([0, 0, false]);
  });

  it('counts a frame shown twice, and a step back, as repeated', () => {
    const twice = analyseFailure(arrivals([0, 1, 2, 3, 3, 4, 5, 6]), 100, FRAMES, PERIOD);
    expect([twice.framesLost, twice.framesRepeated]).toEqual([0, 1]);
    const back = analyseFailure(arrivals([0, 1, 2, 3, 4, 5, 3, 4, 5, 6]), 1000, FRAMES, PERIOD);
    expect(back.framesRepeated).toBe(3);
    // After the failure a step back reads as another channel, whose first frames were shown already.
    const behind = analyseFailure(arrivals([0, 1, 2, 3, 4, 5, 3, 4, 5, 6]), 100, FRAMES, PERIOD);
    expect([behind.newChannel, behind.framesRepeated]).toEqual([true, 3]);
  });

  it('counts frames missing from the timeline as lost', () => {
    const o = analyseFailure(arrivals([0, 1, 2, 5, 6, 7]), 100, FRAMES, PERIOD);
    expect([o.framesLost, o.framesRepeated]).toEqual([2, 0]);
  });
});
