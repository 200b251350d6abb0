/**
 * RTCP compound packets (RFC 3550 section 6) and the generic NACK (RFC 4585 section 6.2.1).
 *
 * Every RTCP packet opens with the same word. `length` counts the packet's 32-bit words
 * minus one, so a compound packet is simply packets back to back:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|  count  |      PT       |             length            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * `count` is RC (SR, RR), SC (SDES, BYE), the subtype (APP) or FMT (feedback).
 * Validity follows RFC 3550 appendix A.2: version 2 throughout, padding only on the last
 * packet, and the lengths must add up to exactly the compound. The decoder does not insist
 * that the first packet be SR or RR, because reduced-size RTCP (RFC 5506) sends a lone NACK.
 */
import { fail, ok, type Decoded } from './result.ts';

export const RTCP_VERSION = 2;
export const RTCP_HEADER_BYTES = 4;
/** One MTU: a compound travels in a single datagram, and our reports are far smaller. */
export const RTCP_MAX_COMPOUND_BYTES = 1500;
/** RC is a 5-bit field; more receivers need a further RR packet. */
export const RTCP_MAX_REPORT_BLOCKS = 31;
/** SC is a 5-bit field: SDES chunks or BYE sources per packet. */
export const RTCP_MAX_SOURCES = 31;
/** SDES item text and the BYE reason carry an 8-bit byte length. */
export const RTCP_MAX_TEXT_BYTES = 255;
/** Packets one NACK asks for at most: what clients send and POPs read; more is a client gone wrong. */
export const MAX_NACKED_PACKETS = 256;
/** PID+BLP words that fit in one maximal compound after the NACK's 12-byte preamble. */
export const RTCP_MAX_NACK_ENTRIES = (RTCP_MAX_COMPOUND_BYTES - 12) / 4;

export const RTCP_PT = { sr: 200, rr: 201, sdes: 202, bye: 203, app: 204, rtpfb: 205, psfb: 206 } as const;
/** SDES item types (RFC 3550 section 6.5); 0 is END and never an item. */
export const SDES_ITEM = { cname: 1, name: 2, email: 3, phone: 4, loc: 5, tool: 6, note: 7, priv: 8 } as const;
/** FMT of the generic NACK within RTPFB. */
export const RTPFB_FMT_NACK = 1;

/** Packet types of the RTCP range (RFC 5761 section 4); anything else is not RTCP. */
const RTCP_PT_MIN = 192;
const RTCP_PT_MAX = 223;
const REPORT_BLOCK_BYTES = 24;
/** NTP timestamp (8), RTP timestamp, packet count and octet count. */
const SENDER_INFO_BYTES = 20;
const NACK_PREAMBLE_BYTES = 8;
const NTP_UNIX_EPOCH_OFFSET_SEC = 2_208_988_800;

export interface ReportBlock {
  readonly ssrc: number;
  /** Fraction of packets lost since the last report, in 1/256ths (0..255). */
  readonly fractionLost: number;
  /** Signed 24-bit: duplicates can make it negative. */
  readonly cumulativeLost: number;
  /** Extended highest sequence number received (cycles << 16 | seq). */
  readonly highestSeq: number;
  /** Interarrival jitter in RTP timestamp units. */
  readonly jitter: number;
  /** Middle 32 bits of the last SR's NTP timestamp, 0 if none yet. */
  readonly lastSr: number;
  /** Delay since that SR in 1/65536 seconds, 0 if none yet. */
  readonly delaySinceLastSr: number;
}

export interface SenderReport {
  readonly type: 'sr';
  readonly ssrc: number;
  readonly ntpSec: number;
  readonly ntpFrac: number;
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  readonly octetCount: number;
  readonly reports: readonly ReportBlock[];
}

export interface ReceiverReport {
  readonly type: 'rr';
  readonly ssrc: number;
  readonly reports: readonly ReportBlock[];
}

