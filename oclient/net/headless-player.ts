/**
 * Plays one movie from one POP without a screen: SETUP, PLAY, collect complete frames for a
 * while, TEARDOWN. Every frame is handed to onFrame as a rebuilt JPEG file.
 */
import { buildJpeg } from '../../common/media/jpeg.ts';
import { PlaySession, type SessionStats, type TransportKind } from './play-session.ts';

export { PlayRefused } from './play-session.ts';

export interface PlayOptions {
  readonly popAddress: string;
  readonly rtspPort: number;
  readonly movie: string;
  readonly durationMs: number;
  readonly localAddress?: string;
  readonly transport?: TransportKind;
  readonly jitterBufferMs?: number;
  readonly onFrame?: (jpeg: Buffer) => void;
  /** Called about once a second with the live statistics. */
  readonly onProgress?: (stats: SessionStats) => void;
}

export interface PlayResult {
  framesReceived: number;
  framesLost: number;
  packetsReceived: number;
  packetsLost: number;
  startupMs: number | null;
  jitterMs: number;
  /** Average over the session. */
  fps: number;
  bitrateKbps: number;
}

export async function playHeadless(opts: PlayOptions): Promise<PlayResult> {
  const session = new PlaySession({
    popAddress: opts.popAddress, rtspPort: opts.rtspPort, movie: opts.movie,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    ...(opts.transport ? { transport: opts.transport } : {}),
    ...(opts.jitterBufferMs !== undefined ? { jitterBufferMs: opts.jitterBufferMs } : {}),
  });
  let first: number | null = null;
  let last = 0;
  session.onFrame = (img) => {
    const now = performance.now();
    first ??= now;
    last = now;
    opts.onFrame?.(buildJpeg(img));
  };
  let closedWhy: string | null = null;
  let wake: () => void = () => {};
  session.onClose = (why) => {
    closedWhy = why;
    wake();
  };
  const progress = opts.onProgress ? setInterval(() => opts.onProgress?.(session.stats()), 1000) : null;
  try {
    await session.setup();
    await session.play();
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, opts.durationMs);
    });
    await session.teardown();
    const s = session.stats();
    const spanS = first === null ? 0 : (last - first) / 1000;
    if (closedWhy !== null && s.framesReceived === 0) throw new Error(closedWhy);
    return {
      framesReceived: s.framesReceived, framesLost: s.framesLost, packetsReceived: s.packetsReceived, packetsLost: s.packetsLost,
      startupMs: s.startupMs, jitterMs: s.jitterMs,
      fps: spanS > 0 ? Math.round(((s.framesReceived - 1) / spanS) * 10) / 10 : 0,
      bitrateKbps: spanS > 0 ? Math.round((s.bytesReceived * 8) / 1000 / spanS) : 0,
    };
  } finally {
    if (progress) clearInterval(progress);
    session.close();
  }
}
