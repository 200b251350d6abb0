import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TRACK_SAMPLES } from '../../../../common/media/container/av-movie.ts';
import { scanMp4 } from '../../../../common/media/container/mp4-box-scan.ts';
import { demuxMp4 } from '../../../../common/media/container/mp4-demux.ts';
import { makeAvFixture, makeTempDir } from '../av-fixture.ts';

function box(type: string, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + payload.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, payload]);
}

/** stsz with a constant sample size and `count` samples: 20 bytes declaring any number. */
function stsz(count: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(1000, 4);
  b.writeUInt32BE(count, 8);
  return box('stsz', b);
}

const ftyp = box('ftyp', Buffer.from('isom\0\0\0\0isom', 'latin1'));
/** tkhd version 0 with track_ID 1. */
const tkhd = box('tkhd', Buffer.from([0, 0, 0, 3, ...Array(8).fill(0), 0, 0, 0, 1, ...Array(68).fill(0)]));
const movie = (count: number) =>
  Buffer.concat([ftyp, box('moov', box('trak', tkhd, box('mdia', box('minf', box('stbl', stsz(count))))))]);

describe('scanMp4', () => {
  it('counts tracks and declared samples', () => {
    expect(scanMp4(movie(50))).toEqual({
      ok: true,
      value: { tracks: 1, maxTrackSamples: 50, totalSamples: 50, hasMoov: true },
    });
  });

  it('adds fragment sample counts to the track with their track_ID', () => {
    const tfhd = (id: number) => box('tfhd', Buffer.from([0, 0, 0, 0, 0, 0, 0, id]));
    const trun = (n: number) => box('trun', Buffer.from([0, 0, 0, 0, 0, 0, 0, n]));
    const moof = box('moof', box('traf', tfhd(1), trun(10)), box('traf', tfhd(2), trun(3)));
    expect(scanMp4(Buffer.concat([movie(5), moof, moof]))).toEqual({
      ok: true,
      value: { tracks: 1, maxTrackSamples: 25, totalSamples: 31, hasMoov: true },
    });
  });

  it('refuses what is not ISO BMFF, and sizes that do not nest', () => {
    expect(scanMp4(Buffer.from('\x1aE\xdf\xa3 matroska'))).toEqual({ ok: false, reason: 'unsupported' });
    const bad = Buffer.from(movie(1));
    bad.writeUInt32BE(0xffff, ftyp.length); // moov claims more than the file
    expect(scanMp4(bad)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('demuxMp4 on hostile files', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let real: Buffer;
  beforeAll(async () => {
    tmp = await makeTempDir();
    real = await readFile(await makeAvFixture(tmp.dir, 'clip', { seconds: 1 }));
  });
  afterAll(async () => {
    await tmp?.remove();
  });

  it('refuses a track declaring billions of samples before mp4box builds them', () => {
    expect(demuxMp4(movie(0xffffffff))).toMatchObject({ ok: false, reason: 'too-many-samples' });
    expect(demuxMp4(movie(MAX_TRACK_SAMPLES + 1))).toMatchObject({ ok: false, reason: 'too-many-samples' });
  });

  it('refuses a sample holding a NAL unit type RTP cannot send as is', () => {
    const good = demuxMp4(Buffer.from(real));
    const sample = good.ok ? good.value.video.samples[1] : undefined;
    if (sample === undefined) throw new Error('the fixture demuxes');
    const bad = Buffer.from(real);
    // The sample's first NAL header, after its 4-byte length, found by searching for its bytes.
    const at = bad.indexOf(sample.data) + 4;
    bad[at] = 0x1c; // type 28 (FU-A)
    const r = demuxMp4(bad);
    expect(r).toMatchObject({ ok: false, reason: 'malformed' });
    expect(r.ok ? '' : r.detail).toBe('video sample 1 holds a NAL unit of type 28');
  });

  it('never throws on a real movie with bytes changed or cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }),
        fc.nat(),
        (edits, cut) => {
          const b = Buffer.from(real);
          for (const [at, value] of edits) b[at % b.length] = value;
          const r = demuxMp4(b.subarray(0, b.length - (cut % 64)));
          if (!r.ok) expect(r.detail.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});