export interface SdesItem {
  /** 2..255: CNAME has its own field and 0 ends the list. */
  readonly type: number;
  readonly text: string;
}

export interface SdesChunk {
  readonly ssrc: number;
  readonly cname?: string;
  /** The items other than CNAME, in wire order. */
  readonly items: readonly SdesItem[];
}

export interface Sdes {
  readonly type: 'sdes';
  readonly chunks: readonly SdesChunk[];
}

export interface Bye {
  readonly type: 'bye';
  readonly ssrcs: readonly number[];
  readonly reason?: string;
}

export interface GenericNack {
  readonly type: 'nack';
  readonly senderSsrc: number;
  readonly mediaSsrc: number;
  /** Lost RTP sequence numbers; decoded lists are deduplicated in the order `packNack` uses. */
  readonly lost: readonly number[];
}

/** APP, other feedback and packet types we do not interpret, kept for relaying. */
export interface OtherRtcpPacket {
  readonly type: 'other';
  readonly packetType: number;
  /** The 5-bit count/subtype/FMT field. */
  readonly count: number;
  /** Everything after the header word, padding removed; a view into the compound when decoded. */
  readonly data: Buffer;
}

export type RtcpPacket = SenderReport | ReceiverReport | Sdes | Bye | GenericNack | OtherRtcpPacket;

/** One FCI word of a generic NACK: `pid` lost, and bit i of `blp` means pid + i + 1 lost too. */
export interface NackEntry {
  readonly pid: number;
  readonly blp: number;
}

/** Thrown by encodeRtcp when asked to encode something RTCP cannot represent. */
export class RtcpEncodeError extends Error {
  override readonly name = 'RtcpEncodeError';
}

/** NTP timestamp (seconds since 1900, 32.32 fixed point) of a Unix time in milliseconds. */
export function ntpFromUnixMs(ms: number): { ntpSec: number; ntpFrac: number } {
  const sec = Math.floor(ms / 1000);
  // Clamped because float rounding can put fractional ms a hair outside [0, 1000).
  const frac = Math.min(Math.max(Math.floor(((ms - sec * 1000) / 1000) * 2 ** 32), 0), 0xffffffff);
  // >>> 0 wraps the seconds as the 32-bit field does (the NTP era rolls over in 2036).
  return { ntpSec: (sec + NTP_UNIX_EPOCH_OFFSET_SEC) >>> 0, ntpFrac: frac };
}

// ---------------------------------------------------------------------------------------
// Generic NACK packing (RFC 4585 section 6.2.1)
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|  FMT=1  |   PT=RTPFB=205  |          length             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  SSRC of packet sender                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  SSRC of media source                         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |            PID                |             BLP               |  (one or more)
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ---------------------------------------------------------------------------------------

/**
 * Deduplicates sequence numbers and orders them as they were sent: ascending from the
 * number after the widest circular gap, so a loss burst across 65535 -> 0 stays together.
 */
function orderSequenceNumbers(seqs: readonly number[]): number[] {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  if (sorted.length < 2) return sorted;
  let start = 0;
  let widest = -1;
  for (let i = 0; i < sorted.length; i++) {
    const next = (i + 1) % sorted.length;
    const gap = ((sorted[next] ?? 0) - (sorted[i] ?? 0)) & 0xffff;
    if (gap > widest) {
      widest = gap;
      start = next;
    }
  }
  return [...sorted.slice(start), ...sorted.slice(0, start)];
}

/** Packs lost sequence numbers into PID+BLP words, each covering its PID and the 16 after it. */
export function packNack(lost: readonly number[]): NackEntry[] {
  for (const seq of lost) checkUint(seq, 0xffff, 'lost sequence number');
  const entries: { pid: number; blp: number }[] = [];
  let current: { pid: number; blp: number } | undefined;
  for (const seq of orderSequenceNumbers(lost)) {
    const offset = current === undefined ? 0 : (seq - current.pid) & 0xffff;
    if (current !== undefined && offset >= 1 && offset <= 16) {
      current.blp |= 1 << (offset - 1);
    } else {
      current = { pid: seq, blp: 0 };
      entries.push(current);
    }
  }
  return entries;
}

