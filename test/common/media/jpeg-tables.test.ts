import { describe, expect, it } from 'vitest';
import {
  CHROMA_QUANT_K2,
  LUMA_QUANT_K1,
  STANDARD_HUFFMAN_TABLES,
  standardHuffmanTable,
  ZIGZAG,
} from '../../../common/media/jpeg-tables.ts';

describe('standard JPEG tables (T.81 Annex K)', () => {
  it('ZIGZAG is a permutation of 0..63 that walks anti-diagonals', () => {
    expect([...ZIGZAG].sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    const diagonal = ZIGZAG.map((n) => (n >> 3) + (n & 7));
    for (let i = 1; i < 64; i++) expect(diagonal[i]! - diagonal[i - 1]!).toBeGreaterThanOrEqual(0);
  });

  it('has the K.1 and K.2 quantization tables', () => {
    expect(LUMA_QUANT_K1.length).toBe(64);
    expect(CHROMA_QUANT_K2.length).toBe(64);
    expect(LUMA_QUANT_K1.slice(0, 8)).toEqual([16, 11, 10, 16, 24, 40, 51, 61]);
    expect(CHROMA_QUANT_K2.slice(0, 8)).toEqual([17, 18, 24, 47, 99, 99, 99, 99]);
  });

  it('has the four K.3 Huffman tables with consistent counts and complete code spaces', () => {
    expect(STANDARD_HUFFMAN_TABLES.map((t) => [t.tableClass, t.id])).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    const symbolCounts = STANDARD_HUFFMAN_TABLES.map((t) => t.symbols.length);
    expect(symbolCounts).toEqual([12, 162, 12, 162]);
    for (const t of STANDARD_HUFFMAN_TABLES) {
      expect(t.counts.length).toBe(16);
      expect(t.counts.reduce((a, b) => a + b, 0)).toBe(t.symbols.length);
      expect(new Set(t.symbols).size).toBe(t.symbols.length);
      // Kraft sum below 1: the all-ones code stays unused, as T.81 requires.
      const kraft = [...t.counts].reduce((sum, n, i) => sum + n / 2 ** (i + 1), 0);
      expect(kraft).toBeLessThan(1);
    }
  });

  it('looks tables up by class and id', () => {
    expect(standardHuffmanTable(1, 1)).toBe(STANDARD_HUFFMAN_TABLES[3]);
    expect(standardHuffmanTable(0, 2)).toBeUndefined();
    expect(standardHuffmanTable(2, 0)).toBeUndefined();
  });
});
