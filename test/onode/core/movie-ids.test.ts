import { describe, expect, it } from 'vitest';
import { movieId } from '../../../common/wire/overlay.ts';
import { MAX_MOVIE_IDS, MovieIds } from '../../../onode/core/movie-ids.ts';

describe('MovieIds', () => {
  it('maps an id back to the name it was learnt from, anywhere in a buffer', () => {
    const t = new MovieIds();
    expect(t.learn('bars.mjpeg')).toEqual(movieId('bars.mjpeg'));
    expect(t.nameOf(movieId('bars.mjpeg'))).toBe('bars.mjpeg');
    expect(t.nameOf(Buffer.concat([Buffer.alloc(5), movieId('bars.mjpeg')]), 5)).toBe('bars.mjpeg');
    expect(t.nameOf(movieId('other.mjpeg'))).toBeUndefined();
    expect(t.nameOf(Buffer.alloc(7))).toBeUndefined();
  });

  it('compares all 8 bytes of the id', () => {
    const t = new MovieIds();
    t.learn('bars.mjpeg');
    for (const i of [0, 5, 6, 7]) {
      const id = movieId('bars.mjpeg');
      id[i]! ^= 0x80;
      expect(t.nameOf(id)).toBeUndefined();
    }
  });

  it('takes 255-byte names and refuses what DATA cannot name', () => {
    const t = new MovieIds();
    const long = `${'ç'.repeat(127)}x`;
    expect(t.learn(long)).toHaveLength(8);
    expect(t.nameOf(movieId(long))).toBe(long);
    expect(t.learn('')).toBeUndefined();
    expect(t.learn('x'.repeat(256))).toBeUndefined();
  });

  it('forgets the least recently used name when full', () => {
    const t = new MovieIds();
    t.learn('keep');
    t.learn('drop');
    for (let i = 0; i < MAX_MOVIE_IDS - 2; i++) t.learn(`m${i}`);
    expect(t.size).toBe(MAX_MOVIE_IDS);
    // A packet of 'keep' makes it recent; the next new name pushes out 'drop'.
    expect(t.nameOf(movieId('keep'))).toBe('keep');
    t.learn('new');
    expect(t.size).toBe(MAX_MOVIE_IDS);
    expect(t.nameOf(movieId('drop'))).toBeUndefined();
    expect(t.nameOf(movieId('keep'))).toBe('keep');
    expect(t.nameOf(movieId('new'))).toBe('new');
  });
});