/** The sequence numbers that PID+BLP words report lost, deduplicated and in send order. */
export function unpackNack(entries: readonly NackEntry[]): number[] {
  const lost: number[] = [];
  for (const { pid, blp } of entries) {
    lost.push(pid);
    for (let bit = 0; bit < 16; bit++) if ((blp >> bit) & 1) lost.push((pid + bit + 1) & 0xffff);
  }
  return orderSequenceNumbers(lost);
}

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

function checkUint(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RtcpEncodeError(`${what} must be an integer in 0..${max}, got ${value}`);
  }
}

function checkText(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > RTCP_MAX_TEXT_BYTES) {
    throw new RtcpEncodeError(`${what} must be at most ${RTCP_MAX_TEXT_BYTES} UTF-8 bytes, got ${bytes.length}`);
  }
  return bytes;
}

const roundUp4 = (n: number): number => (n + 3) & ~3;

/** A zeroed packet of `bytes` (a multiple of 4) with its header word written. */
function packet(bytes: number, count: number, packetType: number): Buffer {
  const buf = Buffer.alloc(bytes);
  buf[0] = (RTCP_VERSION << 6) | count;
  buf[1] = packetType;
  buf.writeUInt16BE(bytes / 4 - 1, 2);
  return buf;
}

function checkReports(reports: readonly ReportBlock[]): void {
  if (reports.length > RTCP_MAX_REPORT_BLOCKS) {
    throw new RtcpEncodeError(
      `at most ${RTCP_MAX_REPORT_BLOCKS} report blocks fit in one packet, got ${reports.length}`,
    );
  }
  for (const r of reports) {
    checkUint(r.ssrc, 0xffffffff, 'report ssrc');
    checkUint(r.fractionLost, 0xff, 'fractionLost');
    // RFC 3550 says to clamp an out-of-range loss count; that is the statistics' job, not ours.
    if (!Number.isInteger(r.cumulativeLost) || r.cumulativeLost < -0x800000 || r.cumulativeLost > 0x7fffff) {
      throw new RtcpEncodeError(`cumulativeLost must be a signed 24-bit integer, got ${r.cumulativeLost}`);
    }
    checkUint(r.highestSeq, 0xffffffff, 'highestSeq');
    checkUint(r.jitter, 0xffffffff, 'jitter');
    checkUint(r.lastSr, 0xffffffff, 'lastSr');
    checkUint(r.delaySinceLastSr, 0xffffffff, 'delaySinceLastSr');
  }
}

function writeReports(buf: Buffer, pos: number, reports: readonly ReportBlock[]): void {
  for (const r of reports) {
    buf.writeUInt32BE(r.ssrc, pos);
    buf.writeUInt8(r.fractionLost, pos + 4);
    buf.writeIntBE(r.cumulativeLost, pos + 5, 3);
    buf.writeUInt32BE(r.highestSeq, pos + 8);
    buf.writeUInt32BE(r.jitter, pos + 12);
    buf.writeUInt32BE(r.lastSr, pos + 16);
    buf.writeUInt32BE(r.delaySinceLastSr, pos + 20);
    pos += REPORT_BLOCK_BYTES;
  }
}

