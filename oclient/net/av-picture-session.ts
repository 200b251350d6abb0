/**
 * The terminal player's session for an H.264 (+ AAC) movie: an AvSession whose verified video
 * units go, placed by one AvContinuity over every session of the movie (failovers), into one
 * H264Decoder (ffmpeg), whose pictures the player draws. It offers what the player uses of a
 * PlaySession (setup, play, pause, teardown, close, stats as SessionStats), so the player's
 * failover and controls work unchanged. Sound is not played here (the player says so).
 */
import { TypedEmitter } from '../../common/core/typed-emitter.ts';
import type { RgbaImage } from '../../common/media/rgba-image.ts';
import { AvContinuity } from '../core/av-continuity.ts';
import { AvSession, type AvSessionOptions } from './av-session.ts';
import { H264Decoder } from './h264-decoder.ts';
import type { SessionStats } from './play-session.ts';

/** What outlives one session of the movie: the placement of units, and the decoder's state. */
export class AvPictureFeed {
  readonly events = new TypedEmitter<{ picture: [image: RgbaImage]; error: [why: string] }>();
  readonly continuity = new AvContinuity({ video: 90_000, audio: 48_000 });
  private decoder: H264Decoder | null = null;

  constructor(
    private readonly width: number,
    private readonly height: number,
  ) {}

  /** One video unit to show (Annex B); starts ffmpeg on the first. */
  decode(annexB: Buffer): void {
    if (this.decoder === null) {
      const d = new H264Decoder(this.width, this.height);
      d.events.on('picture', (p) => this.events.emit('picture', p));
      d.events.on('error', (why) => this.events.emit('error', why));
      this.decoder = d;
    }
    this.decoder.push(annexB);
  }

  stop(): void {
    this.decoder?.stop();
    this.decoder = null;
  }
}

export interface AvPictureSessionEvents {
  /** A unit of the POP playing (it is alive), whether or not it is new. */
  unit: [];
  close: [why: string];
}

export class AvPictureSession {
  readonly events = new TypedEmitter<AvPictureSessionEvents>();
  private readonly session: AvSession;
  private shown = 0;
  private readonly recent: number[] = [];

  constructor(opts: AvSessionOptions, feed: AvPictureFeed) {
    this.session = new AvSession(opts);
    feed.continuity.beginSession();
    this.session.events.on('close', (why) => this.events.emit('close', why));
    this.session.events.on('unit', (unit, ssrc) => {
      this.events.emit('unit');
      if (unit.track !== 'video') return; // sound: not played in the terminal
      const placed = feed.continuity.admit(unit, ssrc);
      if (placed === null || placed.track !== 'video') return;
      this.shown++;
      const now = performance.now();
      this.recent.push(now);
      while ((this.recent[0] ?? now) < now - 1000) this.recent.shift();
      feed.decode(placed.annexB);
    });
  }

  get rtspUrl(): string {
    return this.session.rtspUrl;
  }

  /** Whether playback reports are going to the POP. */
  get reporting(): boolean {
    return this.session.reporting;
  }

  setup(): Promise<void> {
    return this.session.setup();
  }

  play(): Promise<void> {
    return this.session.play();
  }

  pause(): Promise<void> {
    return this.session.pause();
  }

  teardown(): Promise<void> {
    return this.session.teardown();
  }

  close(): void {
    this.session.close();
  }

  /** The session's figures as the player's panel shows them (video units as frames). */
  stats(): SessionStats {
    const s = this.session.stats();
    const v = s.tracks.video;
    const a = s.tracks.audio;
    const now = performance.now();
    while ((this.recent[0] ?? now) < now - 1000) this.recent.shift();
    return {
      framesReceived: this.shown,
      framesLost: v?.lost ?? 0,
      framesRejected: (v?.rejected ?? 0) + (a?.rejected ?? 0),
      verifying: s.verifying,
      packetsReceived: (v?.packets ?? 0) + (a?.packets ?? 0),
      packetsLost: 0,
      bytesReceived: s.bytesReceived,
      startupMs: s.startupMs,
      jitterMs: 0,
      fps: this.recent.length,
      bitrateKbps: 0,
      state: s.state,
    };
  }
}
