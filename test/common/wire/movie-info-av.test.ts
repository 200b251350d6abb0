/** Catalogue entries of H.264 (+ AAC) movies: both wire forms carry what a POP's SDP needs, and refuse the rest. */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { MovieInfoSchema, MovieTupleSchema } from '../../../common/wire/movie-info-schema.ts';
import { audioStreamOf, streamNamesOf } from '../../../common/wire/movie-tracks.ts';
import { movieTupleOf } from '../../../common/wire/overlay-control.ts';
import type { MovieInfo } from '../../../common/wire/overlay.ts';

const mjpeg: MovieInfo = { name: 'a.mjpeg', fps: 25, width: 320, height: 240, frames: 10 };
const sound = { rate: 44100, channels: 2, config: '1210' };
const av: MovieInfo = { ...mjpeg, name: 'b.mp4', av: { sps: ['Z0LAHg=='], pps: ['aM4G4g=='], audio: sound } };
const silent: MovieInfo = { ...av, name: 'c.mkv', av: { sps: ['Z0LAHg=='], pps: ['aM4G4g=='] } };

describe('catalogue entries with H.264 and AAC', () => {
  it('round-trip as tuples and as objects, through JSON', () => {
    for (const m of [mjpeg, av, silent]) {
      expect(v.parse(MovieTupleSchema, JSON.parse(JSON.stringify(movieTupleOf(m))))).toEqual(m);
      expect(v.parse(MovieInfoSchema, JSON.parse(JSON.stringify(m)))).toEqual(m);
    }
  });

  it('refuse extra tuple items, bad parameter sets, bad configs and names without room for the audio suffix', () => {
    expect(v.safeParse(MovieTupleSchema, [...movieTupleOf(mjpeg), 7]).success).toBe(false);
    expect(v.safeParse(MovieTupleSchema, [...movieTupleOf(av), 7]).success).toBe(false);
    const bad = (av: unknown) => v.safeParse(MovieInfoSchema, { ...mjpeg, av }).success;
    expect(bad({ sps: [], pps: ['aM4G4g=='] })).toBe(false);
    expect(bad({ sps: ['not base64!'], pps: ['aM4G4g=='] })).toBe(false);
    expect(bad({ sps: Array(5).fill('Z0LAHg=='), pps: ['aM4G4g=='] })).toBe(false);
    expect(bad({ sps: ['Z0LAHg=='], pps: ['aM4G4g=='], audio: { ...sound, config: 'XYZ' } })).toBe(false);
    expect(bad({ sps: ['Z0LAHg=='], pps: ['aM4G4g=='], audio: { ...sound, rate: 0 } })).toBe(false);
    expect(v.safeParse(MovieInfoSchema, { ...av, name: 'x'.repeat(250) }).success).toBe(false);
    expect(v.safeParse(MovieInfoSchema, { ...av, name: 'x'.repeat(249) }).success).toBe(true);
    expect(v.safeParse(MovieInfoSchema, { ...mjpeg, name: 'x'.repeat(255) }).success).toBe(true);
  });

  it('name the overlay streams of each movie: the audio under a suffix no movie name ends with', () => {
    expect(streamNamesOf(mjpeg)).toEqual(['a.mjpeg']);
    expect(streamNamesOf(silent)).toEqual(['c.mkv']);
    expect(streamNamesOf(av)).toEqual(['b.mp4', audioStreamOf('b.mp4')]);
    expect(audioStreamOf('b.mp4')).toBe('b.mp4#audio');
  });
});