function encodeSr(p: SenderReport): Buffer {
  checkUint(p.ssrc, 0xffffffff, 'ssrc');
  checkUint(p.ntpSec, 0xffffffff, 'ntpSec');
  checkUint(p.ntpFrac, 0xffffffff, 'ntpFrac');
  checkUint(p.rtpTimestamp, 0xffffffff, 'rtpTimestamp');
  checkUint(p.packetCount, 0xffffffff, 'packetCount');
  checkUint(p.octetCount, 0xffffffff, 'octetCount');
  checkReports(p.reports);
  const buf = packet(
    RTCP_HEADER_BYTES + 4 + SENDER_INFO_BYTES + REPORT_BLOCK_BYTES * p.reports.length,
    p.reports.length,
    RTCP_PT.sr,
  );
  buf.writeUInt32BE(p.ssrc, 4);
  buf.writeUInt32BE(p.ntpSec, 8);
  buf.writeUInt32BE(p.ntpFrac, 12);
  buf.writeUInt32BE(p.rtpTimestamp, 16);
  buf.writeUInt32BE(p.packetCount, 20);
  buf.writeUInt32BE(p.octetCount, 24);
  writeReports(buf, RTCP_HEADER_BYTES + 4 + SENDER_INFO_BYTES, p.reports);
  return buf;
}

function encodeRr(p: ReceiverReport): Buffer {
  checkUint(p.ssrc, 0xffffffff, 'ssrc');
  checkReports(p.reports);
  const buf = packet(RTCP_HEADER_BYTES + 4 + REPORT_BLOCK_BYTES * p.reports.length, p.reports.length, RTCP_PT.rr);
  buf.writeUInt32BE(p.ssrc, 4);
  writeReports(buf, RTCP_HEADER_BYTES + 4, p.reports);
  return buf;
}

function encodeSdes(p: Sdes): Buffer {
  if (p.chunks.length > RTCP_MAX_SOURCES) {
    throw new RtcpEncodeError(`at most ${RTCP_MAX_SOURCES} SDES chunks fit in one packet, got ${p.chunks.length}`);
  }
  const chunks = p.chunks.map((chunk) => {
    checkUint(chunk.ssrc, 0xffffffff, 'SDES chunk ssrc');
    const items: { type: number; text: Buffer }[] = [];
    if (chunk.cname !== undefined) items.push({ type: SDES_ITEM.cname, text: checkText(chunk.cname, 'CNAME') });
    for (const item of chunk.items) {
      checkUint(item.type, 0xff, 'SDES item type');
      if (item.type === 0 || item.type === SDES_ITEM.cname) {
        throw new RtcpEncodeError(`SDES item type ${item.type} is not an item (CNAME goes in its own field)`);
      }
      items.push({ type: item.type, text: checkText(item.text, 'SDES item text') });
    }
    const itemBytes = items.reduce((sum, item) => sum + 2 + item.text.length, 0);
    // The item list ends with at least one null octet, then nulls to a word boundary.
    return { ssrc: chunk.ssrc, items, bytes: 4 + roundUp4(itemBytes + 1) };
  });
  const buf = packet(RTCP_HEADER_BYTES + chunks.reduce((sum, c) => sum + c.bytes, 0), chunks.length, RTCP_PT.sdes);
  let pos = RTCP_HEADER_BYTES;
  for (const chunk of chunks) {
    buf.writeUInt32BE(chunk.ssrc, pos);
    let itemPos = pos + 4;
    for (const item of chunk.items) {
      buf[itemPos] = item.type;
      buf[itemPos + 1] = item.text.length;
      item.text.copy(buf, itemPos + 2);
      itemPos += 2 + item.text.length;
    }
    pos += chunk.bytes;
  }
  return buf;
}

function encodeBye(p: Bye): Buffer {
  if (p.ssrcs.length > RTCP_MAX_SOURCES) {
    throw new RtcpEncodeError(`at most ${RTCP_MAX_SOURCES} sources fit in one BYE, got ${p.ssrcs.length}`);
  }
  for (const ssrc of p.ssrcs) checkUint(ssrc, 0xffffffff, 'BYE ssrc');
  const reason = p.reason === undefined ? undefined : checkText(p.reason, 'BYE reason');
  const reasonBytes = reason === undefined ? 0 : roundUp4(1 + reason.length);
  const buf = packet(RTCP_HEADER_BYTES + 4 * p.ssrcs.length + reasonBytes, p.ssrcs.length, RTCP_PT.bye);
  let pos = RTCP_HEADER_BYTES;
  for (const ssrc of p.ssrcs) {
    buf.writeUInt32BE(ssrc, pos);
    pos += 4;
  }
  if (reason !== undefined) {
    buf[pos] = reason.length;
    reason.copy(buf, pos + 1);
  }
  return buf;
}

