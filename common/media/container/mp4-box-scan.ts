/**
 * A bounds-checked walk over an ISO BMFF file's boxes (ISO/IEC 14496-12 section 4.2), run before
 * mp4box sees the file: mp4box builds one object per declared sample, so a file declaring four
 * billion samples in a few bytes (stsz with a constant size, trun) would exhaust memory there.
 *
 *   size(4) type(4) [largesize(8) when size = 1] payload     size 0: to the end of the file
 *
 * Counted: tracks (trak), and samples per track from stsz/stz2 (unfragmented) and trun
 * (fragments, by tfhd's track_ID, matched to tkhd's).
 */
import { fail, ok, type Decoded } from '../../wire/result.ts';

/** Boxes nest a few levels; a deep nesting is hostile. */
const MAX_DEPTH = 8;
/** Boxes visited in all; an MP4 has some per fragment, far fewer than this. */
const MAX_BOXES = 1_000_000;
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'moof', 'traf', 'edts', 'mvex']);
/** Top-level types that make a file ISO BMFF (the first box is one of these in practice). */
const TOP_LEVEL = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'styp', 'moof', 'sidx', 'pdin', 'uuid']);

export interface Mp4Scan {
  readonly tracks: number;
  /** The largest sample count declared for any track (unfragmented plus fragments). */
  readonly maxTrackSamples: number;
  /** All tracks' declared samples together. */
  readonly totalSamples: number;
  readonly hasMoov: boolean;
}

interface Tally {
  tracks: number;
  boxes: number;
  hasMoov: boolean;
  /** Unfragmented counts and track_IDs (tkhd), one per trak in order. */
  readonly trakSamples: number[];
  readonly trakIds: number[];
  /** Fragment counts by track_ID. */
  readonly fragmentSamples: Map<number, number>;
  currentTrafTrack: number;
}

/** 'unsupported' when the first box is not an ISO BMFF one; 'malformed' for sizes that do not nest. */
export function scanMp4(buf: Buffer): Decoded<Mp4Scan> {
  const firstType = buf.length >= 8 ? buf.toString('latin1', 4, 8) : '';
  if (!TOP_LEVEL.has(firstType)) return fail('unsupported');
  const t: Tally = {
    tracks: 0,
    boxes: 0,
    hasMoov: false,
    trakSamples: [],
    trakIds: [],
    fragmentSamples: new Map(),
    currentTrafTrack: 0,
  };
  if (!walk(buf, 0, buf.length, 0, t)) return fail('malformed');
  // Loops, not Math.max(...): a hostile file may declare more tracks than a call takes arguments.
  let maxTrackSamples = 0;
  let totalSamples = 0;
  t.trakSamples.forEach((n, i) => {
    const all = n + (t.fragmentSamples.get(t.trakIds[i] ?? -1) ?? 0);
    maxTrackSamples = Math.max(maxTrackSamples, all);
  });
  for (const n of [...t.trakSamples, ...t.fragmentSamples.values()]) totalSamples += n;
  for (const n of t.fragmentSamples.values()) maxTrackSamples = Math.max(maxTrackSamples, n);
  return ok({ tracks: t.tracks, maxTrackSamples, totalSamples, hasMoov: t.hasMoov });
}

function walk(buf: Buffer, start: number, end: number, depth: number, t: Tally): boolean {
  if (depth > MAX_DEPTH) return false;
  let pos = start;
  while (pos < end) {
    if (++t.boxes > MAX_BOXES || end - pos < 8) return false;
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let header = 8;
    if (size === 1) {
      if (end - pos < 16) return false;
      size = Number(buf.readBigUInt64BE(pos + 8));
      header = 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < header || size > end - pos) return false;
    const body = pos + header;
    const boxEnd = pos + size;
    if (type === 'moov') t.hasMoov = true;
    if (type === 'trak') t.tracks++;
    if (CONTAINERS.has(type)) {
      if (type === 'trak') {
        t.trakSamples.push(0);
        t.trakIds.push(-1);
      }
      if (!walk(buf, body, boxEnd, depth + 1, t)) return false;
    } else if (!count(buf, type, body, boxEnd, t)) {
      return false;
    }
    pos = boxEnd;
  }
  return true;
}

/** Reads the count field of the boxes that declare samples. */
function count(buf: Buffer, type: string, body: number, end: number, t: Tally): boolean {
  // Full boxes: version(1) flags(3) first.
  if (type === 'stsz' || type === 'stz2') {
    // stsz: sample_size(4) sample_count(4); stz2: reserved(3) field_size(1) sample_count(4).
    if (end - body < 12) return false;
    const last = t.trakSamples.length - 1;
    if (last >= 0) t.trakSamples[last] = buf.readUInt32BE(body + 8);
  } else if (type === 'tkhd') {
    // version 0: creation(4) modification(4) track_ID; version 1: 8-byte times.
    const at = body + ((buf[body] ?? 0) === 1 ? 20 : 12);
    if (end - at < 4) return false;
    const last = t.trakIds.length - 1;
    if (last >= 0) t.trakIds[last] = buf.readUInt32BE(at);
  } else if (type === 'tfhd') {
    if (end - body < 8) return false;
    t.currentTrafTrack = buf.readUInt32BE(body + 4);
  } else if (type === 'trun') {
    if (end - body < 8) return false;
    const n = buf.readUInt32BE(body + 4);
    t.fragmentSamples.set(t.currentTrafTrack, (t.fragmentSamples.get(t.currentTrafTrack) ?? 0) + n);
  }
  return true;
}
