/**
 * A streaming Matroska (EBML, RFC 8794 / RFC 9559) writer for H.264 + AAC, without I/O: the
 * header first, then clusters of SimpleBlocks as units arrive. The segment has an unknown size
 * (0x01FFFFFFFFFFFFFF) so it can be piped while it grows; each cluster is built in memory
 * (at most MAX_CLUSTER_BYTES and MAX_CLUSTER_US of media) and written with its size.
 *
 *   EBML header (DocType "matroska")
 *   Segment (unknown size)
 *     Info { TimestampScale = 1000 ns (µs), MuxingApp, WritingApp }
 *     Tracks { TrackEntry { number, type, CodecID "V_MPEG4/ISO/AVC" + avcC | "A_AAC" + ASC, ... } }
 *     Cluster { Timestamp, SimpleBlock [track vint | int16 time - cluster time | flags | frame] }...
 *
 * Microsecond timestamps keep an AAC frame's 21.33 ms to the µs rather than rounding to whole
 * ms; a block's int16 offset then spans ±32 ms, so a cluster starts whenever it runs out.
 * Video blocks hold length-prefixed NAL units (ISO/IEC 14496-15), as the avcC record announces.
 */
import { joinLengthPrefixed, NAL_PPS, NAL_SPS, nalType } from '../../common/media/h264/nal-unit.ts';

/** Bytes one cluster may gather before it is written. */
export const MAX_CLUSTER_BYTES = 4 * 1024 * 1024;
/** Media time one cluster may span (µs): players seek to cluster starts. */
export const MAX_CLUSTER_US = 1_000_000;
/** Nanoseconds per timestamp unit: µs. */
export const TIMESTAMP_SCALE_NS = 1000;

const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const INT16_MIN = -0x8000;
const INT16_MAX = 0x7fff;
const KEYFRAME_FLAG = 0x80;

export interface MkvVideoTrack {
  readonly sps: readonly Buffer[];
  readonly pps: readonly Buffer[];
  readonly width?: number;
  readonly height?: number;
}

export interface MkvAudioTrack {
  readonly sampleRate: number;
  readonly channels: number;
  /** AudioSpecificConfig. */
  readonly config: Buffer;
}

export interface MkvTracks {
  readonly video?: MkvVideoTrack;
  readonly audio?: MkvAudioTrack;
}

/** An element ID as written (its marker bits included) in 1 to 4 bytes. */
function idBytes(id: number): Buffer {
  const n = id < 0x100 ? 1 : id < 0x10000 ? 2 : id < 0x1000000 ? 3 : 4;
  const b = Buffer.alloc(n);
  b.writeUIntBE(id, 0, n);
  return b;
}

/** An element data size as an EBML variable-length integer, in the fewest bytes. */
function sizeBytes(size: number): Buffer {
  for (let n = 1; n <= 8; n++) {
    // All ones is reserved (unknown size), hence the - 1.
    if (size < 2 ** (7 * n) - 1) {
      const b = Buffer.alloc(n);
      let v = size;
      for (let i = n - 1; i >= 0; i--) {
        b[i] = v % 256;
        v = Math.floor(v / 256);
      }
      b[0] = (b[0] ?? 0) | (0x80 >> (n - 1));
      return b;
    }
  }
  throw new RangeError(`EBML size ${size} too large`);
}

export function element(id: number, ...data: Buffer[]): Buffer {
  const body = Buffer.concat(data);
  return Buffer.concat([idBytes(id), sizeBytes(body.length), body]);
}

function uint(id: number, value: number): Buffer {
  let n = 1;
  while (n < 8 && value >= 2 ** (8 * n)) n++;
  const b = Buffer.alloc(n);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return element(id, b);
}

function float(id: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(value, 0);
  return element(id, b);
}

function text(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

/**
 * The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 section 5.2.4.1) for the parameter sets,
 * with 4-byte NAL lengths; undefined without an SPS of at least 4 bytes.
 */
export function avcDecoderConfig(sps: readonly Buffer[], pps: readonly Buffer[]): Buffer | undefined {
  const first = sps[0];
  if (first === undefined || first.length < 4) return undefined;
  const sets = (list: readonly Buffer[]) =>
    list.flatMap((ps) => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(ps.length, 0);
      return [len, ps];
    });
  return Buffer.concat([
    Buffer.from([1, first[1] ?? 0, first[2] ?? 0, first[3] ?? 0, 0xff, 0xe0 | Math.min(sps.length, 31)]),
    ...sets(sps.slice(0, 31)),
    Buffer.from([Math.min(pps.length, 255)]),
    ...sets(pps.slice(0, 255)),
  ]);
}

