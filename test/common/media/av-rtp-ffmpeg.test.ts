/**
 * Interop: ffmpeg, as a player reading our SDP, receives a movie as our RTP (H.264 per RFC 6184
 * and AAC per RFC 3640, from planAvRtp) over UDP on loopback and gets exactly the source: the
 * video decodes to the source's frames and the audio packets are the source's (framemd5).
 * Opens sockets and runs a process: run it under the e2e lock.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { planAvRtp } from '../../../common/media/av-rtp-plan.ts';
import { buildAvSdp, movieSdpTracks } from '../../../common/media/av-sdp.ts';
import { loadAvMovie } from '../../../common/media/container/av-movie-file.ts';
import { encodeRtcp } from '../../../common/wire/rtcp.ts';
import { encodeRtp } from '../../../common/wire/rtp.ts';
import { ffmpegOutput, frameHashes, makeAvFixture, makeTempDir } from './av-fixture.ts';

const HOST = '127.0.0.1';
const SSRC = { video: 0x1111, audio: 0x2222 } as const;
const PT = { video: 96, audio: 97 } as const;

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let player: ChildProcess | undefined;
let sender: Socket | undefined;

beforeAll(async () => {
  tmp = await makeTempDir();
});

afterEach(() => {
  player?.kill('SIGKILL');
  player = undefined;
  sender?.close();
  sender = undefined;
});

afterAll(async () => {
  await tmp?.remove();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An even port whose successor (RTCP) is free too, found by binding both: in 20000..31999, above
 * the e2e files' fixed ports and below the kernel's ephemeral range (32768..).
 */
async function freePortPair(): Promise<number> {
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

/** True once some process has UDP `port` bound (Linux /proc). */
async function udpBound(port: number): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const text = await readFile('/proc/net/udp', 'utf8').catch(() => '');
  return text.split('\n').some((line) => line.split(/\s+/)[2]?.endsWith(hex.trim()) === true);
}

describe('ffmpeg plays our H.264 + AAC RTP from our SDP', () => {
  it('decodes the video to the source frames and receives the source audio packets', async () => {
    const mp4 = await makeAvFixture(tmp.dir, 'clip');
    const movie = await loadAvMovie(mp4);
    const plan = planAvRtp(movie);
    const port = { video: await freePortPair(), audio: await freePortPair() };
    const sdp = buildAvSdp({ sessionId: '1', originAddress: HOST, sessionName: 'clip', ...movieSdpTracks(movie) })
      .replace('c=IN IP4 0.0.0.0', `c=IN IP4 ${HOST}`)
      .replace('m=video 0 ', `m=video ${port.video} `)
      .replace('m=audio 0 ', `m=audio ${port.audio} `);
    const sdpPath = join(tmp.dir, 'clip.sdp');
    await writeFile(sdpPath, sdp);
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

    for (let i = 0; i < 200 && !((await udpBound(port.video)) && (await udpBound(port.audio))); i++) await sleep(25);
    const sock = createSocket('udp4');
    sender = sock;
    const send = (buf: Buffer, to: number) =>
      new Promise<void>((resolve, reject) => sock.send(buf, to, HOST, (e) => (e ? reject(e) : resolve())));
    const seq = { video: 0, audio: 0 };
    for (const [n, u] of plan.units.entries()) {
      for (const [i, payload] of u.payloads.entries()) {
        const packet = encodeRtp({
          marker: i === u.payloads.length - 1,
          payloadType: PT[u.track],
          sequenceNumber: seq[u.track]++,
          timestamp: u.ticks,
          ssrc: SSRC[u.track],
          csrcs: [],
          payload,
        });
        await send(packet, port[u.track]);
      }
      if (n % 8 === 7) await sleep(2); // let the player drain its socket buffer
    }
    await sleep(100);
    // RTCP BYE on each stream's RTCP port ends ffmpeg's input. A compound packet starts with a
    // report (RFC 3550 section 6.1), and ffmpeg ignores RTCP shorter than 12 bytes (a lone BYE).
    for (const track of ['video', 'audio'] as const) {
      const ssrc = SSRC[track];
      await send(
        encodeRtcp([
          { type: 'rr', ssrc, reports: [] },
          { type: 'bye', ssrcs: [ssrc] },
        ]),
        port[track] + 1,
      );
    }
    const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
    expect(code, stderr).toBe(0);

    const sourceVideo = frameHashes(await ffmpegOutput(['-i', mp4, '-map', '0:v', '-f', 'framemd5', '-']));
    const sourceAudio = frameHashes(
      await ffmpegOutput(['-i', mp4, '-map', '0:a', '-c', 'copy', '-f', 'framemd5', '-']),
    );
    expect(frameHashes(await readFile(out.video, 'utf8'))).toEqual(sourceVideo);
    expect(frameHashes(await readFile(out.audio, 'utf8'))).toEqual(sourceAudio);
  });
});
