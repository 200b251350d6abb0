import { describe, expect, it } from 'vitest';
import {
  isMovieName,
  isNodeName,
  MAX_MOVIE_NAME_BYTES,
  MAX_NODE_NAME_BYTES,
  movieNameProblem,
} from '../../../common/wire/names.ts';
import { MAX_NAME_BYTES } from '../../../common/wire/overlay.ts';

describe('movie names', () => {
  it('accepts one path segment of 1..255 bytes of UTF-8', () => {
    const names = ['a', 'bars.mjpeg', 'my movie.mjpg', 'filme-ação.mjpeg', '映画.mjpeg', '...', '.hidden'];
    names.push('x'.repeat(255));
    for (const name of [...names, 'é'.repeat(127)]) {
      expect(movieNameProblem(name), name).toBeNull();
    }
    expect(Buffer.byteLength('é'.repeat(127))).toBe(254);
  });

  it('refuses paths, directories, control characters, lone surrogates and names over 255 bytes', () => {
    expect(movieNameProblem('../../etc/passwd')).toBe("the name contains '/' (a path separator)");
    expect(movieNameProblem('..\\..\\boot.ini')).toBe("the name contains '\\' (a path separator)");
    expect(movieNameProblem('.')).toBe("'.' names a directory, not a movie");
    expect(movieNameProblem('..')).toBe("'..' names a directory, not a movie");
    expect(movieNameProblem('')).toBe('the name is empty');
    expect(movieNameProblem('x'.repeat(256))).toBe('the name is 256 bytes long; at most 255 bytes of UTF-8');
    expect(movieNameProblem('é'.repeat(128))).toBe('the name is 256 bytes long; at most 255 bytes of UTF-8');
    expect(movieNameProblem('a\u0000b')).toBe('the name contains the control character U+0000');
    expect(movieNameProblem('line\nbreak')).toBe('the name contains the control character U+000A');
    expect(movieNameProblem('del\u007f')).toBe('the name contains the control character U+007F');
    expect(movieNameProblem('c1\u0085')).toBe('the name contains the control character U+0085');
    expect(movieNameProblem('half\ud800')).toBe(
      'the name contains an unpaired surrogate (U+D800), which has no UTF-8 form',
    );
    expect(isMovieName(42)).toBe(false);
    expect(isMovieName(null)).toBe(false);
    expect(MAX_MOVIE_NAME_BYTES).toBe(255);
  });
});

describe('node names', () => {
  it('are 1..64 bytes of UTF-8, the same bound as the overlay header', () => {
    expect(MAX_NODE_NAME_BYTES).toBe(MAX_NAME_BYTES);
    expect(isNodeName('o4')).toBe(true);
    expect(isNodeName('n'.repeat(64))).toBe(true);
    expect(isNodeName('n'.repeat(65))).toBe(false);
    expect(isNodeName('')).toBe(false);
    expect(isNodeName('x\udc00')).toBe(false);
    expect(isNodeName(7)).toBe(false);
  });
});
