import { describe, expect, it } from 'vitest';
import { AvContinuity, MAX_JUMP_S } from '../../../oclient/core/av-continuity.ts';
import type { AvUnit } from '../../../oclient/core/av-receiver.ts';

const V = 0x1111;
const A = 0x2222;
/** Video at 25 fps (3600 ticks), decode order I P B B P B B ... with pts as a B-frame stream has them. */
function video(n: number, base = 0xffff_f000, arrivalMs = 0): AvUnit {
  // Display index of the n-th unit in decode order: 0, 3, 1, 2, 6, 4, 5, ...
  const group = Math.floor((n - 1) / 3);
  const display = n === 0 ? 0 : (n - 1) % 3 === 0 ? 3 * group + 3 : 3 * group + ((n - 1) % 3);
  const pts = base + display * 3600;
  return {
    track: 'video',
    pts,
    timeMs: arrivalMs + (display * 3600) / 90,
    keyframe: n % 12 === 0,
    nals: [],
    annexB: Buffer.alloc(0),
  };
}
function audio(n: number, base = 1000, arrivalMs = 0): AvUnit {
  return { track: 'audio', pts: base + n * 1024, timeMs: arrivalMs + (n * 1024) / 48, data: Buffer.alloc(1) };
}

const rates = { video: 90_000, audio: 48_000 };

describe('AvContinuity', () => {
  it('passes one session through unchanged', () => {
    const c = new AvContinuity(rates);
    c.beginSession();
    for (let n = 0; n < 30; n++) {
      expect(c.admit(video(n), V)?.timeMs).toBe(video(n).timeMs);
      expect(c.admit(audio(n), A)?.timeMs).toBeCloseTo(audio(n).timeMs, 6);
    }
    expect(c.counts.video).toEqual({ duplicates: 0, stale: 0, newTimelines: 0 });
  });

  it("after a switch, drops the new POP's resend up to the last unit written and continues the timeline", () => {
    const c = new AvContinuity(rates);
    c.beginSession();
    const out: number[] = [];
    for (let n = 0; n < 17; n++) if (c.admit(video(n), V)) out.push(n);
    // The new session's own timeline is elsewhere (anchored at its arrival): the output must not follow it.
    c.beginSession();
    const later = 5000;
    const times: number[] = [];
    for (let n = 12; n < 30; n++) {
      const u = c.admit(video(n, undefined, later), V);
      if (u) {
        out.push(n);
        times.push(u.timeMs);
      }
    }
    expect(out).toEqual(Array.from({ length: 30 }, (_, n) => n));
    expect(c.counts.video.duplicates).toBe(5); // units 12..16
    expect(times[0]).toBe(video(17).timeMs);
  });

  it('drops a unit never written that would come out of decode order, and resumes at a later keyframe', () => {
    const c = new AvContinuity(rates);
    c.beginSession();
    for (const n of [0, 1, 2, 3, 5, 6]) c.admit(video(n), V); // 4 was lost in the old session
    c.beginSession();
    const got = [];
    for (let n = 0; n < 10; n++) if (c.admit(video(n), V)) got.push(n);
    expect(got).toEqual([7, 8, 9]); // 4, written now, would follow 6 in decode order
    expect(c.counts.video.duplicates).toBe(6);
    expect(c.counts.video.stale).toBe(1);
    // Should the last unit written (9) never come again, the next keyframe (12) continues the file.
    c.beginSession();
    const after = [];
    for (let n = 0; n < 14; n++) if (n !== 9 && c.admit(video(n), V)) after.push(n);
    expect(after).toEqual([12, 13]);
  });

  it('audio after a switch: any later frame continues it', () => {
    const c = new AvContinuity(rates);
    c.beginSession();
    for (let n = 0; n < 10; n++) c.admit(audio(n), A);
    c.beginSession();
    const got = [];
    for (let n = 12; n < 15; n++) if (c.admit(audio(n, undefined, 9999), A)) got.push(n);
    expect(got).toEqual([12, 13, 14]);
    expect(c.admit(audio(13), A)).toBeNull();
  });

  it('another SSRC or a clock jump is a new timeline after everything written, both tracks by one offset', () => {
    const c = new AvContinuity(rates);
    c.beginSession();
    for (let n = 0; n < 10; n++) {
      c.admit(video(n), V);
      c.admit(audio(n), A);
    }
    c.beginSession();
    const v = c.admit(video(0, 777, 100_000), 0x9999);
    const a = c.admit(audio(0, 5, 100_000 + 3), 0x8888);
    expect(v).not.toBeNull();
    const end = Math.max(video(9).timeMs, audio(9).timeMs);
    expect(v?.timeMs).toBe(end + 1);
    expect((a?.timeMs ?? 0) - (v?.timeMs ?? 0)).toBeCloseTo(3, 6);
    expect(c.counts.video.newTimelines).toBe(1);
    const jump = c.admit(audio(0, 5 + (MAX_JUMP_S + 1) * 48_000, 200_000), 0x8888);
    expect(jump).not.toBeNull();
    expect(c.counts.audio.newTimelines).toBe(2);
  });
});
