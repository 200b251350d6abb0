/**
 * JPEG marker codes (ITU-T T.81 table B.1): the byte after 0xFF. Shared by the parser (jpeg.ts),
 * the movie-file splitter (movie-file.ts) and the sample-movie encoder.
 */

/** Start and end of image. */
export const SOI = 0xd8;
export const EOI = 0xd9;
/** Start of scan: entropy-coded data follows its header. */
export const SOS = 0xda;
/** Define quantization tables, number of lines, restart interval. */
export const DQT = 0xdb;
export const DNL = 0xdc;
export const DRI = 0xdd;
/** Hierarchical JPEG: define hierarchical progression, expand reference components. */
export const DHP = 0xde;
export const EXP = 0xdf;
/** Define Huffman tables, arithmetic coding conditioning. */
export const DHT = 0xc4;
export const DAC = 0xcc;
/** Start of frame: baseline DCT, progressive DCT. */
export const SOF0 = 0xc0;
export const SOF2 = 0xc2;
/** The JFIF application segment. */
export const APP0 = 0xe0;
/** Restart markers RST0..RST7 (0xD0..0xD7): inside entropy-coded data, with no length. */
export const RST0 = 0xd0;
/** For temporary private use in arithmetic coding; stands alone, with no length. */
export const TEM = 0x01;

export function isRst(marker: number): boolean {
  return marker >= RST0 && marker <= RST0 + 7;
}

/** A marker (or any byte) as two upper-case hex digits, for messages: "D8". */
export function markerHex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}
