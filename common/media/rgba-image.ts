/**
 * A decoded picture: what the sample-movie encoder takes and the terminal player draws. 4 bytes
 * per pixel (R, G, B, A), rows top to bottom, as jpeg-js decodes with formatAsRGBA; the encoder
 * ignores alpha.
 */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}
