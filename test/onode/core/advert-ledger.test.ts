import { describe, expect, it } from 'vitest';
import { AdvertLedger, advertHash } from '../../../onode/core/advert-ledger.ts';
import type { RouteAdvert } from '../../../common/wire/overlay.ts';

const advert: RouteAdvert = {
  server: 's1',
  seq: 42,
  latencyMs: 12.345,
  hops: 3,
  cv: 2 ** 48 - 1,
  path: ['a', 'b', 's1'],
};

describe('advertHash', () => {
  it('is FNV-1a over the fields joined by NULs: both ends of a link, of any version, agree on it', () => {
    const text = ['s1', 42, 12.345, 3, 2 ** 48 - 1, 'a', 'b', 's1'].join('\u0000');
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    expect(advertHash(advert)).toBe(h >>> 0);
    expect(advertHash(advert)).toBe(3561251430);
  });

  it('changes with the path', () => {
    expect(advertHash({ ...advert, path: ['a', 'c', 's1'] })).not.toBe(advertHash(advert));
    expect(advertHash({ ...advert, path: ['ab', 's1'] })).not.toBe(advertHash(advert));
  });
});

describe('AdvertLedger', () => {
  it('keeps a digest that follows every change and returns to the same value', () => {
    const l = new AdvertLedger();
    l.set(advert);
    const one = l.digest;
    l.set({ ...advert, server: 's2', path: ['a', 's2'] });
    expect(l.digest).not.toBe(one);
    l.delete('s2');
    expect(l.digest).toBe(one);
    l.clear();
    expect(l.digest).toBe(0);
  });
});
