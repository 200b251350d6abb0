import { describe, expect, it } from 'vitest';
import { avByName, outputMismatch } from '../../../oclient/core/output-kind.ts';

describe('output kinds', () => {
  it("tells an H.264 movie by its file's extension, an MJPEG one by .mjpeg, and nothing else", () => {
    expect(['a.mp4', 'b.MKV', 'c.mov', 'd.m4v'].map(avByName)).toEqual([true, true, true, true]);
    expect(['bars.mjpeg', 'x.MJPG'].map(avByName)).toEqual([false, false]);
    expect(avByName('live-camera')).toBeUndefined();
  });

  it('an H.264 movie takes .mkv or .mp4; an MJPEG movie anything else, as before', () => {
    expect(outputMismatch('out.mkv', 'a.mp4', true)).toBeNull();
    expect(outputMismatch('out.MP4', 'a.mp4', true)).toBeNull();
    expect(outputMismatch('out.mjpeg', 'a.mp4', true)).toMatch(/H\.264 movie: --output must end in \.mkv or \.mp4/);
    expect(outputMismatch('out.mjpeg', 'bars.mjpeg', false)).toBeNull();
    expect(outputMismatch('frames.jpg', 'bars.mjpeg', false)).toBeNull();
    expect(outputMismatch('out.mkv', 'bars.mjpeg', false)).toMatch(/MJPEG movie/);
  });
});
