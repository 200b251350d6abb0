/**
 * The client's receive path for an H.264 + AAC session, without I/O: RTP packets of each track
 * in, complete units out, on one timeline (av-timeline.ts).
 *
 *   offer(track, datagram, nowMs) → reorder (ReorderBuffer, per track) → depacketize
 *   (RFC 6184 / RFC 3640) → place on the timeline → 'unit' event
 *
 * Each track is its own RTP stream (own SSRC, sequence numbers and clock), as the SDP's two
 * media sections say. Video starts at a keyframe: access units before the first IDR are dropped
 * and counted, so the first picture a viewer or a file gets decodes cleanly. An access unit
 * missing a packet is dropped and counted lost (a decoder given half a picture shows garbage);
 * one that came whole after units lost whole is kept (see wholeAfterGap).
 * Bad input is counted and dropped, never thrown.
 */
import { AacDepacketizer } from '../../common/media/aac/aac-depacketizer.ts';
import { toAdts } from '../../common/media/aac/adts.ts';
import type { AvTrackKind } from '../../common/media/av-rtp-plan.ts';
import { H264Depacketizer } from '../../common/media/h264/h264-depacketizer.ts';
import {
  isIdr,
  NAL_IDR_SLICE,
  NAL_NON_IDR_SLICE,
  nalType,
  toAnnexB,
  withParameterSets,
} from '../../common/media/h264/nal-unit.ts';
import { TypedEmitter } from '../../common/core/typed-emitter.ts';
import { fail, type Decoded } from '../../common/wire/result.ts';
import { decodeRtp, type RtpPacket, seqDiff } from '../../common/wire/rtp.ts';
import { type AvSdpTracks, readAvSdp } from './av-sdp-reader.ts';
import { AvTimeline, type SyncPoint } from './av-timeline.ts';
import { DEFAULT_HOLD_MS, MAX_HELD_PACKETS, ReorderBuffer } from './reorder-buffer.ts';

/** Sequence numbers remembered per track to tell a duplicate from a late packet. */
export const RECENT_SEQUENCES = 1024;

export interface AvVideoUnit {
  readonly track: 'video';
  /** RTP timestamp counted on through wraps (90 kHz ticks): the presentation time. */
  readonly pts: number;
  /** Presentation time on the session's timeline, ms in the caller's clock. */
  readonly timeMs: number;
  /** Holds an IDR slice (then SPS and PPS come first). */
  readonly keyframe: boolean;
  readonly nals: readonly Buffer[];
  /** The NAL units with start codes (what `ffmpeg -f h264` reads). */
  readonly annexB: Buffer;
}

export interface AvAudioUnit {
  readonly track: 'audio';
  /** RTP timestamp counted on through wraps, in the audio clock (the sampling rate). */
  readonly pts: number;
  readonly timeMs: number;
  /** One raw AAC frame (no ADTS header; AvReceiver.adts adds one). */
  readonly data: Buffer;
}

export type AvUnit = AvVideoUnit | AvAudioUnit;

export interface AvTrackCounters {
  /** Packets offered for this track. */
  packets: number;
  /** Units handed on, and their bytes. */
  units: number;
  bytes: number;
  /** Units lost or incomplete (video: access units with a packet missing; audio: frames missing). */
  lost: number;
  duplicates: number;
  /** Older than what was already handed on (arrived after its gap was given up). */
  late: number;
  /** Not RTP, a payload the depacketizer refused, or another payload type than the SDP's. */
  malformed: number;
  /** Video access units before the first keyframe (dropped). */
  beforeKeyframe: number;
  /** The stream's SSRC changed (a new source); the track started over. */
  sourceChanges: number;
}

export interface AvReceiverEvents {
  unit: [unit: AvUnit];
  /** Sequence numbers that went missing on a track: to ask for them again (RTCP NACK). */
  missing: [track: AvTrackKind, ssrc: number, seqs: number[]];
}

export interface AvReceiverOptions {
  /** Jitter buffer: how long a gap holds later packets; default DEFAULT_HOLD_MS. */
  readonly holdMs?: number;
  /** RTP timestamps of both tracks at one instant (RTSP RTP-Info), when known. */
  readonly sync?: SyncPoint;
}

/** The SDP has no H.264 or AAC track we can read. */
export class AvSdpError extends Error {
  override readonly name = 'AvSdpError';
}

const newCounters = (): AvTrackCounters => ({
  packets: 0,
  units: 0,
  bytes: 0,
  lost: 0,
  duplicates: 0,
  late: 0,
  malformed: 0,
  beforeKeyframe: 0,
  sourceChanges: 0,
});

/** How the access unit being received began: whether packets went missing just before it. */
interface VideoUnitStart {
  readonly timestamp: number;
  /** Packets were missing between the previous access unit and this one's first packet. */
  readonly gapBefore: boolean;
  /** A packet of it went missing after its first one. */
  broken: boolean;
  /** The depacketizer's refusals (malformed, broken fragments, oversize) when it began. */
  readonly refusals: number;
}

