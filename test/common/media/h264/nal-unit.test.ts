import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  joinLengthPrefixed,
  MAX_NALS_PER_ACCESS_UNIT,
  profileLevelId,
  splitLengthPrefixed,
  toAnnexB,
  withParameterSets,
} from '../../../../common/media/h264/nal-unit.ts';

const sps = Buffer.from('674d400deca0a0fd80880000030008000003019078a14cb0', 'hex');
const pps = Buffer.from('68ebecb22c', 'hex');
const idr = Buffer.from([0x65, 0x88, 0x84, 0x00]);
const slice = Buffer.from([0x41, 0x9a, 0x21]);
const aud = Buffer.from([0x09, 0xf0]);

describe('splitLengthPrefixed', () => {
  it('splits 1, 2 and 4-byte length prefixes and inverts joinLengthPrefixed', () => {
    expect(splitLengthPrefixed(joinLengthPrefixed([sps, pps, idr]), 4)).toEqual({ ok: true, value: [sps, pps, idr] });
    expect(splitLengthPrefixed(Buffer.from([0, 2, 0x41, 1, 0, 1, 0x06]), 2)).toEqual({
      ok: true,
      value: [Buffer.from([0x41, 1]), Buffer.from([0x06])],
    });
    expect(splitLengthPrefixed(Buffer.from([1, 0x41, 2, 0x06, 7]), 1)).toEqual({
      ok: true,
      value: [Buffer.from([0x41]), Buffer.from([0x06, 7])],
    });
  });

  it('refuses lengths past the end, zero lengths and too many units', () => {
    expect(splitLengthPrefixed(Buffer.from([0, 0, 0, 5, 0x41]), 4)).toEqual({ ok: false, reason: 'truncated' });
    expect(splitLengthPrefixed(Buffer.from([0, 0, 0]), 4)).toEqual({ ok: false, reason: 'truncated' });
    expect(splitLengthPrefixed(Buffer.from([0, 0, 0, 0]), 4)).toEqual({ ok: false, reason: 'malformed' });
    const many = Buffer.alloc(2 * (MAX_NALS_PER_ACCESS_UNIT + 1), 1);
    expect(splitLengthPrefixed(many, 1)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(1, 2, 4) as fc.Arbitrary<1 | 2 | 4>, (b, n) => {
        const r = splitLengthPrefixed(Buffer.from(b), n);
        if (r.ok) expect(r.value.every((nal) => nal.length > 0)).toBe(true);
      }),
    );
  });
});

describe('Annex B, parameter sets, profile-level-id', () => {
  it('writes start codes before every unit', () => {
    expect(toAnnexB([pps, slice]).toString('hex')).toBe(
      `00000001${pps.toString('hex')}00000001${slice.toString('hex')}`,
    );
  });

  it('puts SPS and PPS before an IDR access unit that lacks them, after an AUD', () => {
    expect(withParameterSets([idr], [sps], [pps])).toEqual([sps, pps, idr]);
    expect(withParameterSets([aud, idr], [sps], [pps])).toEqual([aud, sps, pps, idr]);
    expect(withParameterSets([slice], [sps], [pps])).toEqual([slice]);
    expect(withParameterSets([slice], [sps], [pps], true)).toEqual([sps, pps, slice]);
    expect(withParameterSets([sps, pps, idr], [sps], [pps])).toEqual([sps, pps, idr]);
  });

  it('reads profile_idc, constraints and level from the SPS', () => {
    expect(profileLevelId(sps)).toBe('4d400d');
    expect(profileLevelId(pps)).toBeUndefined();
    expect(profileLevelId(Buffer.from([0x67, 0x42]))).toBeUndefined();
  });
});
