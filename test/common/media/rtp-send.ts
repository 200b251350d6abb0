/**
 * Test helpers that play a planned movie (planAvRtp) as RTP over UDP on loopback to a real
 * player reading our SDP (ffmpeg, GStreamer). Tests using them open sockets: run them under the
 * e2e lock.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import type { AvRtpPlan } from '../../../common/media/av-rtp-plan.ts';
import { buildAvSdp, movieSdpTracks } from '../../../common/media/av-sdp.ts';
import type { AvMovie } from '../../../common/media/container/av-movie.ts';
import { encodeRtcp } from '../../../common/wire/rtcp.ts';
import { encodeRtp } from '../../../common/wire/rtp.ts';

export const HOST = '127.0.0.1';
const SSRC = { video: 0x1111, audio: 0x2222 } as const;
const PAYLOAD_TYPE = { video: 96, audio: 97 } as const;

export type TrackPorts = { readonly video: number; readonly audio: number };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * An even port whose successor (RTCP) is free too, found by binding both: in 20000..31999, above
 * the e2e files' fixed ports and below the kernel's ephemeral range (32768..).
 */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 6000);
    const socks = [createSocket('udp4'), createSocket('udp4')];
    const bound = await Promise.all(
      socks.map(
        (s, i) =>
          new Promise<boolean>((resolve) => {
            s.once('error', () => resolve(false));
            s.bind(port + i, () => resolve(true));
          }),
      ),
    );
    await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (bound.every(Boolean)) return port;
  }
  throw new Error('no free UDP port pair');
}

/** Waits (up to ~5 s) until some process has each UDP port bound (Linux /proc). */
export async function waitUdpBound(ports: readonly number[]): Promise<void> {
  const bound = async (port: number): Promise<boolean> => {
    const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    const text = await readFile('/proc/net/udp', 'utf8').catch(() => '');
    return text.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(suffix) === true);
  };
  for (let i = 0; i < 200; i++) {
    if ((await Promise.all(ports.map(bound))).every(Boolean)) return;
    await sleep(25);
  }
}

/** Our SDP for the movie, with the loopback address and the ports a player listens on. */
export function loopbackSdp(movie: AvMovie, ports: TrackPorts): string {
  return buildAvSdp({ sessionId: '1', originAddress: HOST, sessionName: 'clip', ...movieSdpTracks(movie) })
    .replace('c=IN IP4 0.0.0.0', `c=IN IP4 ${HOST}`)
    .replace('m=video 0 ', `m=video ${ports.video} `)
    .replace('m=audio 0 ', `m=audio ${ports.audio} `);
}

/**
 * Sends one loop of the plan in order, briefly pausing so that the player drains its socket,
 * then RTCP BYE on each stream's RTCP port (RTP port + 1). A compound packet starts with a
 * report (RFC 3550 section 6.1), and ffmpeg ignores RTCP shorter than 12 bytes (a lone BYE).
 */
export async function sendPlan(plan: AvRtpPlan, ports: TrackPorts): Promise<void> {
  const sock: Socket = createSocket('udp4');
  try {
    const send = (buf: Buffer, to: number) =>
      new Promise<void>((resolve, reject) => sock.send(buf, to, HOST, (e) => (e ? reject(e) : resolve())));
    const seq = { video: 0, audio: 0 };
    for (const [n, u] of plan.units.entries()) {
      for (const [i, payload] of u.payloads.entries()) {
        const packet = encodeRtp({
          marker: i === u.payloads.length - 1,
          payloadType: PAYLOAD_TYPE[u.track],
          sequenceNumber: seq[u.track]++,
          timestamp: u.ticks,
          ssrc: SSRC[u.track],
          csrcs: [],
          payload,
        });
        await send(packet, ports[u.track]);
      }
      if (n % 8 === 7) await sleep(2);
    }
    await sleep(100);
    for (const track of ['video', 'audio'] as const) {
      const ssrc = SSRC[track];
      await send(
        encodeRtcp([
          { type: 'rr', ssrc, reports: [] },
          { type: 'bye', ssrcs: [ssrc] },
        ]),
        ports[track] + 1,
      );
    }
  } finally {
    sock.close();
  }
}
