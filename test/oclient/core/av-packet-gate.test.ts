import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import type { AvTrackKind } from '../../../common/media/av-rtp-plan.ts';
import { ServerKeyring } from '../../../common/security/server-keyring.ts';
import { AvPacketGate } from '../../../oclient/core/av-packet-gate.ts';
import { keyringOf, signedFrame, testServer } from '../../common/security/signed-frames.ts';

function gate(keys: ServerKeyring | null, onUnknownKey?: () => void) {
  const passed: { track: AvTrackKind; rtp: Buffer }[] = [];
  const clock = new VirtualClock();
  const g = new AvPacketGate({
    movie: 'clip.mp4',
    keys,
    clock,
    pass: (track, rtp) => passed.push({ track, rtp }),
    ...(onUnknownKey ? { onUnknownKey } : {}),
  });
  return { g, passed, clock };
}

describe('AvPacketGate', () => {
  const s1 = testServer('s1');

  it('passes each track signed under its own stream name, in order, even when reordered', () => {
    const { g, passed } = gate(keyringOf(s1));
    const video = signedFrame(s1, 'clip.mp4', 3, { seq: 10 });
    const audio = signedFrame(s1, 'clip.mp4#audio', 1, { seq: 500 });
    g.push('video', video[1] as Buffer); // waits for the packet vouching for it
    g.push('video', video[0] as Buffer);
    g.push('video', video[2] as Buffer);
    g.push('audio', audio[0] as Buffer);
    expect(passed.map((p) => p.track)).toEqual(['video', 'video', 'video', 'audio']);
    expect(passed.slice(0, 3).map((p) => p.rtp)).toEqual([video[0], video[1], video[2]]);
    expect(g.counters('video')).toEqual({ verified: 3, rejected: 0, unverified: 0, malformed: 0 });
  });

  it("drops a track's unit signed under the other stream's name, or by an unknown server", () => {
    let asked = 0;
    const { g, passed, clock } = gate(keyringOf(s1), () => asked++);
    // Video signed as audio (a replay across tracks), audio signed as video: neither passes.
    g.push('video', signedFrame(s1, 'clip.mp4#audio', 1, { seq: 1 })[0] as Buffer);
    g.push('audio', signedFrame(s1, 'clip.mp4', 1, { seq: 1 })[0] as Buffer);
    // A stranger's key: held a while for the keyring to learn it, then given up.
    g.push('video', signedFrame(testServer('x'), 'clip.mp4', 1, { seq: 2 })[0] as Buffer);
    clock.advance(1000);
    expect(passed).toEqual([]);
    expect(g.counters('video').rejected).toBe(1);
    expect(g.counters('audio').rejected).toBe(1);
    expect(g.counters('video').unverified).toBe(1);
    expect(asked).toBeGreaterThan(0);
  });

  it('drops a packet altered in transit (hash mismatch), and passes the genuine one after it', () => {
    const { g, passed } = gate(keyringOf(s1));
    const video = signedFrame(s1, 'clip.mp4', 2, { seq: 7 });
    const forged = Buffer.from(video[1] as Buffer);
    forged.writeUInt8(forged.readUInt8(forged.length - 1) ^ 0xff, forged.length - 1);
    g.push('video', video[0] as Buffer);
    g.push('video', forged);
    g.push('video', video[1] as Buffer);
    expect(passed.map((p) => p.rtp)).toEqual([video[0], video[1]]);
    expect(g.counters('video').rejected).toBe(1);
  });

  it('a key learnt later releases the units that waited for it', () => {
    const keys = new ServerKeyring();
    const { g, passed } = gate(keys);
    const audio = signedFrame(s1, 'clip.mp4#audio', 1, { seq: 3 });
    g.push('audio', audio[0] as Buffer);
    expect(passed).toEqual([]);
    keys.set('s1', s1.raw);
    expect(passed.map((p) => p.rtp)).toEqual([audio[0]]);
  });

  it('without keys, passes everything unchecked; after stop, nothing', () => {
    const { g, passed } = gate(null);
    g.push('audio', Buffer.alloc(20));
    expect(g.verifying).toBe(false);
    g.stop();
    g.push('audio', Buffer.alloc(20));
    expect(passed).toHaveLength(1);
  });
});
