/**
 * ADTS framing (ISO/IEC 13818-7 section 6.2 and 14496-3 section 1.A.2): a raw AAC frame with a
 * 7-byte header that carries its configuration, so a stream of them plays on its own
 * (`ffmpeg -f aac -i -`, `ffplay`), which is how a player pipes received audio to a decoder.
 *
 *   syncword 12 (0xFFF) | ID 1 (0 = MPEG-4) | layer 2 (0) | protection_absent 1 (1)
 *   profile 2 (object type - 1) | sampling_frequency_index 4 | private 1 | channel_configuration 3
 *   original 1 | home 1 | copyright_id_bit 1 | copyright_id_start 1 | frame_length 13 (with header)
 *   buffer_fullness 11 (0x7FF: variable rate) | number_of_raw_data_blocks 2 (0: one block)
 */
import { fail, ok, type Decoded } from '../../wire/result.ts';
import { type AudioSpecificConfig, SAMPLING_FREQUENCIES } from './audio-specific-config.ts';

export const ADTS_HEADER_BYTES = 7;
/** frame_length is 13 bits and counts the header. */
export const ADTS_MAX_FRAME_BYTES = (1 << 13) - 1;

/**
 * The frame with its ADTS header. 'unsupported' for what ADTS cannot describe: object types
 * beyond 4 (HE-AAC is written as its AAC LC core), rates outside the index table, channels
 * defined by a program config element (configuration 0); 'oversize' past 8191 bytes.
 */
export function toAdts(frame: Buffer, asc: AudioSpecificConfig): Decoded<Buffer> {
  const rateIndex = SAMPLING_FREQUENCIES.indexOf(asc.sampleRate);
  if (asc.objectType < 1 || asc.objectType > 4 || rateIndex < 0) return fail('unsupported');
  if (asc.channelConfiguration < 1 || asc.channelConfiguration > 7) return fail('unsupported');
  const length = ADTS_HEADER_BYTES + frame.length;
  if (length > ADTS_MAX_FRAME_BYTES) return fail('oversize');
  const out = Buffer.alloc(length);
  out[0] = 0xff;
  out[1] = 0xf1; // sync, MPEG-4, layer 0, no CRC
  out[2] = ((asc.objectType - 1) << 6) | (rateIndex << 2) | (asc.channelConfiguration >> 2);
  out[3] = ((asc.channelConfiguration & 3) << 6) | (length >> 11);
  out[4] = (length >> 3) & 0xff;
  out[5] = ((length & 7) << 5) | 0x1f;
  out[6] = 0xfc;
  frame.copy(out, ADTS_HEADER_BYTES);
  return ok(out);
}