function encodeNack(p: GenericNack): Buffer {
  checkUint(p.senderSsrc, 0xffffffff, 'senderSsrc');
  checkUint(p.mediaSsrc, 0xffffffff, 'mediaSsrc');
  if (p.lost.length === 0) throw new RtcpEncodeError('a generic NACK must report at least one lost packet');
  const entries = packNack(p.lost);
  if (entries.length > RTCP_MAX_NACK_ENTRIES) {
    throw new RtcpEncodeError(`at most ${RTCP_MAX_NACK_ENTRIES} NACK entries fit in a compound, got ${entries.length}`);
  }
  const buf = packet(RTCP_HEADER_BYTES + NACK_PREAMBLE_BYTES + 4 * entries.length, RTPFB_FMT_NACK, RTCP_PT.rtpfb);
  buf.writeUInt32BE(p.senderSsrc, 4);
  buf.writeUInt32BE(p.mediaSsrc, 8);
  let pos = RTCP_HEADER_BYTES + NACK_PREAMBLE_BYTES;
  for (const { pid, blp } of entries) {
    buf.writeUInt16BE(pid, pos);
    buf.writeUInt16BE(blp, pos + 2);
    pos += 4;
  }
  return buf;
}

function encodeOther(p: OtherRtcpPacket): Buffer {
  checkUint(p.count, 0x1f, 'count');
  if (!Number.isInteger(p.packetType) || p.packetType < RTCP_PT_MIN || p.packetType > RTCP_PT_MAX) {
    throw new RtcpEncodeError(
      `packetType must be in the RTCP range ${RTCP_PT_MIN}..${RTCP_PT_MAX}, got ${p.packetType}`,
    );
  }
  // Keep one representation per packet: types we decode must be encoded as themselves.
  const known =
    (p.packetType >= RTCP_PT.sr && p.packetType <= RTCP_PT.bye) ||
    (p.packetType === RTCP_PT.rtpfb && p.count === RTPFB_FMT_NACK);
  if (known) throw new RtcpEncodeError(`packet type ${p.packetType}/${p.count} has its own representation`);
  if (p.data.length % 4 !== 0) {
    throw new RtcpEncodeError(`data must be a whole number of 32-bit words, got ${p.data.length} bytes`);
  }
  const buf = packet(RTCP_HEADER_BYTES + p.data.length, p.count, p.packetType);
  p.data.copy(buf, RTCP_HEADER_BYTES);
  return buf;
}

function encodeOne(p: RtcpPacket): Buffer {
  switch (p.type) {
    case 'sr':
      return encodeSr(p);
    case 'rr':
      return encodeRr(p);
    case 'sdes':
      return encodeSdes(p);
    case 'bye':
      return encodeBye(p);
    case 'nack':
      return encodeNack(p);
    case 'other':
      return encodeOther(p);
  }
}

/** Encodes packets, in the order given, as one compound packet without padding. */
export function encodeRtcp(packets: readonly RtcpPacket[]): Buffer {
  if (packets.length === 0) throw new RtcpEncodeError('a compound packet needs at least one packet');
  const buf = Buffer.concat(packets.map(encodeOne));
  if (buf.length > RTCP_MAX_COMPOUND_BYTES) {
    throw new RtcpEncodeError(`compound of ${buf.length} bytes exceeds ${RTCP_MAX_COMPOUND_BYTES}`);
  }
  return buf;
}

// ---------------------------------------------------------------------------------------
// Decoding. Each body decoder gets the packet after its header word, padding removed;
// a body that disagrees with its own count is malformed (the compound's length was fine).
// ---------------------------------------------------------------------------------------

