/**
 * The same pictures as MJPEG and as H.264, on the wire: the sample movie gradient.mjpeg (100
 * frames, 320x240, JPEG quality 75) is encoded by ffmpeg into H.264 (libx264 veryfast, a keyframe
 * a second, B-frames), both are loaded as a server loads them and played for one loop by a signing
 * channel in virtual time; every RTP packet as it leaves the server (frame signatures included)
 * is counted.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { VirtualClock } from '../../common/core/clock.ts';
import { FrameSigner } from '../../common/security/frame-signature.ts';
import type { ChannelMovie } from '../../onode/core/channel-timeline.ts';
import { MovieChannel } from '../../onode/core/movie-channel.ts';
import { loadAvStreams } from '../../onode/media/av-library.ts';
import { loadMovieLibrary, SERVER_RTP_PACKET_BYTES } from '../../onode/media/movie-library.ts';
import { DEFAULT_MAX_PAYLOAD } from '../../common/wire/rtp-jpeg.ts';
import { MOVIE_ID_BYTES, NONCE_BYTES, OVERLAY_HEADER_BYTES, TAG_BYTES } from '../../common/wire/overlay.ts';

/** IPv4 + UDP headers and the overlay's DATA framing (header, a 2-byte sender name, nonce, movie id, MAC tag). */
const DATAGRAM_OVERHEAD_BYTES = 28 + OVERLAY_HEADER_BYTES + 3 + NONCE_BYTES + MOVIE_ID_BYTES + TAG_BYTES;

export interface WireRate {
  readonly codec: string;
  readonly kbitPerSec: number;
  readonly packetsPerSec: number;
  readonly meanPacketBytes: number;
  /** Bytes of the stream's largest unit (a keyframe for H.264). */
  readonly largestUnitBytes: number;
}

export async function measureBitrates(moviesDir: string, workDir: string): Promise<WireRate[]> {
  const mjpeg = loadMovieLibrary(moviesDir).movies.find((m) => m.name === 'gradient.mjpeg');
  if (mjpeg === undefined) throw new Error(`no gradient.mjpeg in ${moviesDir}`);
  const mp4 = join(workDir, 'gradient.mp4');
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'mjpeg', '-framerate', '25'],
    ...['-i', join(moviesDir, 'gradient.mjpeg'), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'],
    ...['-g', '25', '-bf', '2', mp4],
  ]);
  const h264 = (await loadAvStreams(mp4, 'gradient.mp4', DEFAULT_MAX_PAYLOAD, SERVER_RTP_PACKET_BYTES)).streams[0];
  if (h264 === undefined) throw new Error('the H.264 encoding has no video stream');
  return [wireRate('MJPEG (RFC 2435)', mjpeg), wireRate('H.264 (RFC 6184)', h264)];
}

/** One loop of `movie` through a signing channel: what leaves the server, per second. */
function wireRate(codec: string, movie: ChannelMovie): WireRate {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signer = new FrameSigner(privateKey, publicKey);
  const clock = new VirtualClock(0);
  let packets = 0;
  let bytes = 0;
  const channel = new MovieChannel(
    clock,
    movie,
    (rtp) => {
      packets++;
      bytes += rtp.length;
    },
    () => clock.now(),
    (name, p) => signer.signFrame(name, p),
  );
  const loopMs = movie.schedule?.loopMs ?? (1000 * movie.frames.length) / movie.fps;
  channel.start();
  clock.advance(loopMs - 1);
  channel.stop();
  const seconds = loopMs / 1000;
  const largestUnitBytes = Math.max(...movie.frames.map((f) => f.reduce((n, p) => n + p.length, 0)));
  return {
    codec,
    kbitPerSec: ((bytes + packets * DATAGRAM_OVERHEAD_BYTES) * 8) / 1000 / seconds,
    packetsPerSec: packets / seconds,
    meanPacketBytes: bytes / packets,
    largestUnitBytes,
  };
}
