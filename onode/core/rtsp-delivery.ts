/**
 * Where a POP sends a session's RTP and RTCP, chosen from the client's Transport alternatives
 * (RFC 2326 §12.39). Only pairs a socket can send to are accepted: UDP ports 1-65535 with RTP
 * on an even port and RTCP on the next (RFC 3550 §11), interleaved channels 0-255 likewise;
 * anything else is 461 Unsupported Transport, before a session exists.
 */
import type { TransportSpec } from '../../common/wire/rtsp-headers.ts';

export type Delivery =
  | { readonly kind: 'udp'; readonly address: string; readonly rtpPort: number; readonly rtcpPort: number }
  | { readonly kind: 'tcp'; readonly rtpChannel: number; readonly rtcpChannel: number };

/** One RTSP control connection, as the adapter presents it. */
export interface RtspPeer {
  readonly id: number;
  readonly remoteAddress: string;
  /** The connection's port at the client (names the viewer in GET /viewers). */
  readonly remotePort?: number;
  readonly localAddress: string;
}

/** What the adapter needs to send for a session. */
export interface SendTarget {
  readonly peer: RtspPeer;
  readonly delivery: Delivery;
}

/** Told the outcome of a send that completes later (dgram's callback). */
export type SendCallback = (err: Error | null) => void;

const MAX_PORT = 65535;
const MAX_CHANNEL = 255;

/** RTP on an even number from `min`, RTCP on the next, both within `max`. */
export function isRtpPair(pair: readonly [number, number], min: number, max: number): boolean {
  const [rtp, rtcp] = pair;
  return Number.isInteger(rtp) && rtp >= min && rtp % 2 === 0 && rtcp === rtp + 1 && rtcp <= max;
}

/**
 * The first acceptable alternative, or undefined (461). UDP goes only to the address the request
 * came from: a destination parameter would let anyone aim a stream at a third party.
 * `channelsInUse` are the interleaved channels the connection's other sessions hold.
 */
export function chooseDelivery(
  specs: readonly TransportSpec[],
  clientAddress: string,
  channelsInUse: ReadonlySet<number>,
): Delivery | undefined {
  for (const spec of specs) {
    if (!spec.unicast) continue;
    if (spec.profile === 'RTP/AVP') {
      const ports = spec.clientPort;
      if (ports !== undefined && isRtpPair(ports, 1, MAX_PORT)) {
        return { kind: 'udp', address: clientAddress, rtpPort: ports[0], rtcpPort: ports[1] };
      }
      continue;
    }
    const channels = spec.interleaved ?? freeChannels(channelsInUse);
    if (channels === undefined || !isRtpPair(channels, 0, MAX_CHANNEL)) continue;
    if (channelsInUse.has(channels[0]) || channelsInUse.has(channels[1])) continue;
    return { kind: 'tcp', rtpChannel: channels[0], rtcpChannel: channels[1] };
  }
  return undefined;
}

/** The lowest even/odd channel pair not in use, for a client that named none. */
function freeChannels(inUse: ReadonlySet<number>): readonly [number, number] | undefined {
  for (let c = 0; c < MAX_CHANNEL; c += 2) if (!inUse.has(c) && !inUse.has(c + 1)) return [c, c + 1];
  return undefined;
}
