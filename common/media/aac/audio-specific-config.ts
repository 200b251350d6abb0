/**
 * MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 section 1.6.2.1): the few bytes, kept in MP4's
 * esds box, that an AAC decoder needs before the first frame. RFC 3640 sends them as hex in the
 * SDP's `config=` parameter.
 *
 *   audioObjectType         5 bits (31: 6 more bits, + 32)
 *   samplingFrequencyIndex  4 bits (15: 24-bit frequency follows)
 *   channelConfiguration    4 bits (0: defined by a program config element)
 *   [SBR/PS (types 5, 29): extensionSamplingFrequencyIndex 4 bits (15: 24 bits), audioObjectType]
 */
import { fail, ok, type Decoded } from '../../wire/result.ts';

export const SAMPLING_FREQUENCIES: readonly number[] = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];
/** Object types: AAC LC, SBR (HE-AAC), PS (HE-AAC v2). */
export const AOT_AAC_LC = 2;
export const AOT_SBR = 5;
export const AOT_PS = 29;
const ESCAPE_OBJECT_TYPE = 31;
const EXPLICIT_FREQUENCY = 15;
/** An ASC with extensions is a few bytes; anything long is not one. */
export const MAX_AUDIO_SPECIFIC_CONFIG_BYTES = 64;

export interface AudioSpecificConfig {
  /** The underlying object type (2 for AAC LC, also inside HE-AAC). */
  readonly objectType: number;
  /** The core sampling rate, in Hz. */
  readonly sampleRate: number;
  /** Output rate with explicit SBR (HE-AAC); equal to sampleRate otherwise. */
  readonly outputSampleRate: number;
  /** 0 when a program config element defines the channels. */
  readonly channelConfiguration: number;
}

class BitReader {
  private bit = 0;
  constructor(private readonly buf: Buffer) {}
  /** n <= 24 bits, or undefined past the end. */
  read(n: number): number | undefined {
    if (this.bit + n > this.buf.length * 8) return undefined;
    let v = 0;
    for (let i = 0; i < n; i++, this.bit++) {
      v = (v << 1) | (((this.buf[this.bit >> 3] ?? 0) >> (7 - (this.bit & 7))) & 1);
    }
    return v;
  }
}

function objectType(r: BitReader): number | undefined {
  const t = r.read(5);
  if (t !== ESCAPE_OBJECT_TYPE) return t;
  const ext = r.read(6);
  return ext === undefined ? undefined : 32 + ext;
}

function frequency(r: BitReader): number | undefined {
  const index = r.read(4);
  if (index === undefined) return undefined;
  if (index === EXPLICIT_FREQUENCY) return r.read(24);
  return SAMPLING_FREQUENCIES[index] ?? 0;
}

/**
 * Reads the fields above; 'truncated' when the bits run out, 'malformed' for a reserved rate
 * index or 0 Hz, 'oversize' past MAX_AUDIO_SPECIFIC_CONFIG_BYTES.
 */
export function parseAudioSpecificConfig(asc: Buffer): Decoded<AudioSpecificConfig> {
  if (asc.length > MAX_AUDIO_SPECIFIC_CONFIG_BYTES) return fail('oversize');
  const r = new BitReader(asc);
  let type = objectType(r);
  const sampleRate = frequency(r);
  const channelConfiguration = r.read(4);
  if (type === undefined || sampleRate === undefined || channelConfiguration === undefined) return fail('truncated');
  if (sampleRate === 0) return fail('malformed');
  let outputSampleRate = sampleRate;
  if (type === AOT_SBR || type === AOT_PS) {
    const ext = frequency(r);
    type = objectType(r);
    if (ext === undefined || type === undefined) return fail('truncated');
    if (ext === 0) return fail('malformed');
    outputSampleRate = ext;
  }
  return ok({ objectType: type, sampleRate, outputSampleRate, channelConfiguration });
}

/** Channels of a channelConfiguration (1..7 as in table 1.19; 7 is 7.1); undefined for 0 or reserved. */
export function channelCount(channelConfiguration: number): number | undefined {
  return [undefined, 1, 2, 3, 4, 5, 6, 8][channelConfiguration];
}
