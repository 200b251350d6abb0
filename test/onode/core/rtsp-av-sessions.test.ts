/**
 * A POP's RTSP sessions for an H.264 + AAC movie: one SDP with both tracks, a SETUP per track in
 * one session (each joined as its own overlay stream), PLAY and TEARDOWN for both, the video
 * held back until a keyframe, and a track whose join fails taking the session down whole.
 */
import { describe, expect, it } from 'vitest';
import type { MovieInfo } from '../../../common/wire/overlay.ts';
import { encodeRtp } from '../../../common/wire/rtp.ts';
import type { LocalReceiver } from '../../../onode/core/stream-tree.ts';
import { rtspHarness } from './rtsp-harness.ts';

const CLIP: MovieInfo = {
  name: 'clip.mp4',
  fps: 25,
  width: 320,
  height: 240,
  frames: 50,
  av: {
    sps: ['Z2QADazZQUH7ARAAAAMAEAAAAwMg8UKZYA=='],
    pps: ['aO+Pyw=='],
    audio: { rate: 48000, channels: 1, config: '1188' },
  },
};
const URL = 'rtsp://127.0.6.2:8554/clip.mp4';

/** An H.264 packet: an SPS (where a viewer may start) or a non-IDR slice. */
function video(seq: number, key: boolean): Buffer {
  const nal = key ? Buffer.from([0x67, 0x64, 0x00, 0x0d]) : Buffer.from([0x41, 0x9a, 0x00]);
  return encodeRtp({
    marker: true,
    payloadType: 96,
    sequenceNumber: seq,
    timestamp: seq * 3600,
    ssrc: 1,
    csrcs: [],
    payload: nal,
  });
}
function audio(seq: number): Buffer {
  const payload = Buffer.from([0x00, 0x10, 0x00, 0x08, 0xaa]);
  return encodeRtp({
    marker: true,
    payloadType: 97,
    sequenceNumber: seq,
    timestamp: seq * 1024,
    ssrc: 2,
    csrcs: [],
    payload,
  });
}

function harness(fail?: string) {
  const joins: { movie: string; receiver: LocalReceiver }[] = [];
  const h = rtspHarness({
    catalogue: [CLIP],
    onJoin: (receiver, movie) => {
      joins.push({ movie, receiver });
      if (movie === fail) receiver.failed('no-route', `no route to ${movie}`);
      else receiver.joined();
    },
  });
  const setupBoth = (): string => {
    const [v] = h.ask('SETUP', `${URL}/trackID=0`, { transport: 'RTP/AVP;unicast;client_port=5000-5001' });
    expect(v?.status).toBe(200);
    const id = String(v?.headers.Session).split(';')[0] ?? '';
    const [a] = h.ask('SETUP', `${URL}/trackID=1`, { transport: 'RTP/AVP;unicast;client_port=5002-5003', session: id });
    expect(a?.status).toBe(200);
    expect(String(a?.headers.Session).split(';')[0]).toBe(id);
    return id;
  };
  return { h, joins, setupBoth };
}

describe('RTSP sessions of an H.264 + AAC movie', () => {
  it('describe both tracks in one SDP', () => {
    const { h } = harness();
    const [r] = h.ask('DESCRIBE', URL);
    const sdp = r?.body?.toString() ?? '';
    expect(sdp).toMatch(/m=video 0 RTP\/AVP 96\r\na=rtpmap:96 H264\/90000\r\n/);
    expect(sdp).toContain('sprop-parameter-sets=Z2QADazZQUH7ARAAAAMAEAAAAwMg8UKZYA==,aO+Pyw==');
    expect(sdp).toMatch(/m=audio 0 RTP\/AVP 97\r\na=rtpmap:97 mpeg4-generic\/48000\/1\r\n/);
    expect(sdp).toContain('config=1188');
    expect(sdp).toMatch(/a=control:trackID=0[\s\S]*a=control:trackID=1/);
  });

  it('set up each track as its own stream in one session, and send each on its own ports', () => {
    const { h, joins, setupBoth } = harness();
    const id = setupBoth();
    expect(joins.map((j) => j.movie)).toEqual(['clip.mp4', 'clip.mp4#audio']);
    expect(h.play(id)).toBe(200);
    joins[0]?.receiver.deliver(video(1, true));
    joins[1]?.receiver.deliver(audio(7));
    const ports = h.sent.map((s) => (s.target.delivery.kind === 'udp' ? s.target.delivery.rtpPort : 0));
    expect(ports).toEqual([5000, 5002]);
    expect(h.sessions.list()).toMatchObject([{ movie: 'clip.mp4', packets: 2 }]);
    // Reports for both tracks (each with the first packet: players sync tracks by them).
    expect(h.rtcpSent.map((s) => (s.target.delivery.kind === 'udp' ? s.target.delivery.rtcpPort : 0))).toEqual([
      5001, 5003,
    ]);
    expect(h.ask('TEARDOWN', URL, { session: id })[0]?.status).toBe(200);
    expect(h.left).toHaveLength(2);
  });

  it('refuse a track twice, a third track, another movie in the session and a track the movie lacks', () => {
    const { h, setupBoth } = harness();
    const id = setupBoth();
    const again = (uri: string) =>
      h.ask('SETUP', uri, { transport: 'RTP/AVP;unicast;client_port=5004-5005', session: id })[0]?.status;
    expect(again(`${URL}/trackID=1`)).toBe(459);
    expect(again(`${URL}/trackID=0`)).toBe(459);
    expect(again('rtsp://127.0.6.2:8554/other.mp4/trackID=0')).toBe(404);
    const fresh = h.ask('SETUP', `${URL}/trackID=2`, { transport: 'RTP/AVP;unicast;client_port=5006-5007' });
    expect(fresh[0]?.status).toBe(404);
  });

  it('hold the video back until a keyframe, then send everything', () => {
    const { h, joins, setupBoth } = harness();
    const id = setupBoth();
    h.play(id);
    const v = joins[0]?.receiver;
    v?.deliver(video(1, false));
    v?.deliver(video(2, false));
    v?.deliver(video(3, true));
    v?.deliver(video(4, false));
    expect(h.sent.map((s) => s.rtp.readUInt16BE(2))).toEqual([3, 4]);
  });

  it('close the whole session when the second track cannot be joined', () => {
    const { h, joins } = harness('clip.mp4#audio');
    const [v] = h.ask('SETUP', `${URL}/trackID=0`, { transport: 'RTP/AVP;unicast;client_port=5000-5001' });
    const id = String(v?.headers.Session).split(';')[0] ?? '';
    const [a] = h.ask('SETUP', `${URL}/trackID=1`, { transport: 'RTP/AVP;unicast;client_port=5002-5003', session: id });
    expect(a?.status).toBe(503);
    expect(a?.headers['X-Nak-Reason']).toBe('no-route');
    expect(joins).toHaveLength(2);
    expect(h.left.length).toBeGreaterThanOrEqual(1); // the video stream is left, not kept for nobody
    expect(h.sessions.list()).toEqual([]);
    expect(h.ask('PLAY', URL, { session: id })[0]?.status).toBe(454);
  });
});
