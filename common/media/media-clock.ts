/**
 * Media time to RTP timestamps. A track counts time in its own timescale (MP4's mdhd, e.g.
 * 12800 ticks per second); RTP counts in the payload format's clock rate (90 kHz for H.264,
 * the sampling rate for AAC), modulo 2^32 from a random base (RFC 3550 section 5.1).
 */

const RTP_TIMESTAMP_MOD = 2 ** 32;

/** Thrown for a timescale or clock rate that is not a positive integer. */
export class MediaClockError extends Error {
  override readonly name = 'MediaClockError';
}

/**
 * `time` ticks of `timescale` as an RTP timestamp at `clockRate`, rounded to the nearest tick,
 * plus `base`, wrapped to 32 bits. Negative times (AAC priming before the first picture) wrap too.
 */
export function toRtpTimestamp(time: number, timescale: number, clockRate: number, base = 0): number {
  for (const [what, n] of [
    ['timescale', timescale],
    ['clock rate', clockRate],
  ] as const) {
    if (!Number.isInteger(n) || n <= 0) throw new MediaClockError(`${what} must be a positive integer, got ${n}`);
  }
  const ticks = timescale === clockRate ? time : Math.round((time * clockRate) / timescale);
  const wrapped = (ticks + base) % RTP_TIMESTAMP_MOD;
  return wrapped < 0 ? wrapped + RTP_TIMESTAMP_MOD : wrapped;
}

/** Milliseconds of `time` ticks of `timescale` (not rounded). */
export function ticksToMs(time: number, timescale: number): number {
  return (time * 1000) / timescale;
}
