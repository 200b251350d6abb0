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
 * one that came whole after units lost whole is kept (h264-gap-judge.ts).
 * Bad input is counted and dropped, never thrown.
 */
import { AacDepacketizer } from '../../common/media/aac/aac-depacketizer.ts';
import { toAdts } from '../../common/media/aac/adts.ts';
import type { AvTrackKind } from '../../common/media/av-rtp-plan.ts';
import { H264Depacketizer } from '../../common/media/h264/h264-depacketizer.ts';
import { isIdr, toAnnexB, withParameterSets } from '../../common/media/h264/nal-unit.ts';
import { TypedEmitter } from '../../common/core/typed-emitter.ts';
import { fail, type Decoded } from '../../common/wire/result.ts';
import { decodeRtp, type RtpPacket } from '../../common/wire/rtp.ts';
import { type AvSdpTracks, readAvSdp } from './av-sdp-reader.ts';
import { AvTimeline, type SyncPoint } from './av-timeline.ts';
import { H264GapJudge } from './h264-gap-judge.ts';
import { RecentSequences } from './recent-sequences.ts';
import { DEFAULT_HOLD_MS, MAX_HELD_PACKETS, ReorderBuffer } from './reorder-buffer.ts';

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

interface TrackState {
  ssrc: number | undefined;
  reorder: ReorderBuffer<RtpPacket>;
  /** Sequence numbers handed on lately: a packet among them again is a duplicate. */
  readonly recent: RecentSequences;
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
  /** The audio jitter buffer's skipped count when the last audio packet was depacketized. */
  private audioSkipped = 0;
  /** Packets went missing since the last audio frame came out. */
  private audioGap = false;
  private readonly state: Record<AvTrackKind, TrackState>;
  private readonly frameDuration: number;
  private seenKeyframe = false;
  /** The next AAC frame's timestamp, to count frames that never came. */
  private nextAudioPts: number | undefined;
  private gapJudge = new H264GapJudge(this.video.counters);

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
    if (s.recent.has(packet.sequenceNumber)) {
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
      recent: new RecentSequences(),
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
      this.gapJudge = new H264GapJudge(this.video.counters);
      // The new source's pictures may refer to ones the decoder never got from it: start at a keyframe again.
      this.seenKeyframe = false;
    } else {
      this.audio = new AacDepacketizer(this.frameDuration);
      this.nextAudioPts = undefined;
      this.audioSkipped = 0;
      this.audioGap = false;
    }
    this.timeline.restart(track);
  }

  private deliver(track: AvTrackKind, seq: number, packet: RtpPacket): void {
    this.state[track].recent.add(seq);
    if (track === 'video') {
      this.gapJudge.note(packet);
      for (const au of this.video.push(packet)) this.videoUnit(au.timestamp, au.nals, au.complete, au.marked);
    } else {
      const lostBefore = this.audio.counters.lost;
      const frames = this.audio.push(packet);
      // A gap in timestamps is loss only when packets are missing: a looping channel's audio
      // may pause where the video runs longer (a gap in the source, not in the network).
      const skipped = this.state.audio.reorder.counters.skipped;
      // Kept until the next frame comes out (the packet after a gap may hold only a fragment).
      this.audioGap ||= this.audio.counters.lost > lostBefore || skipped > this.audioSkipped;
      this.audioSkipped = skipped;
      for (const f of frames) this.audioUnit(f.timestamp, f.data, this.audioGap);
      if (frames.length > 0) this.audioGap = false;
    }
  }

  private videoUnit(timestamp: number, nals: readonly Buffer[], complete: boolean, marked: boolean): void {
    const c = this.counters.video;
    if (!complete) {
      // Lost: this access unit, or (when it came whole) at least one before it.
      c.lost++;
      if (!this.gapJudge.wholeAfterGap(timestamp, nals, marked)) return;
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

  private audioUnit(timestamp: number, data: Buffer, afterMissing: boolean): void {
    const c = this.counters.audio;
    const { ticks, timeMs } = this.timeline.place('audio', timestamp, this.state.audio.lastNow);
    if (afterMissing && this.nextAudioPts !== undefined && ticks > this.nextAudioPts) {
      c.lost += Math.round((ticks - this.nextAudioPts) / this.frameDuration);
    }
    this.nextAudioPts = ticks + this.frameDuration;
    c.units++;
    c.bytes += data.length;
    this.events.emit('unit', { track: 'audio', pts: ticks, timeMs, data });
  }
}
