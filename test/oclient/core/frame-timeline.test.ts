import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FrameTimeline,
  MAX_BEHIND_TICKS,
  MAX_DROPS_IN_A_ROW,
  type TimelineVerdict,
} from '../../../oclient/core/frame-timeline.ts';

const TICKS = 3600; // 25 fps at 90 kHz
const A = 0x1234_5678;
const B = 0x9abc_def0;

/** Offers frames n (timestamps base + n * TICKS) of `ssrc`; the verdicts. */
function offer(t: FrameTimeline, ssrc: number, base: number, ns: readonly number[]): TimelineVerdict[] {
  return ns.map((n) => t.offer(ssrc, (base + n * TICKS) >>> 0));
}

describe('the frame timeline', () => {
  it("drops a POP's fast-start resend of the last frame shown, after a failover (same SSRC)", () => {
    const t = new FrameTimeline({ fps: 25 });
    expect(offer(t, A, 1000, [0, 1, 2, 3])).toEqual(['show', 'show', 'show', 'show']);
    // The next POP: its fast start resends frame 3, then the live stream goes on at 4.
    expect(offer(t, A, 1000, [3, 4, 5])).toEqual(['drop', 'show', 'show']);
    expect(t.counts).toEqual({ framesRepeated: 0, framesSkipped: 0, framesDuplicate: 1 });
    expect(t.lastShown).toEqual({ ssrc: A, timestamp: 1000 + 5 * TICKS });
  });

  it('never goes backward: late frames from the old session are dropped, not shown out of order', () => {
    const t = new FrameTimeline({ fps: 25 });
    expect(offer(t, A, 0, [10, 11, 9, 12, 11, 13])).toEqual(['show', 'show', 'drop', 'show', 'drop', 'show']);
    expect(t.counts.framesDuplicate).toBe(2);
    expect(t.counts.framesRepeated).toBe(0);
  });

  it('counts a jump forward as the frames skipped, duplicates not among them', () => {
    const t = new FrameTimeline({ fps: 25 });
    offer(t, A, 0, [0, 1, 2]);
    offer(t, A, 0, [2, 86, 87]); // a server 83 frames ahead took over
    expect(t.counts).toEqual({ framesRepeated: 0, framesSkipped: 83, framesDuplicate: 1 });
  });

  it('compares timestamps modulo 2^32 across the wrap', () => {
    const t = new FrameTimeline({ fps: 25 });
    const base = 0xffff_ffff - 2 * TICKS;
    expect(offer(t, A, base, [0, 1, 2, 3, 2, 4, 6])).toEqual(['show', 'show', 'show', 'show', 'drop', 'show', 'show']);
    expect(t.counts).toEqual({ framesRepeated: 0, framesSkipped: 1, framesDuplicate: 1 });
  });

  it('takes another SSRC as another timeline: shown, nothing counted either way', () => {
    const t = new FrameTimeline({ fps: 25 });
    offer(t, A, 5_000_000, [0, 1, 2]);
    // A server with its own random base: behind or far ahead, it is simply the new timeline.
    expect(offer(t, B, 7, [0, 1, 2])).toEqual(['show', 'show', 'show']);
    expect(offer(t, A, 5_000_000, [3, 4])).toEqual(['show', 'show']);
    expect(t.counts).toEqual({ framesRepeated: 0, framesSkipped: 0, framesDuplicate: 0 });
  });

  it('follows a source that restarted its clock under the same SSRC, counting the frames repeated', () => {
    const far = new FrameTimeline({ fps: 25 });
    offer(far, A, 0, [1000, 1001]);
    expect(far.offer(A, 1001 * TICKS - MAX_BEHIND_TICKS - 1)).toBe('show');
    expect(far.counts.framesRepeated).toBe(1);
    // Near, but for good: after MAX_DROPS_IN_A_ROW drops the picture moves again.
    const near = new FrameTimeline({ fps: 25 });
    offer(near, A, 0, [1000]);
    const verdicts = offer(
      near,
      A,
      0,
      Array.from({ length: MAX_DROPS_IN_A_ROW }, (_, i) => 900 + i),
    );
    expect(verdicts.filter((v) => v === 'drop')).toHaveLength(MAX_DROPS_IN_A_ROW - 1);
    expect(verdicts.at(-1)).toBe('show');
    expect(near.counts).toMatchObject({ framesRepeated: 1, framesDuplicate: MAX_DROPS_IN_A_ROW - 1 });
  });

  it('learns the frame interval from the stream when the fps is unknown', () => {
    const t = new FrameTimeline();
    offer(t, A, 0, [0, 2, 3, 4, 8]); // first step 2 frames: learnt as the interval until a smaller one
    expect(t.counts.framesSkipped).toBe(3);
  });

  it('never shows a timestamp at or before one shown on the same SSRC, whatever the order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: MAX_DROPS_IN_A_ROW - 1 }),
        fc.nat(),
        (ns, base) => {
          const t = new FrameTimeline({ fps: 25 });
          let shown = -1;
          for (const n of ns) {
            if (t.offer(A, (base + n * TICKS) >>> 0) === 'show') {
              expect(n).toBeGreaterThan(shown);
              shown = n;
            }
          }
          expect(t.counts.framesRepeated).toBe(0);
        },
      ),
    );
  });
});
