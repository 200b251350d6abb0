import { describe, expect, it } from 'vitest';
import { RECENT_SEQUENCES, RecentSequences } from '../../../oclient/core/recent-sequences.ts';

describe('RecentSequences', () => {
  it('remembers the last RECENT_SEQUENCES numbers through the wrap, and forgets older ones', () => {
    const r = new RecentSequences();
    const first = 0x10000 - 10;
    for (let i = 0; i < RECENT_SEQUENCES + 5; i++) r.add((first + i) & 0xffff);
    for (let i = 0; i < 5; i++) expect(r.has((first + i) & 0xffff)).toBe(false);
    for (let i = 5; i < RECENT_SEQUENCES + 5; i++) expect(r.has((first + i) & 0xffff)).toBe(true);
    expect(r.has((first + RECENT_SEQUENCES + 5) & 0xffff)).toBe(false);
  });

  it('keeps a number that is in the window twice until both are gone', () => {
    const r = new RecentSequences();
    r.add(7);
    r.add(7);
    for (let i = 0; i < RECENT_SEQUENCES - 1; i++) r.add(1000 + i);
    expect(r.has(7)).toBe(true);
    r.add(5000);
    expect(r.has(7)).toBe(false);
  });
});
