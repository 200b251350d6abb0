/** Comparing secrets (MACs, tokens) in time that does not depend on where they differ. */
import { timingSafeEqual } from 'node:crypto';

/**
 * Whether `a` and `b` hold the same bytes, in constant time for equal lengths. A length
 * mismatch answers at once: lengths are not secret here (MACs and tokens have fixed sizes).
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