interface TrackState {
  ssrc: number | undefined;
  reorder: ReorderBuffer<RtpPacket>;
  /** The last RECENT_SEQUENCES sequence numbers handed to the depacketizer, and how often each is there. */
  readonly recent: Uint16Array;
  readonly seen: Uint8Array;
  recentCount: number;
  lastNow: number;
}

export class AvReceiver {
  readonly events = new TypedEmitter<AvReceiverEvents>();
  readonly tracks: AvSdpTracks;
  readonly counters: { readonly video: AvTrackCounters; readonly audio: AvTrackCounters } = {
    video: newCounters(),
    audio: newCounters(),
  };
  readonly timeline: AvTimeline;
  private video = new H264Depacketizer();
  private audio: AacDepacketizer;
  private readonly state: Record<AvTrackKind, TrackState>;
  private readonly frameDuration: number;
  private seenKeyframe = false;
  /** The next AAC frame's timestamp, to count frames that never came. */
  private nextAudioPts: number | undefined;
  /** The last video packet handed to the depacketizer, and what is known of the access unit it is in. */
  private lastVideo: { seq: number; marker: boolean; timestamp: number } | undefined;
  private videoStart: VideoUnitStart | undefined;

  /** @throws AvSdpError when the description has neither an H.264 nor an AAC track. */
  constructor(
    sdp: string | AvSdpTracks,
    private readonly options: AvReceiverOptions = {},
  ) {
    const tracks = typeof sdp === 'string' ? readAvSdp(sdp) : { ok: true as const, value: sdp };
    if (!tracks.ok) throw new AvSdpError(`no H.264 or AAC track in the SDP (${tracks.reason})`);
    this.tracks = tracks.value;
    const a = this.tracks.audio;
    // Frames are 1024 samples at the core rate; an HE-AAC clock at the output rate counts twice as many.
    this.frameDuration = a === undefined ? 1024 : Math.round((1024 * a.clockRate) / a.asc.sampleRate);
    this.audio = new AacDepacketizer(this.frameDuration);
    this.timeline = new AvTimeline(
      { video: this.tracks.video?.clockRate ?? 90_000, audio: a?.clockRate ?? 48_000 },
      options.sync,
    );
    this.state = { video: this.newState('video'), audio: this.newState('audio') };
  }

  /** One RTP datagram (or decoded packet) of a track, as it arrived. */
  offer(track: AvTrackKind, rtp: Buffer | RtpPacket, nowMs: number): void {
    const c = this.counters[track];
    c.packets++;
    const desc = this.tracks[track];
    const decoded = Buffer.isBuffer(rtp) ? decodeRtp(rtp) : { ok: true as const, value: rtp };
    if (desc === undefined || !decoded.ok || decoded.value.payloadType !== desc.payloadType) {
      c.malformed++;
      return;
    }
    const packet = decoded.value;
    const s = this.state[track];
    s.lastNow = nowMs;
    if (s.ssrc !== undefined && s.ssrc !== packet.ssrc) this.restart(track);
    s.ssrc = packet.ssrc;
    if (s.seen[packet.sequenceNumber] !== 0) {
      c.duplicates++;
      return;
    }
    const r = s.reorder.counters;
    const late = r.late;
    const duplicates = r.duplicates;
    s.reorder.push(packet.sequenceNumber, packet, nowMs);
    // The jitter buffer's own finds: a duplicate of a held packet, or one behind a gap given up on.
    c.late += r.late - late;
    c.duplicates += r.duplicates - duplicates;
  }

  /** Gives up on gaps older than the hold time; call it periodically. */
  tick(nowMs: number): void {
    for (const track of ['video', 'audio'] as const) {
      this.state[track].lastNow = nowMs;
      this.state[track].reorder.tick(nowMs);
    }
  }

  /** End of stream: hands on everything held back, skipping the gaps. */
  flush(): void {
    for (const track of ['video', 'audio'] as const) {
      const s = this.state[track];
      const end = s.lastNow + (this.options.holdMs ?? DEFAULT_HOLD_MS);
      for (let i = 0; i <= MAX_HELD_PACKETS && s.reorder.heldPackets > 0; i++) s.reorder.tick(end);
      s.lastNow = end;
    }
    const au = this.video.flush();
    if (au !== undefined) this.videoUnit(au.timestamp, au.nals, au.complete, au.marked);
  }

  /** An RTCP sender report of a track (NTP time in ms): lets the timeline sync the tracks exactly. */
  senderReport(track: AvTrackKind, ntpMs: number, rtpTimestamp: number): void {
    this.timeline.senderReport(track, ntpMs, rtpTimestamp);
  }

  /** The frame with an ADTS header (for a raw AAC stream); 'unsupported' without an audio track. */
  adts(unit: AvAudioUnit): Decoded<Buffer> {
    const a = this.tracks.audio;
    return a === undefined ? fail('unsupported') : toAdts(unit.data, a.asc);
  }

  private newState(track: AvTrackKind): TrackState {
    const s: TrackState = {
      ssrc: undefined,
      reorder: new ReorderBuffer<RtpPacket>((seq, p) => this.deliver(track, seq, p), this.options.holdMs),
      recent: new Uint16Array(RECENT_SEQUENCES),
      seen: new Uint8Array(0x10000),
      recentCount: 0,
      lastNow: 0,
    };
    s.reorder.events.on('missing', (seqs) => {
      if (s.ssrc !== undefined) this.events.emit('missing', track, s.ssrc, seqs);
    });
    return s;
  }

