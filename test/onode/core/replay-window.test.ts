import { describe, expect, it } from 'vitest';
import { MAX_REPLAY_SENDERS, REPLAY_WINDOW, ReplayWindows } from '../../../onode/core/replay-window.ts';

const E = 1_764_000_000_000;
const n = (counter: number, epoch = E) => ({ epoch, counter });

describe('ReplayWindows', () => {
  it('accepts counters in order, once each', () => {
    const w = new ReplayWindows();
    const verdicts = new Set(Array.from({ length: 10_000 }, (_, c) => w.check('o4', n(c))));
    expect([...verdicts]).toEqual(['fresh']);
    expect(w.check('o4', n(9_999))).toBe('duplicate');
  });

  it('accepts reordering within the window, and each counter only once', () => {
    const w = new ReplayWindows();
    expect(w.check('o4', n(100))).toBe('fresh');
    expect(w.check('o4', n(103))).toBe('fresh');
    expect(w.check('o4', n(101))).toBe('fresh');
    expect(w.check('o4', n(102))).toBe('fresh');
    for (const c of [100, 101, 102, 103]) expect(w.check('o4', n(c))).toBe('duplicate');
    // Gaps (datagrams sent to other neighbours) are fine, and late ones still count once.
    expect(w.check('o4', n(3000))).toBe('fresh');
    expect(w.check('o4', n(104))).toBe('fresh');
    expect(w.check('o4', n(104))).toBe('duplicate');
  });

  it('refuses what is older than the window', () => {
    const w = new ReplayWindows();
    expect(w.check('o4', n(REPLAY_WINDOW + 10))).toBe('fresh');
    expect(w.check('o4', n(11))).toBe('fresh');
    expect(w.check('o4', n(10))).toBe('too-old');
    expect(w.check('o4', n(0))).toBe('too-old');
  });

  it('forgets the bits that slid out of the window: a counter one window later is new', () => {
    const w = new ReplayWindows();
    expect(w.check('o4', n(5))).toBe('fresh');
    expect(w.check('o4', n(5 + REPLAY_WINDOW - 1))).toBe('fresh');
    // Same bit position as 5, but not the same counter.
    expect(w.check('o4', n(5 + REPLAY_WINDOW))).toBe('fresh');
    expect(w.check('o4', n(5 + 2 * REPLAY_WINDOW + 7))).toBe('fresh');
    expect(w.check('o4', n(5 + REPLAY_WINDOW + 8))).toBe('fresh');
    expect(w.check('o4', n(5 + REPLAY_WINDOW + 7))).toBe('too-old');
  });

  it('starts over on a newer epoch (the sender restarted) and refuses older epochs', () => {
    const w = new ReplayWindows();
    expect(w.check('o4', n(50_000))).toBe('fresh');
    expect(w.check('o4', n(0, E + 9000))).toBe('fresh');
    expect(w.check('o4', n(1, E + 9000))).toBe('fresh');
    expect(w.check('o4', n(50_001))).toBe('old-epoch');
    expect(w.check('o4', n(0, E + 9000))).toBe('duplicate');
  });

  it('takes the counter wrap (the sender moves to the next epoch)', () => {
    const w = new ReplayWindows();
    expect(w.check('o4', n(0xfffffffe))).toBe('fresh');
    expect(w.check('o4', n(0xffffffff))).toBe('fresh');
    expect(w.check('o4', n(0, E + 1))).toBe('fresh');
    expect(w.check('o4', n(0xffffffff))).toBe('old-epoch');
  });

  it('keeps one window per sender, and a bounded number of senders', () => {
    const w = new ReplayWindows();
    expect(w.check('o4', n(7))).toBe('fresh');
    expect(w.check('o6', n(7))).toBe('fresh');
    expect(w.check('o4', n(7))).toBe('duplicate');
    for (let i = 0; i < MAX_REPLAY_SENDERS + 5; i++) w.check(`n${i}`, n(1));
    expect(w.size).toBe(MAX_REPLAY_SENDERS);
  });
});
