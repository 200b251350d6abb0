/**
 * One viewer that times startup as a player sees it: from SETUP sent to the first picture it can
 * decode on its own (MJPEG: any complete frame; H.264: a complete keyframe access unit, whose SPS
 * and PPS ride in band). RTP over UDP, the movie's first track only; no reordering (loopback).
 */
import type { Socket } from 'node:dgram';
import { h264PayloadHasKeyframe } from '../../common/media/h264/rtp-h264.ts';
import { bindRtpPortPair } from '../../common/net/rtp-port-pair.ts';
import { header } from '../../common/wire/rtsp.ts';
import { decodeRtp, type RtpPacket } from '../../common/wire/rtp.ts';
import { parseSdp } from '../../common/wire/sdp.ts';
import { RtspClient } from '../../oclient/net/rtsp-client.ts';

const REQUEST_TIMEOUT_MS = 10_000;
const PICTURE_TIMEOUT_MS = 5000;

export interface FirstPicture {
  /** SETUP sent → SETUP answered (cold: the POP joined the tree hop by hop). */
  readonly setupMs: number;
  /** SETUP sent → the last packet of the first decodable picture. */
  readonly pictureMs: number;
  /** Packets received before that picture was whole (an H.264 viewer may get a few before its keyframe). */
  readonly packetsBefore: number;
}

/** Where a picture may start: a JPEG fragment at offset 0, or an H.264 keyframe's first packet. */
function startsPicture(p: RtpPacket): boolean {
  if (p.payloadType === 26) return p.payload.length >= 4 && p.payload.readUIntBE(1, 3) === 0;
  return h264PayloadHasKeyframe(p.payload);
}

export async function firstPicture(
  url: string,
  localAddress: string,
): Promise<{ result: FirstPicture; stop: () => Promise<void> }> {
  const target = new URL(url.replace(/^rtsp:/, 'http:'));
  const { rtp, rtcp } = await bindRtpPortPair(localAddress);
  const client = await RtspClient.open(target.hostname, Number(target.port), localAddress, REQUEST_TIMEOUT_MS).catch(
    (err: unknown) => {
      rtp.close();
      rtcp.close();
      throw err;
    },
  );
  const stop = async (): Promise<void> => {
    await client.request('TEARDOWN', url, {}, 2000).catch(() => undefined);
    client.close();
    rtp.close();
    rtcp.close();
  };
  try {
    const described = await client.request('DESCRIBE', url, { Accept: 'application/sdp' }, REQUEST_TIMEOUT_MS);
    const sdp = parseSdp(described.body.toString('utf8'));
    if (described.status !== 200 || !sdp.ok) throw new Error(`DESCRIBE ${url}: ${described.status}`);
    const control = sdp.value.media[0]?.attributes.get('control') ?? 'trackID=0';
    const base = (header(described, 'content-base') ?? url).replace(/\/?$/, '/');
    const picture = watch(rtp);
    const started = performance.now();
    const port = rtp.address().port;
    const transport = `RTP/AVP;unicast;client_port=${port}-${port + 1}`;
    const setup = await client.request('SETUP', `${base}${control}`, { Transport: transport }, REQUEST_TIMEOUT_MS);
    if (setup.status !== 200) throw new Error(`SETUP ${url}: ${setup.status} ${setup.reason}`);
    const setupMs = performance.now() - started;
    client.session = (header(setup, 'session') ?? '').split(';')[0]?.trim() || null;
    const play = await client.request('PLAY', url, { Range: 'npt=now-' }, REQUEST_TIMEOUT_MS);
    if (play.status !== 200) throw new Error(`PLAY ${url}: ${play.status} ${play.reason}`);
    const seen = await picture;
    return { result: { setupMs, pictureMs: seen.at - started, packetsBefore: seen.before }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Resolves at the last packet of the first whole picture (consecutive packets from a start to a marker). */
function watch(socket: Socket): Promise<{ at: number; before: number }> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let from: number | null = null;
    let expected = 0;
    const timer = setTimeout(
      () => reject(new Error(`no whole picture within ${PICTURE_TIMEOUT_MS} ms`)),
      PICTURE_TIMEOUT_MS,
    );
    socket.on('message', (buf) => {
      const d = decodeRtp(buf);
      if (!d.ok) return;
      const p = d.value;
      received++;
      if (startsPicture(p)) {
        from = received;
        expected = p.sequenceNumber;
      } else if (from !== null && p.sequenceNumber !== expected) {
        from = null; // a packet of the picture is missing: wait for the next start
      }
      expected = (p.sequenceNumber + 1) & 0xffff;
      if (from !== null && p.marker) {
        clearTimeout(timer);
        resolve({ at: performance.now(), before: from - 1 });
      }
    });
  });
}
