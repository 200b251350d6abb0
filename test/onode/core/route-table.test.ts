import { describe, expect, it } from 'vitest';
import type { MovieInfo } from '../../../common/wire/overlay.ts';
import { RouteTable, UNREACHABLE_MEMORY_MS } from '../../../onode/core/route-table.ts';

const movie = (name: string): MovieInfo => ({ name, fps: 25, width: 320, height: 240, frames: 10 });
const entry = (via: string, latencyMs: number, hops: number, seq: number, updatedAt = 0) =>
  ({ server: 's1', via, latencyMs, hops, seq, updatedAt });

describe('RouteTable', () => {
  it('keeps the best copy per neighbour within a sequence number and the newest across them', () => {
    const t = new RouteTable();
    expect(t.update(entry('a', 30, 3, 1), [movie('m')])).toBe(true);
    expect(t.update(entry('a', 40, 2, 1), [movie('m')])).toBe(false);
    expect(t.update(entry('a', 25, 4, 1), [movie('m')])).toBe(true);
    expect(t.update(entry('a', 50, 4, 2), [movie('m')])).toBe(true);
    expect(t.update(entry('a', 10, 1, 1), [movie('m')])).toBe(false);
    expect(t.best('s1')).toMatchObject({ via: 'a', latencyMs: 50, seq: 2 });
  });

  it('orders entries by the route metric and honours the usable filter', () => {
    const t = new RouteTable();
    t.update(entry('a', 100, 5, 1), []);
    t.update(entry('b', 108, 2, 1), []);
    t.update(entry('c', 150, 1, 1), []);
    expect(t.entries('s1').map((e) => e.via)).toEqual(['b', 'a', 'c']);
    expect(t.best('s1', (v) => v !== 'b')?.via).toBe('a');
  });

  it('remembers an unreachable server only to say its movies exist, not to offer them', () => {
    const t = new RouteTable();
    t.update(entry('a', 10, 1, 1), [movie('m')]);
    expect(t.hasMovie('m')).toBe(true);
    t.removeVia('a', 100);
    expect(t.knownServers()).toEqual([]);
    expect(t.hasMovie('m')).toBe(false);
    expect(t.knowsMovie('m')).toBe(true);
    expect(t.catalogue()).toEqual([]);
    expect(t.bestForMovie('m')).toBeUndefined();
    t.expire(100 + UNREACHABLE_MEMORY_MS, 3500);
    expect(t.knowsMovie('m')).toBe(true);
    t.expire(101 + UNREACHABLE_MEMORY_MS, 3500);
    expect(t.knowsMovie('m')).toBe(false);
  });

  it('expires routes that stopped being refreshed', () => {
    const t = new RouteTable();
    t.update(entry('a', 10, 1, 1, 0), [movie('m')]);
    t.update(entry('b', 12, 1, 1, 2000), [movie('m')]);
    t.expire(4000, 3500);
    expect(t.entries('s1').map((e) => e.via)).toEqual(['b']);
    t.expire(6000, 3500);
    expect(t.knownServers()).toEqual([]);
    expect(t.knowsMovie('m')).toBe(true);
  });

  it('takes a restarted server’s new catalogue although its sequence numbers went back to 1', () => {
    const t = new RouteTable();
    t.update(entry('a', 10, 1, 500), [movie('old')]);
    t.removeVia('a', 0);
    t.update(entry('a', 10, 1, 1), [movie('new')]);
    expect(t.catalogue().map((m) => m.name)).toEqual(['new']);
    expect(t.knowsMovie('old')).toBe(false);
  });
});
