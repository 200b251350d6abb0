/**
 * Interop with a second, independent RTP implementation: GStreamer's sdpdemux reads our SDP,
 * rtph264depay and rtpmp4gdepay take our RTP over UDP on loopback, and what they write (an
 * H.264 byte stream, ADTS audio) is exactly the source: ffmpeg decodes the video to the source's
 * frames, and the audio packets are the source's (framemd5). Opens sockets and runs a process:
 * run it under the e2e lock.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { planAvRtp } from '../../../common/media/av-rtp-plan.ts';
import { loadAvMovie } from '../../../common/media/container/av-movie-file.ts';
import { requireGstElements } from '../../capabilities.ts';
import { ffmpegOutput, frameHashes, makeAvFixture, makeTempDir } from './av-fixture.ts';
import { freePortPair, loopbackSdp, sendPlan, sleep, waitUdpBound } from './rtp-send.ts';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let player: ChildProcess | undefined;

beforeAll(async () => {
  tmp = await makeTempDir();
});

afterEach(() => {
  player?.kill('SIGKILL');
  player = undefined;
});

afterAll(async () => {
  await tmp?.remove();
});

describe('GStreamer depayloads our H.264 + AAC RTP from our SDP', () => {
  it('to the source video frames and the source audio packets', async () => {
    requireGstElements('sdpdemux', 'rtph264depay', 'rtpmp4gdepay', 'h264parse', 'aacparse', 'filesink');
    const mp4 = await makeAvFixture(tmp.dir, 'clip');
    const movie = await loadAvMovie(mp4);
    const ports = { video: await freePortPair(), audio: await freePortPair() };
    const sdpPath = join(tmp.dir, 'clip.sdp');
    await writeFile(sdpPath, loopbackSdp(movie, ports));
    const out = { video: join(tmp.dir, 'received.h264'), audio: join(tmp.dir, 'received.aac') };
    const pipeline = [
      ...['filesrc', `location=${sdpPath}`, '!', 'sdpdemux', 'name=d'],
      ...['d.', '!', 'queue', '!', 'rtph264depay', '!', 'h264parse', '!'],
      ...['video/x-h264,stream-format=byte-stream,alignment=au', '!', 'filesink', `location=${out.video}`],
      ...['d.', '!', 'queue', '!', 'rtpmp4gdepay', '!', 'aacparse', '!'],
      ...['audio/mpeg,stream-format=adts', '!', 'filesink', `location=${out.audio}`],
    ];
    const child = spawn('gst-launch-1.0', ['-q', '-e', ...pipeline], { stdio: ['ignore', 'ignore', 'pipe'] });
    player = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    await waitUdpBound([ports.video, ports.audio]);
    await sendPlan(planAvRtp(movie), ports);
    await sleep(500);
    // -e: an interrupt sends end-of-stream through the pipeline, so the files are complete.
    child.kill('SIGINT');
    const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
    expect(code, stderr).toBe(0);

    const sourceVideo = frameHashes(await ffmpegOutput(['-i', mp4, '-map', '0:v', '-f', 'framemd5', '-']));
    const sourceAudio = frameHashes(
      await ffmpegOutput(['-i', mp4, '-map', '0:a', '-c', 'copy', '-f', 'framemd5', '-']),
    );
    const video = frameHashes(await ffmpegOutput(['-f', 'h264', '-i', out.video, '-f', 'framemd5', '-']));
    const audioArgs = ['-f', 'aac', '-i', out.audio, '-c', 'copy', '-bsf:a', 'aac_adtstoasc', '-f', 'framemd5', '-'];
    expect(sourceVideo.length).toBe(50);
    expect(video).toEqual(sourceVideo);
    expect(frameHashes(await ffmpegOutput(audioArgs))).toEqual(sourceAudio);
  });
});
