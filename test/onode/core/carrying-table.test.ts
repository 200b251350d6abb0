import { describe, expect, it } from 'vitest';
import { carryingParts } from '../../../common/wire/control-split.ts';
import { MAX_CARRYING } from '../../../common/wire/overlay-control.ts';
import { CarryingTable } from '../../../onode/core/carrying-table.ts';

const long = (i: number): string => `${String(i).padStart(3, '0')}-${'y'.repeat(240)}.mjpeg`;
const all = (): boolean => true;

describe('CarryingTable', () => {
  it('takes a one-message announcement at once, replacing the previous one', () => {
    const t = new CarryingTable();
    t.onCarrying('n1', { type: 'carrying', movies: ['a', 'b'], roots: ['s1', 's2'] });
    expect(t.carriers('a', all)).toEqual(['n1']);
    expect(t.root('n1', 'b')).toBe('s2');
    t.onCarrying('n1', { type: 'carrying', movies: ['c'] });
    expect(t.carriers('a', all)).toEqual([]);
    expect(t.root('n1', 'c')).toBeNull();
  });

  it('takes an announcement in parts only once every part is in, in any order', () => {
    const t = new CarryingTable();
    t.onCarrying('n1', { type: 'carrying', movies: ['old'], roots: ['s1'] });
    const movies = Array.from({ length: 10 }, (_, i) => long(i));
    const parts = carryingParts(
      7,
      movies,
      movies.map(() => 's1'),
    );
    expect(parts.length).toBeGreaterThan(2);
    for (const p of [...parts].reverse().slice(0, -1)) t.onCarrying('n1', p);
    // Until the last part, the previous announcement stands.
    expect(t.carriers('old', all)).toEqual(['n1']);
    expect(t.carriers(long(0), all)).toEqual([]);
    t.onCarrying('n1', parts[0]!);
    expect(t.carriers('old', all)).toEqual([]);
    for (const m of movies) expect(t.root('n1', m)).toBe('s1');
  });

  it('drops a partial announcement when a newer one starts, and one past MAX_CARRYING movies', () => {
    const t = new CarryingTable();
    const movies = Array.from({ length: 10 }, (_, i) => long(i));
    const first = carryingParts(
      1,
      movies,
      movies.map(() => 's1'),
    );
    const second = carryingParts(
      2,
      movies.slice(0, 6),
      movies.slice(0, 6).map(() => 's2'),
    );
    t.onCarrying('n1', first[0]!);
    for (const p of second) t.onCarrying('n1', p);
    for (const p of first.slice(1)) t.onCarrying('n1', p); // late parts of the old one: never complete
    expect(t.carriers(long(9), all)).toEqual([]);
    expect(t.root('n1', long(0))).toBe('s2');
    // A neighbour claiming more than MAX_CARRYING movies over its parts is not believed.
    const names = Array.from({ length: 200 }, (_, i) => `m${i}`);
    for (let part = 0; part < 6; part++) {
      t.onCarrying('n2', { type: 'carrying', movies: names.map((n) => `${n}-${part}`), version: 3, part, parts: 6 });
    }
    expect(6 * 200).toBeGreaterThan(MAX_CARRYING);
    expect(t.carriers('m0-0', all)).toEqual([]);
    expect(t.counters.carryingRejected).toBe(1);
  });

  it('forgets a neighbour that went down, with its partial announcement', () => {
    const t = new CarryingTable();
    t.onCarrying('n1', { type: 'carrying', movies: ['a'] });
    t.forget('n1');
    expect(t.carriers('a', all)).toEqual([]);
    expect(t.carriers('a', () => false)).toEqual([]);
  });
});