  /** Another SSRC: the old stream's sequence numbers, pending units and timeline anchor mean nothing for it. */
  private restart(track: AvTrackKind): void {
    this.counters[track].sourceChanges++;
    const old = this.state[track];
    this.state[track] = this.newState(track);
    this.state[track].lastNow = old.lastNow;
    if (track === 'video') {
      this.video = new H264Depacketizer();
      this.lastVideo = undefined;
      this.videoStart = undefined;
      // The new source's pictures may refer to ones the decoder never got from it: start at a keyframe again.
      this.seenKeyframe = false;
    } else {
      this.audio = new AacDepacketizer(this.frameDuration);
      this.nextAudioPts = undefined;
    }
    this.timeline.restart(track);
  }

  private deliver(track: AvTrackKind, seq: number, packet: RtpPacket): void {
    const s = this.state[track];
    const slot = s.recentCount % RECENT_SEQUENCES;
    if (s.recentCount >= RECENT_SEQUENCES) {
      const old = s.recent[slot] ?? 0;
      s.seen[old] = Math.max(0, (s.seen[old] ?? 0) - 1);
    }
    s.recent[slot] = seq;
    s.seen[seq] = (s.seen[seq] ?? 0) + 1;
    s.recentCount++;
    if (track === 'video') {
      this.noteVideoPacket(packet);
      for (const au of this.video.push(packet)) this.videoUnit(au.timestamp, au.nals, au.complete, au.marked);
    } else {
      for (const f of this.audio.push(packet)) this.audioUnit(f.timestamp, f.data);
    }
  }

  private refusals(): number {
    const d = this.video.counters;
    return d.malformed + d.brokenFragments + d.oversize;
  }

  private noteVideoPacket(packet: RtpPacket): void {
    const prev = this.lastVideo;
    const step = prev === undefined ? 1 : seqDiff(packet.sequenceNumber, prev.seq);
    if (prev === undefined || prev.marker || prev.timestamp !== packet.timestamp) {
      this.videoStart = { timestamp: packet.timestamp, gapBefore: step > 1, broken: false, refusals: this.refusals() };
    } else if (step > 1 && this.videoStart !== undefined) {
      this.videoStart.broken = true;
    }
    this.lastVideo = { seq: packet.sequenceNumber, marker: packet.marker, timestamp: packet.timestamp };
  }

  /**
   * The depacketizer calls an access unit after a sequence gap incomplete, since the missing
   * packets may have been its first. They were not when nothing of it went missing since its first
   * packet, it ended at its marker, and its first slice starts the picture (first_mb_in_slice 0):
   * what was lost was whole access units before it (or parameter sets and SEI, which the SDP gives).
   */
  private wholeAfterGap(timestamp: number, nals: readonly Buffer[], marked: boolean): boolean {
    const start = this.videoStart;
    if (!marked || start === undefined || start.timestamp !== timestamp || !start.gapBefore || start.broken)
      return false;
    if (this.refusals() !== start.refusals) return false;
    const slice = nals.find((n) => nalType(n) === NAL_NON_IDR_SLICE || nalType(n) === NAL_IDR_SLICE);
    // first_mb_in_slice is the first ue(v) after the NAL header; 0 is the single bit 1.
    return slice !== undefined && ((slice[1] ?? 0) & 0x80) !== 0;
  }

  private videoUnit(timestamp: number, nals: readonly Buffer[], complete: boolean, marked: boolean): void {
    const c = this.counters.video;
    if (!complete) {
      // Lost: this access unit, or (when it came whole) at least one before it.
      c.lost++;
      if (!this.wholeAfterGap(timestamp, nals, marked)) return;
    }
    const keyframe = nals.some(isIdr);
    if (!this.seenKeyframe && !keyframe) {
      c.beforeKeyframe++;
      return;
    }
    this.seenKeyframe = true;
    const v = this.tracks.video;
    const all = v === undefined ? nals : withParameterSets(nals, v.sps, v.pps);
    const { ticks, timeMs } = this.timeline.place('video', timestamp, this.state.video.lastNow);
    const annexB = toAnnexB(all);
    c.units++;
    c.bytes += annexB.length;
    this.events.emit('unit', { track: 'video', pts: ticks, timeMs, keyframe, nals: all, annexB });
  }

  private audioUnit(timestamp: number, data: Buffer): void {
    const c = this.counters.audio;
    const { ticks, timeMs } = this.timeline.place('audio', timestamp, this.state.audio.lastNow);
    if (this.nextAudioPts !== undefined && ticks > this.nextAudioPts) {
      c.lost += Math.round((ticks - this.nextAudioPts) / this.frameDuration);
    }
    this.nextAudioPts = ticks + this.frameDuration;
    c.units++;
    c.bytes += data.length;
    this.events.emit('unit', { track: 'audio', pts: ticks, timeMs, data });
  }
}
