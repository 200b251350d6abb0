/**
 * The signature check in front of an AvReceiver: each track is its own overlay stream (the
 * movie's name for video, name#audio for audio: common/wire/movie-tracks.ts), every unit of it
 * signed by its server under that stream's name (common/security/frame-signature.ts). A packet
 * reaches the receiver only once verified: its unit's first packet carries a valid signature of a
 * server the login named, or a verified packet of the same unit listed its hash. Anything else is
 * dropped and counted; a unit missing a packet is then dropped whole by the receiver (counted
 * lost), so nothing a stranger or a faulty relay sends changes what is shown or written.
 *
 * Packets wait (up to the verifier's hold) for the packet vouching for them: reordering, or a unit's
 * first packet lost and repaired by NACK. No I/O: time from the injected clock.
 */
import type { Clock } from '../../common/core/clock.ts';
import type { AvTrackKind } from '../../common/media/av-rtp-plan.ts';
import type { ServerKeyring } from '../../common/security/server-keyring.ts';
import { audioStreamOf } from '../../common/wire/movie-tracks.ts';
import { StreamVerifier } from '../../onode/core/stream-verifier.ts';

export interface AvGateCounters {
  /** Packets verified and passed on. */
  verified: number;
  /** Packets that fail under a known key (bad signature, another stream's, hash mismatch). */
  rejected: number;
  /** Packets never verified: their key unknown, or the packet vouching for them never came. */
  unverified: number;
  /** Packets not RTP, or whose signature extension does not parse. */
  malformed: number;
}

export interface AvPacketGateOptions {
  readonly movie: string;
  /** null: packets pass unchecked (the bootstrapper sent no keys). */
  readonly keys: ServerKeyring | null;
  readonly clock: Clock;
  /** A packet that may go on to the receiver. */
  readonly pass: (track: AvTrackKind, rtp: Buffer) => void;
  /** A unit named a key the keyring lacks (a server restarted since the login). */
  readonly onUnknownKey?: () => void;
}

/**
 * The gates listening to each keyring: one listener per keyring (ServerKeyring cannot forget a
 * listener), so the sessions of a long playback (a gate each) do not pile listeners up.
 */
const gatesOf = new WeakMap<ServerKeyring, Set<AvPacketGate>>();

function listen(keys: ServerKeyring, gate: AvPacketGate): void {
  let gates = gatesOf.get(keys);
  if (gates === undefined) {
    const set = new Set<AvPacketGate>();
    keys.onKey(() => {
      for (const g of set) g.keyAdded();
    });
    gatesOf.set(keys, set);
    gates = set;
  }
  gates.add(gate);
}

export class AvPacketGate {
  private readonly verifiers: Record<AvTrackKind, StreamVerifier> | null;
  private readonly streams: Record<AvTrackKind, string>;
  private stopped = false;

  constructor(private readonly o: AvPacketGateOptions) {
    this.streams = { video: o.movie, audio: audioStreamOf(o.movie) };
    const keys = o.keys;
    if (keys === null) {
      this.verifiers = null;
      return;
    }
    const verifier = (track: AvTrackKind): StreamVerifier =>
      new StreamVerifier({
        clock: o.clock,
        keyById: (id) => {
          const k = keys.byKeyId(id);
          if (k === undefined) o.onUnknownKey?.();
          return k;
        },
        release: (_from, _stream, rtp) => {
          if (!this.stopped) o.pass(track, rtp);
        },
        faulty: () => {},
      });
    this.verifiers = { video: verifier('video'), audio: verifier('audio') };
    listen(keys, this);
  }

  /** A server's key became known: units that waited for it are checked now. */
  keyAdded(): void {
    if (this.stopped) return;
    this.verifiers?.video.keyAdded();
    this.verifiers?.audio.keyAdded();
  }

  get verifying(): boolean {
    return this.verifiers !== null;
  }

  push(track: AvTrackKind, rtp: Buffer): void {
    if (this.stopped) return;
    if (this.verifiers === null) this.o.pass(track, rtp);
    else this.verifiers[track].push('pop', this.streams[track], rtp);
  }

  counters(track: AvTrackKind): AvGateCounters {
    const c = this.verifiers?.[track].counters;
    if (c === undefined) return { verified: 0, rejected: 0, unverified: 0, malformed: 0 };
    return { verified: c.verified, rejected: c.rejected, unverified: c.unknownKey + c.expired, malformed: c.malformed };
  }

  stop(): void {
    this.stopped = true;
    if (this.o.keys !== null) gatesOf.get(this.o.keys)?.delete(this);
    this.verifiers?.video.stop();
    this.verifiers?.audio.stop();
  }
}