/** SPS and PPS carried in band by an access unit. */
export function inBandParameterSets(nals: readonly Buffer[]): { sps: Buffer[]; pps: Buffer[] } {
  return { sps: nals.filter((n) => nalType(n) === NAL_SPS), pps: nals.filter((n) => nalType(n) === NAL_PPS) };
}

/** Track numbers: video 1 and audio 2, or audio 1 alone. */
export function trackNumbers(tracks: MkvTracks): { video?: number; audio?: number } {
  if (tracks.video === undefined) return tracks.audio === undefined ? {} : { audio: 1 };
  return tracks.audio === undefined ? { video: 1 } : { video: 1, audio: 2 };
}

/** EBML header, the open segment, Info and Tracks. A video track needs its avcC (avcDecoderConfig). */
export function matroskaHeader(tracks: MkvTracks, avcC: Buffer | undefined, app: string): Buffer {
  const numbers = trackNumbers(tracks);
  const entries: Buffer[] = [];
  const v = tracks.video;
  if (v !== undefined && numbers.video !== undefined) {
    const size = v.width !== undefined && v.height !== undefined ? [uint(0xb0, v.width), uint(0xba, v.height)] : [];
    entries.push(
      element(
        0xae,
        uint(0xd7, numbers.video),
        uint(0x73c5, numbers.video),
        uint(0x83, 1),
        uint(0x9c, 0),
        text(0x86, 'V_MPEG4/ISO/AVC'),
        ...(avcC === undefined ? [] : [element(0x63a2, avcC)]),
        element(0xe0, ...size),
      ),
    );
  }
  const a = tracks.audio;
  if (a !== undefined && numbers.audio !== undefined) {
    entries.push(
      element(
        0xae,
        uint(0xd7, numbers.audio),
        uint(0x73c5, numbers.audio),
        uint(0x83, 2),
        uint(0x9c, 0),
        text(0x86, 'A_AAC'),
        element(0x63a2, a.config),
        element(0xe1, float(0xb5, a.sampleRate), uint(0x9f, a.channels)),
      ),
    );
  }
  const ebml = element(
    0x1a45dfa3,
    uint(0x4286, 1),
    uint(0x42f7, 1),
    uint(0x42f2, 4),
    uint(0x42f3, 8),
    text(0x4282, 'matroska'),
    uint(0x4287, 4),
    uint(0x4285, 2),
  );
  const info = element(0x1549a966, uint(0x2ad7b1, TIMESTAMP_SCALE_NS), text(0x4d80, app), text(0x5741, app));
  return Buffer.concat([ebml, idBytes(0x18538067), UNKNOWN_SIZE, info, element(0x1654ae6b, ...entries)]);
}

/** A video access unit's block data: its NAL units with 4-byte lengths. */
export function videoBlockData(nals: readonly Buffer[]): Buffer {
  return joinLengthPrefixed(nals);
}

/** Gathers blocks into clusters; `add` and `flush` return the bytes of clusters that are complete. */
export class MatroskaClusters {
  private time = 0;
  private blocks: Buffer[] = [];
  private bytes = 0;

  /**
   * @param timeUs the block's presentation time, µs from the file's start (>= 0).
   * @param newCluster start a cluster here (at a video keyframe, where players seek to).
   */
  add(track: number, timeUs: number, keyframe: boolean, data: Buffer, newCluster = false): Buffer | undefined {
    const t = Math.max(0, Math.round(timeUs));
    let out: Buffer | undefined;
    const offset = t - this.time;
    const full = this.bytes + data.length > MAX_CLUSTER_BYTES || offset > MAX_CLUSTER_US;
    if (this.blocks.length > 0 && (offset < INT16_MIN || offset > INT16_MAX || full || newCluster)) {
      out = this.flush();
    }
    if (this.blocks.length === 0) this.time = t;
    const header = Buffer.alloc(4);
    header[0] = 0x80 | track; // track number as a one-byte vint (< 127)
    header.writeInt16BE(t - this.time, 1);
    header[3] = keyframe ? KEYFRAME_FLAG : 0;
    this.blocks.push(element(0xa3, header, data));
    this.bytes += data.length;
    return out;
  }

  /** The cluster gathered so far (undefined when empty). */
  flush(): Buffer | undefined {
    if (this.blocks.length === 0) return undefined;
    const cluster = element(0x1f43b675, uint(0xe7, this.time), ...this.blocks);
    this.blocks = [];
    this.bytes = 0;
    return cluster;
  }
}
