import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../../common/security/equal-bytes.ts';

describe('equalBytes', () => {
  it('is true only for the same bytes', () => {
    expect(equalBytes(Buffer.from('token'), Buffer.from('token'))).toBe(true);
    expect(equalBytes(Buffer.alloc(0), Buffer.alloc(0))).toBe(true);
    expect(equalBytes(Buffer.from('token'), Buffer.from('tokem'))).toBe(false);
  });

  it('answers false for different lengths instead of throwing as timingSafeEqual does', () => {
    expect(equalBytes(Buffer.from('token'), Buffer.from('token!'))).toBe(false);
    expect(equalBytes(Buffer.alloc(0), Buffer.from('x'))).toBe(false);
  });
});
