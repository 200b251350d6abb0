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
