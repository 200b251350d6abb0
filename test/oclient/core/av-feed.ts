/**
 * Test helpers: a planned movie (planAvRtp) as the RTP datagrams a POP sends for an H.264 + AAC
 * session, each track its own stream (own SSRC, sequence numbers from its own start, timestamps
 * from its own base, with a header extension as the overlay adds), and the SDP describing it.
 */
import type { AvRtpPlan, AvTrackKind } from '../../../common/media/av-rtp-plan.ts';
import { buildAvSdp, movieSdpTracks } from '../../../common/media/av-sdp.ts';
import type { AvMovie } from '../../../common/media/container/av-movie.ts';
import { encodeRtp } from '../../../common/wire/rtp.ts';

export interface FedPacket {
  readonly track: AvTrackKind;
  /** Send time, ms (the unit's dueMs). */
  readonly atMs: number;
  readonly seq: number;
  /** Index of the plan unit it belongs to. */
  readonly unit: number;
  readonly datagram: Buffer;
}

/** Per track: SSRC, first sequence number, timestamp base. Video wraps its sequence and timestamp early. */
export const STREAMS = {
  video: { ssrc: 0x1111_aaaa, seq: 65_500, base: 0xffff_0000 },
  audio: { ssrc: 0x2222_bbbb, seq: 1_000, base: 123_456 },
} as const;

/** The RTP timestamps of the plan's origin in each stream: the session's sync point (RTP-Info). */
export const SYNC = { video: STREAMS.video.base, audio: STREAMS.audio.base };

export function avSdp(movie: AvMovie): string {
  return buildAvSdp({ sessionId: '1', originAddress: '127.0.0.1', sessionName: 'clip', ...movieSdpTracks(movie) });
}

/** The plan's packets, `loops` times over as a channel repeats it (`unit` counts on across loops). */
export function planPackets(plan: AvRtpPlan, loops = 1): FedPacket[] {
  const seq = { video: STREAMS.video.seq, audio: STREAMS.audio.seq };
  const out: FedPacket[] = [];
  const units = Array.from({ length: loops }, (_, loop) =>
    plan.units.map((u) => ({
      ...u,
      dueMs: u.dueMs + loop * plan.loopMs,
      ticks: u.ticks + loop * plan.loopTicks[u.track],
    })),
  ).flat();
  for (const [n, u] of units.entries()) {
    const s = STREAMS[u.track];
    for (const [i, payload] of u.payloads.entries()) {
      const sequenceNumber = seq[u.track] & 0xffff;
      seq[u.track]++;
      const datagram = encodeRtp({
        marker: i === u.payloads.length - 1,
        payloadType: u.track === 'video' ? 96 : 97,
        sequenceNumber,
        timestamp: (s.base + u.ticks) >>> 0,
        ssrc: s.ssrc,
        csrcs: [],
        extension: { profile: 0xbede, data: Buffer.from([0x10, 0x2a, 0, 0]) },
        payload,
      });
      out.push({ track: u.track, atMs: u.dueMs, seq: sequenceNumber, unit: n, datagram });
    }
  }
  return out;
}
