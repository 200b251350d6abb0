/**
 * Plays one movie from one POP without a screen: RTSP SETUP (RTP over UDP) and PLAY, collects
 * complete frames for a while, TEARDOWN. Every frame is handed to onFrame as a rebuilt JPEG.
 */
import { createSocket, type Socket } from 'node:dgram';
import { buildJpeg } from '../../common/media/jpeg.ts';
import { header } from '../../common/wire/rtsp.ts';
import { FrameAssembler } from '../core/frame-assembler.ts';
import { RtspClient, RtspClientError } from './rtsp-client.ts';

export interface PlayOptions {
  readonly popAddress: string;
  readonly rtspPort: number;
  readonly movie: string;
  readonly durationMs: number;
  readonly localAddress?: string;
  readonly onFrame?: (jpeg: Buffer) => void;
  /** Stop early once this many frames arrived. */
  readonly maxFrames?: number;
}

export interface PlayResult {
  framesReceived: number;
  framesLost: number;
  packetsReceived: number;
  packetsLost: number;
  /** SETUP sent → first complete frame, ms; null if none came. */
  startupMs: number | null;
  jitterMs: number;
  fps: number;
}

/** The POP refused the movie (RTSP error status); the message says why. */
export class PlayRefused extends Error {
  override readonly name = 'PlayRefused';
  constructor(message: string, readonly status: number, readonly nakReason: string | null) {
    super(message);
  }
}

const KEEPALIVE_MS = 20_000;

export async function playHeadless(opts: PlayOptions): Promise<PlayResult> {
  const rtp = await bindUdp(opts.localAddress);
  const rtcp = await bindUdp(opts.localAddress);
  const client = await RtspClient.open(opts.popAddress, opts.rtspPort, opts.localAddress);
  const url = `rtsp://${opts.popAddress}:${opts.rtspPort}/${encodeURIComponent(opts.movie)}`;
  let firstFrameAt: number | null = null;
  let lastFrameAt = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => { done = r; });
  const assembler = new FrameAssembler((img) => {
    const now = performance.now();
    firstFrameAt ??= now;
    lastFrameAt = now;
    opts.onFrame?.(buildJpeg(img));
    if (opts.maxFrames !== undefined && assembler.stats.framesReceived >= opts.maxFrames) done();
  });
  rtp.on('message', (buf) => assembler.push(buf, performance.now()));
  let keepalive: NodeJS.Timeout | null = null;
  try {
    const setupAt = performance.now();
    const setup = await client.request('SETUP', `${url}/trackID=0`, {
      Transport: `RTP/AVP;unicast;client_port=${rtp.address().port}-${rtcp.address().port}`,
    }, 10_000);
    if (setup.status !== 200) {
      const nak = header(setup, 'x-nak-reason') ?? null;
      const detail = header(setup, 'x-nak-detail');
      throw new PlayRefused(`the POP refused ${opts.movie}: ${setup.status} ${setup.reason}${detail ? ` (${detail})` : ''}`, setup.status, nak);
    }
    client.session = (header(setup, 'session') ?? '').split(';')[0]?.trim() ?? null;
    const play = await client.request('PLAY', url, { Range: 'npt=now-' });
    if (play.status !== 200) throw new PlayRefused(`PLAY refused: ${play.status} ${play.reason}`, play.status, null);
    keepalive = setInterval(() => { client.request('GET_PARAMETER', url).catch(() => {}); }, KEEPALIVE_MS);
    const timer = setTimeout(() => done(), opts.durationMs);
    await finished;
    clearTimeout(timer);
    await client.request('TEARDOWN', url, {}, 2000).catch(() => undefined);
    const s = assembler.stats;
    const spanS = firstFrameAt === null ? 0 : (lastFrameAt - firstFrameAt) / 1000;
    return {
      framesReceived: s.framesReceived, framesLost: s.framesLost, packetsReceived: s.packetsReceived, packetsLost: s.packetsLost,
      startupMs: firstFrameAt === null ? null : Math.round((firstFrameAt - setupAt) * 10) / 10,
      jitterMs: Math.round((s.jitter / 90) * 100) / 100,
      fps: spanS > 0 ? Math.round(((s.framesReceived - 1) / spanS) * 10) / 10 : 0,
    };
  } catch (err) {
    if (err instanceof RtspClientError || err instanceof PlayRefused) throw err;
    throw new RtspClientError((err as Error).message);
  } finally {
    if (keepalive) clearInterval(keepalive);
    client.close();
    rtp.close();
    rtcp.close();
  }
}

function bindUdp(address?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
  });
}
