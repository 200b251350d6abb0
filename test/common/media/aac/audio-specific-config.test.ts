import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { channelCount, parseAudioSpecificConfig } from '../../../../common/media/aac/audio-specific-config.ts';

describe('parseAudioSpecificConfig', () => {
  it('reads AAC LC 48 kHz stereo and 44.1 kHz mono', () => {
    expect(parseAudioSpecificConfig(Buffer.from('1190', 'hex'))).toEqual({
      ok: true,
      value: { objectType: 2, sampleRate: 48000, outputSampleRate: 48000, channelConfiguration: 2 },
    });
    // ffmpeg's encoder appends the backward-compatible SBR signal (0x2b7); it is ignored.
    expect(parseAudioSpecificConfig(Buffer.from('121056e500', 'hex'))).toMatchObject({
      ok: true,
      value: { objectType: 2, sampleRate: 44100, channelConfiguration: 2 },
    });
    expect(parseAudioSpecificConfig(Buffer.from('1208', 'hex'))).toMatchObject({
      ok: true,
      value: { sampleRate: 44100, channelConfiguration: 1 },
    });
  });

  it('reads explicit HE-AAC (SBR) with its output rate, and an explicit frequency', () => {
    // type 5, 24 kHz core (index 6), stereo, extension index 3 (48 kHz), then type 2.
    expect(parseAudioSpecificConfig(Buffer.from('2b1188', 'hex'))).toEqual({
      ok: true,
      value: { objectType: 2, sampleRate: 24000, outputSampleRate: 48000, channelConfiguration: 2 },
    });
    // type 2, index 15, 24-bit 8000 Hz, mono.
    const explicit = Buffer.from([0b00010111, 0b10000000, 0b00001111, 0b10100000, 0b00001000]);
    expect(parseAudioSpecificConfig(explicit)).toMatchObject({ ok: true, value: { sampleRate: 8000 } });
  });

  it('refuses short and reserved configs', () => {
    expect(parseAudioSpecificConfig(Buffer.from([0x11]))).toEqual({ ok: false, reason: 'truncated' });
    expect(parseAudioSpecificConfig(Buffer.from([0x16, 0x88]))).toEqual({ ok: false, reason: 'malformed' }); // index 13
    expect(parseAudioSpecificConfig(Buffer.alloc(65))).toEqual({ ok: false, reason: 'oversize' });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => void parseAudioSpecificConfig(Buffer.from(b))));
  });

  it('counts channels for the standard configurations', () => {
    expect([0, 1, 2, 6, 7, 8].map(channelCount)).toEqual([undefined, 1, 2, 6, 8, undefined]);
  });
});
