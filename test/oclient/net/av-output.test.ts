/**
 * AvOutput end to end without sockets: an ffmpeg-made H.264 + AAC movie, planned as RTP
 * (planAvRtp), packetized per track as a POP sends it, received by AvReceiver and written as
 * .mkv and .mp4 through ffmpeg: the video decodes to exactly the source's frames, in order, and
 * the audio packets are the source's (ffmpeg framemd5). Runs ffmpeg, opens no socket: no lock.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planAvRtp } from '../../../common/media/av-rtp-plan.ts';
import type { AvMovie } from '../../../common/media/container/av-movie.ts';
import { loadAvMovie } from '../../../common/media/container/av-movie-file.ts';
import { AvReceiver, type AvUnit } from '../../../oclient/core/av-receiver.ts';
import { AvOutput, avOutputFormat, checkAvOutput, outputTracks } from '../../../oclient/net/av-output.ts';
import { ffmpegOutput, frameHashes, makeAvFixture, makeTempDir } from '../../common/media/av-fixture.ts';
import { avSdp, type FedPacket, planPackets, SYNC } from '../core/av-feed.ts';

const run = promisify(execFile);

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let source: string;
let movie: AvMovie;
let sourceVideo: string[];
let sourceAudio: string[];

const videoHashes = async (file: string) =>
  frameHashes(await ffmpegOutput(['-i', file, '-map', '0:v', '-fps_mode', 'passthrough', '-f', 'framemd5', '-']));
const audioHashes = async (file: string) =>
  frameHashes(await ffmpegOutput(['-i', file, '-map', '0:a', '-c', 'copy', '-f', 'framemd5', '-']));

/** The earliest presentation time of a file's first video or audio stream, in seconds. */
async function firstPts(file: string, stream: 'v' | 'a'): Promise<number> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', `${stream}:0`, '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file],
  ]);
  return Math.min(
    ...stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => Number(l.split(',')[0])),
  );
}

beforeAll(async () => {
  tmp = await makeTempDir();
  source = await makeAvFixture(tmp.dir, 'clip');
  movie = await loadAvMovie(source);
  sourceVideo = await videoHashes(source);
  sourceAudio = await audioHashes(source);
});

afterAll(async () => {
  await tmp?.remove();
});

/** Receives the packets (in the given order, at their send times) and writes what came out to `path`. */
async function receiveInto(path: string, packets: readonly FedPacket[]): Promise<{ rx: AvReceiver; units: AvUnit[] }> {
  const rx = new AvReceiver(avSdp(movie), { sync: SYNC });
  const out = AvOutput.open(path, outputTracks(rx.tracks));
  const units: AvUnit[] = [];
  rx.events.on('unit', (u) => {
    units.push(u);
    out.write(u);
  });
  for (const p of packets) rx.offer(p.track, p.datagram, p.atMs);
  rx.flush();
  expect(await out.close()).toBeNull();
  return { rx, units };
}

describe('AvOutput', () => {
  it('picks the container by extension and checks the path and ffmpeg first', () => {
    expect(avOutputFormat('a/b.MKV')).toBe('matroska');
    expect(avOutputFormat('b.mp4')).toBe('mp4');
    expect(avOutputFormat('b.mjpeg')).toBeUndefined();
    expect(checkAvOutput(join(tmp.dir, 'x.avi'))?.reason).toMatch(/\.mkv or \.mp4/);
    expect(checkAvOutput(join(tmp.dir, 'x.mkv'), 'no-such-ffmpeg-here')?.reason).toMatch(/npm run setup/);
    expect(checkAvOutput(join(tmp.dir, 'none', 'x.mkv'))?.reason).toMatch(/does not exist/);
    expect(checkAvOutput(join(tmp.dir, 'x.mkv'))).toBeNull();
  });

  for (const ext of ['mkv', 'mp4'] as const) {
    it(`writes a .${ext} whose frames and audio packets are the source's, in sync`, async () => {
      const path = join(tmp.dir, `out.${ext}`);
      const { rx } = await receiveInto(path, planPackets(planAvRtp(movie)));
      expect(rx.counters.video).toMatchObject({ lost: 0, beforeKeyframe: 0, units: 50 });
      expect(sourceVideo.length).toBe(50);
      expect(await videoHashes(path)).toEqual(sourceVideo);
      expect(await audioHashes(path)).toEqual(sourceAudio);
      // Sync: the first video and audio presentation times keep the source's distance (21.3 ms of AAC priming).
      const skew = async (file: string) => (await firstPts(file, 'v')) - (await firstPts(file, 'a'));
      expect(Math.abs((await skew(path)) - (await skew(source)))).toBeLessThan(0.0015);
    });
  }
});
