/**
 * Reading the a=fmtp parameters of the H.264 and AAC media sections back (a player, or a POP
 * taking a published stream): "96 packetization-mode=1;sprop-parameter-sets=Z0..,aO.." is the
 * payload type, then `name=value` pairs separated by semicolons (names are case-insensitive).
 */
import { fail, ok, type Decoded } from '../wire/result.ts';
import { MAX_AUDIO_SPECIFIC_CONFIG_BYTES } from './aac/audio-specific-config.ts';
import { AU_INDEX_BITS, AU_SIZE_BITS } from './aac/rtp-aac.ts';
import { NAL_PPS, NAL_SPS, nalType } from './h264/nal-unit.ts';

/** Parameter sets in one sprop-parameter-sets (an encoder writes one or two of each). */
export const MAX_SPROP_PARAMETER_SETS = 32;
/** Bytes of one parameter set (an SPS is tens of bytes; 64 KiB is far beyond any). */
const MAX_PARAMETER_SET_BYTES = 0xffff;

export interface Fmtp {
  readonly payloadType: number;
  /** Lower-case names. */
  readonly params: ReadonlyMap<string, string>;
}

/** Parses the value of an a=fmtp attribute (after "fmtp:"). */
export function parseFmtp(value: string): Decoded<Fmtp> {
  const m = /^(\d{1,3})\s+(.*)$/.exec(value.trim());
  if (m === null) return fail('malformed');
  const payloadType = Number(m[1]);
  if (payloadType > 127) return fail('malformed');
  const params = new Map<string, string>();
  for (const part of (m[2] ?? '').split(';')) {
    const p = part.trim();
    if (p.length === 0) continue;
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (name.length === 0) return fail('malformed');
    if (!params.has(name)) params.set(name, eq < 0 ? '' : p.slice(eq + 1).trim());
  }
  return ok({ payloadType, params });
}

export interface H264Fmtp {
  readonly packetizationMode: number;
  readonly profileLevelId?: string;
  readonly sps: readonly Buffer[];
  readonly pps: readonly Buffer[];
}

/** H.264 parameters: refuses a mode other than 0/1 ('unsupported') and bad base64 or sets ('malformed'). */
export function readH264Fmtp(fmtp: Fmtp): Decoded<H264Fmtp> {
  const mode = fmtp.params.get('packetization-mode') ?? '0';
  if (mode !== '0' && mode !== '1') return fail('unsupported');
  const sps: Buffer[] = [];
  const pps: Buffer[] = [];
  const sprop = fmtp.params.get('sprop-parameter-sets');
  if (sprop !== undefined && sprop.length > 0) {
    const sets = sprop.split(',');
    if (sets.length > MAX_SPROP_PARAMETER_SETS) return fail('oversize');
    for (const b64 of sets) {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return fail('malformed');
      const ps = Buffer.from(b64, 'base64');
      if (ps.length === 0 || ps.length > MAX_PARAMETER_SET_BYTES) return fail('malformed');
      if (nalType(ps) === NAL_SPS) sps.push(ps);
      else if (nalType(ps) === NAL_PPS) pps.push(ps);
      else return fail('malformed');
    }
  }
  const plid = fmtp.params.get('profile-level-id');
  if (plid !== undefined && !/^[0-9a-fA-F]{6}$/.test(plid)) return fail('malformed');
  return ok({
    packetizationMode: Number(mode),
    ...(plid !== undefined ? { profileLevelId: plid.toLowerCase() } : {}),
    sps,
    pps,
  });
}

export interface AacFmtp {
  /** AudioSpecificConfig. */
  readonly config: Buffer;
}

/**
 * AAC parameters: only the AAC-hbr layout that our depacketizer reads (sizelength 13,
 * indexlength 3, indexdeltalength 3, no CTS/DTS or auxiliary fields) is accepted ('unsupported').
 */
export function readAacFmtp(fmtp: Fmtp): Decoded<AacFmtp> {
  const p = fmtp.params;
  if (p.get('mode')?.toLowerCase() !== 'aac-hbr') return fail('unsupported');
  if (p.get('sizelength') !== String(AU_SIZE_BITS)) return fail('unsupported');
  if (p.get('indexlength') !== String(AU_INDEX_BITS)) return fail('unsupported');
  if (p.get('indexdeltalength') !== String(AU_INDEX_BITS)) return fail('unsupported');
  for (const name of ['ctsdeltalength', 'dtsdeltalength', 'auxiliarydatasizelength', 'randomaccessindication']) {
    const v = p.get(name);
    if (v !== undefined && v !== '0') return fail('unsupported');
  }
  const hex = p.get('config') ?? '';
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) return fail('malformed');
  if (hex.length / 2 > MAX_AUDIO_SPECIFIC_CONFIG_BYTES) return fail('oversize');
  return ok({ config: Buffer.from(hex, 'hex') });
}
