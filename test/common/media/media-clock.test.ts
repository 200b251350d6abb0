import { describe, expect, it } from 'vitest';
import { MediaClockError, ticksToMs, toRtpTimestamp } from '../../../common/media/media-clock.ts';

describe('toRtpTimestamp', () => {
  it('converts a track timescale to the RTP clock, rounding to the nearest tick', () => {
    expect(toRtpTimestamp(512, 12800, 90000)).toBe(3600);
    expect(toRtpTimestamp(1, 3, 90000)).toBe(30000);
    expect(toRtpTimestamp(1, 7, 10)).toBe(1); // 1.43 -> 1
    expect(toRtpTimestamp(48000, 48000, 48000)).toBe(48000);
  });

  it('adds the base and wraps to 32 bits, negative times included', () => {
    expect(toRtpTimestamp(10, 90000, 90000, 2 ** 32 - 5)).toBe(5);
    expect(toRtpTimestamp(-1024, 48000, 48000)).toBe(2 ** 32 - 1024);
    expect(toRtpTimestamp(-1024, 48000, 48000, 1024)).toBe(0);
    // Ten hours at 90 kHz passes 2^32 once.
    expect(toRtpTimestamp(36000 * 12800, 12800, 90000)).toBe((36000 * 90000) % 2 ** 32);
  });

  it('throws for a timescale or clock rate that is not a positive integer', () => {
    expect(() => toRtpTimestamp(1, 0, 90000)).toThrow(MediaClockError);
    expect(() => toRtpTimestamp(1, 1000, 1.5)).toThrow(MediaClockError);
  });

  it('gives milliseconds', () => {
    expect(ticksToMs(512, 12800)).toBe(40);
    expect(ticksToMs(-1024, 48000)).toBeCloseTo(-21.333, 3);
  });
});
