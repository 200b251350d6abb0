/**
 * Interop: ffmpeg, as a player reading our SDP, receives a movie as our RTP (H.264 per RFC 6184
 * and AAC per RFC 3640, from planAvRtp) over UDP on loopback and gets exactly the source: the
 * video decodes to the source's frames and the audio packets are the source's (framemd5).
 * Opens sockets and runs a process: run it under the e2e lock.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { planAvRtp } from '../../../common/media/av-rtp-plan.ts';
import { loadAvMovie } from '../../../common/media/container/av-movie-file.ts';
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

describe('ffmpeg plays our H.264 + AAC RTP from our SDP', () => {
  it('decodes the video to the source frames and receives the source audio packets', async () => {
    const mp4 = await makeAvFixture(tmp.dir, 'clip');
    const movie = await loadAvMovie(mp4);
    const ports = { video: await freePortPair(), audio: await freePortPair() };
    const sdpPath = join(tmp.dir, 'clip.sdp');
    await writeFile(sdpPath, loopbackSdp(movie, ports));
    const out = { video: join(tmp.dir, 'video.md5'), audio: join(tmp.dir, 'audio.md5') };
    const args = [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-protocol_whitelist', 'file,udp,rtp', '-i', sdpPath],
      ...['-map', '0:v', '-f', 'framemd5', '-y', out.video, '-map', '0:a', '-c', 'copy', '-f', 'framemd5', out.audio],
    ];
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    player = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    await waitUdpBound([ports.video, ports.audio]);
    await sendPlan(planAvRtp(movie), ports);
    // The BYEs end ffmpeg's input.
    const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
    expect(code, stderr).toBe(0);

    const sourceVideo = frameHashes(await ffmpegOutput(['-i', mp4, '-map', '0:v', '-f', 'framemd5', '-']));
    const sourceAudio = frameHashes(
      await ffmpegOutput(['-i', mp4, '-map', '0:a', '-c', 'copy', '-f', 'framemd5', '-']),
    );
    expect(sourceVideo.length).toBe(50);
    expect(frameHashes(await readFile(out.video, 'utf8'))).toEqual(sourceVideo);
    expect(frameHashes(await readFile(out.audio, 'utf8'))).toEqual(sourceAudio);
  });
});
