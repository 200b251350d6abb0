/** A movie's shared timeline: what frame n is, on any server, and what a channel sends again. */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import { rtpSequence, rtpSsrc, rtpTimestamp } from '../../../common/wire/rtp.ts';
import { channelIdentity, ChannelTimeline } from '../../../onode/core/channel-timeline.ts';
import { MovieChannel, RESEND_SPAN_MS } from '../../../onode/core/movie-channel.ts';
import { fakeMovie } from '../../../onode/sim/sim-network.ts';

/** Frames of 1, 2, 3, 1, 2, 3… packets: sequence numbers advance unevenly. */
const uneven = {
  name: 'uneven.mjpeg',
  fps: 25,
  frames: Array.from({ length: 7 }, (_, f) => Array.from({ length: (f % 3) + 1 }, (_, p) => Buffer.from(`${f}.${p}`))),
};

describe('ChannelTimeline', () => {
  it('numbers packets without a gap, across loops of the movie and the 16-bit wrap', () => {
    const t = new ChannelTimeline(uneven);
    // Around a tick whose loop count times the loop's packets is far past 2^16, and across loop ends.
    for (const start of [0, 5, 1_000_000 * 7 - 3, 4.5e10]) {
      for (let tick = start; tick < start + 20; tick++) {
        const next = (t.firstSeq(tick) + t.frameOf(tick).length) & 0xffff;
        expect(t.firstSeq(tick + 1), `tick ${tick}`).toBe(next);
        expect((t.timestamp(tick + 1) - t.timestamp(tick)) >>> 0).toBe(3600);
      }
    }
  });

  it('gives the same movie the same identity, and another movie another one', () => {
    expect(channelIdentity(fakeMovie('a.mjpeg'))).toEqual(channelIdentity(fakeMovie('a.mjpeg')));
    expect(channelIdentity(fakeMovie('a.mjpeg')).ssrc).not.toBe(channelIdentity(fakeMovie('a.mjpeg', 25, 50, 3)).ssrc);
    expect(channelIdentity(fakeMovie('a.mjpeg')).ssrc).not.toBe(channelIdentity(fakeMovie('b.mjpeg')).ssrc);
  });

  it('keeps a whole number of RTP ticks per frame at 29.97 fps: steps of 3003 or 3004', () => {
    const t = new ChannelTimeline({ ...uneven, fps: 30000 / 1001 });
    for (const start of [0, 2 ** 20 - 5, 5.4e10])
      for (let tick = start; tick < start + 10; tick++)
        expect([3003, 3004]).toContain((t.timestamp(tick + 1) - t.timestamp(tick)) >>> 0);
  });
});

describe('MovieChannel on the timeline', () => {
  it('starts at the current frame of the reference clock, not at the movie start', () => {
    const clock = new VirtualClock();
    const sent: Buffer[] = [];
    const reference = 123_456; // ms ahead of this server's clock
    const channel = new MovieChannel(
      clock,
      uneven,
      (rtp) => sent.push(rtp),
      () => clock.now() + reference,
    );
    channel.start();
    const t = new ChannelTimeline(uneven);
    const tick = t.tickAt(reference);
    expect(rtpSequence(sent[0]!)).toBe(t.firstSeq(tick));
    expect(rtpTimestamp(sent[0]!)).toBe(t.timestamp(tick));
    expect(rtpSsrc(sent[0]!)).toBe(channelIdentity(uneven).ssrc);
  });

  it('sends again, byte for byte, frames of the last RESEND_SPAN_MS, even ones it did not send', () => {
    const clock = new VirtualClock(100_000);
    const sent: Buffer[] = [];
    const channel = new MovieChannel(clock, uneven, (rtp) => sent.push(rtp));
    channel.start();
    clock.advance(2000);
    // What a server that had been running all along sent 1 s before this one started.
    const other = new MovieChannel(new VirtualClock(99_000), uneven, () => {});
    const earlier: Buffer[] = [];
    const witness = new MovieChannel(new VirtualClock(99_000), uneven, (rtp) => earlier.push(rtp));
    witness.start();
    expect(other.resend([1])).toEqual([]); // never started: nothing to go back from
    const seqs = earlier.map(rtpSequence);
    expect(channel.resend(seqs)).toEqual(earlier);
    expect(channel.resend(sent.slice(3, 6).map(rtpSequence))).toEqual(sent.slice(3, 6));
    // Older than the span: gone.
    clock.advance(RESEND_SPAN_MS);
    expect(channel.resend(seqs)).toEqual([]);
  });
});

describe('an H.264 channel starting cold', () => {
  /** 200 units of 40 ms (an 8 s loop) with one keyframe, at unit 0. */
  const rare = {
    name: 'rare.mp4',
    fps: 25,
    frames: Array.from({ length: 200 }, (_, i) => [Buffer.from([i & 0xff])]),
    schedule: {
      payloadType: 96,
      clockRate: 90_000,
      dueMs: Array.from({ length: 200 }, (_, i) => i * 40),
      ticks: Array.from({ length: 200 }, (_, i) => i * 3600),
      loopMs: 8000,
      loopTicks: 720_000,
      keyframes: Array.from({ length: 200 }, (_, i) => i === 0),
    },
  };

  it('starts at the last keyframe when it is near, at the current unit when it is not (no flood)', () => {
    const t = new ChannelTimeline(rare);
    expect(t.startOf(30, 50)).toBe(0);
    expect(t.startOf(150, 50)).toBe(150);
    expect(t.startOf(230, 50)).toBe(200); // the next loop's keyframe
    const sent = (atMs: number): number => {
      const clock = new VirtualClock(atMs);
      let n = 0;
      const channel = new MovieChannel(clock, rare, () => n++);
      channel.start();
      channel.stop();
      return n;
    };
    expect(sent(30 * 40)).toBe(31); // units 0..30 at once
    expect(sent(150 * 40)).toBe(1); // 6 s past the keyframe: beyond MAX_START_BURST_MS
  });
});
