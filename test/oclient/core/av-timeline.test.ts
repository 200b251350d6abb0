import { describe, expect, it } from 'vitest';
import { AvTimeline, ntpToMs, RtpUnwrapper, timestampDiff } from '../../../oclient/core/av-timeline.ts';

describe('RtpUnwrapper', () => {
  it('counts on through the 32-bit wrap and back', () => {
    const u = new RtpUnwrapper();
    expect(u.unwrap(0xffff_fff0)).toBe(0xffff_fff0);
    expect(u.unwrap(0x10)).toBe(0x1_0000_0010);
    expect(u.unwrap(0xffff_fff8)).toBe(0xffff_fff8);
    expect(u.peek(0x20)).toBe(0x1_0000_0020);
    expect(timestampDiff(5, 0xffff_fffb)).toBe(10);
  });
});

describe('AvTimeline', () => {
  const rates = { video: 90_000, audio: 48_000 };

  it('anchors the first track at its arrival and the other exactly from the sync point', () => {
    const t = new AvTimeline(rates, { video: 1000, audio: 7000 });
    expect(t.place('audio', 7000 + 4800, 500)).toEqual({ ticks: 11_800, timeMs: 500 });
    // Video arrives "late" (at 900 ms), but its time comes from the sync point: 100 ms after it.
    expect(t.place('video', 1000 + 9000, 900).timeMs).toBeCloseTo(500, 9);
    expect(t.place('video', 1000 + 18_000, 950).timeMs).toBeCloseTo(600, 9);
    expect(t.anchoredBy('video')).toBe('sync');
  });

  it('without a sync point, anchors each track at its own arrival', () => {
    const t = new AvTimeline(rates);
    t.place('video', 123, 10);
    expect(t.place('audio', 999, 30).timeMs).toBe(30);
    expect(t.anchoredBy('audio')).toBe('arrival');
  });

  it('syncs from both sender reports', () => {
    const t = new AvTimeline(rates);
    t.senderReport('video', ntpToMs(100, 2 ** 31), 90_000);
    t.senderReport('audio', ntpToMs(101, 0), 48_000);
    // Audio timestamp 48000 is at NTP 101.0 s; video 90000 at 100.5 s, so video 135000 is at 101.0 s.
    const a = t.place('audio', 48_000, 0).timeMs;
    expect(t.place('video', 135_000, 77).timeMs).toBeCloseTo(a, 6);
  });

  it('starts a track over after a restart', () => {
    const t = new AvTimeline(rates);
    t.place('video', 0, 0);
    t.restart('video');
    expect(t.place('video', 5_000_000, 2000).timeMs).toBe(2000);
  });
});