/*
 * SR (RFC 3550 section 6.4.1); RR (6.4.2) is the same without the sender info.
 *
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * header |V=2|P|    RC   |   PT=SR=200   |             length            |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                         SSRC of sender                        |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * sender |              NTP timestamp, most significant word             |
 * info   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |             NTP timestamp, least significant word             |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                         RTP timestamp                         |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                     sender's packet count                     |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                      sender's octet count                     |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * report |                 SSRC_1 (SSRC of first source)                 |
 * block  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  (RC   | fraction lost |       cumulative number of packets lost       |
 *  of    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  them) |           extended highest sequence number received           |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                      interarrival jitter                      |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                         last SR (LSR)                         |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                   delay since last SR (DLSR)                  |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *        |                  profile-specific extensions                  |
 */
function readReports(body: Buffer, pos: number, count: number): ReportBlock[] {
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++, pos += REPORT_BLOCK_BYTES) {
    reports.push({
      ssrc: body.readUInt32BE(pos),
      fractionLost: body.readUInt8(pos + 4),
      cumulativeLost: body.readIntBE(pos + 5, 3),
      highestSeq: body.readUInt32BE(pos + 8),
      jitter: body.readUInt32BE(pos + 12),
      lastSr: body.readUInt32BE(pos + 16),
      delaySinceLastSr: body.readUInt32BE(pos + 20),
    });
  }
  return reports;
}

// Bytes after the report blocks are profile-specific extensions (RFC 3550 6.4.3); the
// AVP profile defines none, so they are skipped.
function decodeSr(count: number, body: Buffer): Decoded<SenderReport> {
  if (body.length < 4 + SENDER_INFO_BYTES + REPORT_BLOCK_BYTES * count) return fail('malformed');
  return ok({
    type: 'sr',
    ssrc: body.readUInt32BE(0),
    ntpSec: body.readUInt32BE(4),
    ntpFrac: body.readUInt32BE(8),
    rtpTimestamp: body.readUInt32BE(12),
    packetCount: body.readUInt32BE(16),
    octetCount: body.readUInt32BE(20),
    reports: readReports(body, 4 + SENDER_INFO_BYTES, count),
  });
}

function decodeRr(count: number, body: Buffer): Decoded<ReceiverReport> {
  if (body.length < 4 + REPORT_BLOCK_BYTES * count) return fail('malformed');
  return ok({ type: 'rr', ssrc: body.readUInt32BE(0), reports: readReports(body, 4, count) });
}

/*
 * SDES (RFC 3550 section 6.5): SC chunks, each an SSRC and a list of items ended by a
 * null octet and padded with nulls to a word boundary.
 *
 * chunk  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *        |                          SSRC/CSRC_1                          |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |     type      |    length     |  text (length bytes) ...
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |   ... more items ...          |  END = 0  |  nulls to 32 bits |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 */
function decodeSdes(count: number, body: Buffer): Decoded<Sdes> {
  const chunks: SdesChunk[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    if (body.length < pos + 4) return fail('malformed');
    const ssrc = body.readUInt32BE(pos);
    const chunkStart = pos;
    pos += 4;
    let cname: string | undefined;
    const items: SdesItem[] = [];
    for (;;) {
      if (body.length < pos + 1) return fail('malformed');
      const type = body.readUInt8(pos);
      if (type === 0) break;
      if (body.length < pos + 2) return fail('malformed');
      const length = body.readUInt8(pos + 1);
      if (body.length < pos + 2 + length) return fail('malformed');
      const text = body.toString('utf8', pos + 2, pos + 2 + length);
      pos += 2 + length;
      if (type !== SDES_ITEM.cname) items.push({ type, text });
      else if (cname === undefined) cname = text;
      // One source cannot have two canonical names.
      else return fail('malformed');
    }
    // Skip the END octet and the nulls after it to the chunk's next word boundary.
    pos = chunkStart + roundUp4(pos + 1 - chunkStart);
    if (pos > body.length) return fail('malformed');
    chunks.push({ ssrc, ...(cname !== undefined ? { cname } : {}), items });
  }
  if (pos !== body.length) return fail('malformed');
  return ok({ type: 'sdes', chunks });
}

/*
 * BYE (RFC 3550 section 6.6): SC sources, then optionally a length-prefixed reason
 * padded with nulls to a word boundary.
 *
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                           SSRC/CSRC                           |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        :                              ...                              :
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *  (opt) |     length    |               reason for leaving            ...
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
function decodeBye(count: number, body: Buffer): Decoded<Bye> {
  if (body.length < 4 * count) return fail('malformed');
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++) ssrcs.push(body.readUInt32BE(4 * i));
  const pos = 4 * count;
  if (body.length === pos) return ok({ type: 'bye', ssrcs });
  const length = body.readUInt8(pos);
  if (body.length < pos + 1 + length) return fail('malformed');
  return ok({ type: 'bye', ssrcs, reason: body.toString('utf8', pos + 1, pos + 1 + length) });
}

function decodeNack(body: Buffer): Decoded<GenericNack> {
  const fciBytes = body.length - NACK_PREAMBLE_BYTES;
  // RFC 4585: the FCI holds at least one PID+BLP word.
  if (fciBytes < 4 || fciBytes % 4 !== 0) return fail('malformed');
  const entries: NackEntry[] = [];
  for (let pos = NACK_PREAMBLE_BYTES; pos < body.length; pos += 4) {
    entries.push({ pid: body.readUInt16BE(pos), blp: body.readUInt16BE(pos + 2) });
  }
  return ok({
    type: 'nack',
    senderSsrc: body.readUInt32BE(0),
    mediaSsrc: body.readUInt32BE(4),
    lost: unpackNack(entries),
  });
}

function decodeOne(packetType: number, count: number, body: Buffer): Decoded<RtcpPacket> {
  switch (packetType) {
    case RTCP_PT.sr:
      return decodeSr(count, body);
    case RTCP_PT.rr:
      return decodeRr(count, body);
    case RTCP_PT.sdes:
      return decodeSdes(count, body);
    case RTCP_PT.bye:
      return decodeBye(count, body);
    case RTCP_PT.rtpfb:
      if (count === RTPFB_FMT_NACK) return decodeNack(body);
      break;
  }
  return ok({ type: 'other', packetType, count, data: body });
}

export function decodeRtcp(buf: Buffer): Decoded<RtcpPacket[]> {
  if (buf.length > RTCP_MAX_COMPOUND_BYTES) return fail('oversize');
  if (buf.length === 0) return fail('truncated');
  const packets: RtcpPacket[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length < pos + RTCP_HEADER_BYTES) return fail('truncated');
    const first = buf.readUInt8(pos);
    // Versions 0 and 1 are well-formed packets we do not speak (as in decodeRtp).
    if (first >> 6 !== RTCP_VERSION) return fail('unsupported');
    const packetType = buf.readUInt8(pos + 1);
    // Outside 192..223 this is RTP (or noise) on the RTCP path, not an RTCP packet.
    if (packetType < RTCP_PT_MIN || packetType > RTCP_PT_MAX) return fail('malformed');
    const bytes = 4 * (buf.readUInt16BE(pos + 2) + 1);
    if (buf.length < pos + bytes) return fail('truncated');
    let end = pos + bytes;
    if ((first & 0x20) !== 0) {
      // Padding is only allowed on the last packet, and the count (itself included)
      // can neither be zero nor eat into the header.
      if (end !== buf.length) return fail('malformed');
      const padding = buf.readUInt8(end - 1);
      if (padding === 0 || padding > bytes - RTCP_HEADER_BYTES) return fail('malformed');
      end -= padding;
    }
    const decoded = decodeOne(packetType, first & 0x1f, buf.subarray(pos + RTCP_HEADER_BYTES, end));
    if (!decoded.ok) return decoded;
    packets.push(decoded.value);
    pos += bytes;
  }
  return ok(packets);
}
