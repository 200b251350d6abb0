/**
 * H.264 + AAC movie files through the overlay to real players: a server holds an ffmpeg-made
 * MP4 (B-frames, a keyframe a second, AAC), and ffmpeg (RTP over UDP and over TCP) and GStreamer
 * (rtspsrc) play it from POPs of the report's network. Every video frame they get decodes to a
 * frame of the source, consecutive in the looping channel's order, none repeated; every audio
 * packet is the source's, byte for byte, in order.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { requireGstElements } from '../capabilities.ts';
import { ffmpegOutput, frameHashes, makeAvFixture, requireAvTools } from '../common/media/av-fixture.ts';
import { LoopbackRun, ROOT } from './loopback-harness.ts';

const movies = mkdtempSync(join(tmpdir(), 'onode-av-movies-'));
const run = new LoopbackRun(join(ROOT, 'topologies/report.json5'), movies, {
  bootstrap: 17975,
  overlay: 14975,
  status: 17985,
  rtsp: 18975,
});
let source: { video: string[]; audio: string[] };

beforeAll(async () => {
  requireAvTools();
  makeSampleMovies(movies, { frames: 40 });
  const mp4 = await makeAvFixture(movies, 'clip');
  source = await hashes(mp4);
  run.start();
  await run.converged();
}, 60_000);
afterAll(async () => {
  await run.stop();
  rmSync(movies, { recursive: true, force: true });
});

/** Decoded video frames and copied audio packets of a file, as framemd5 hashes. */
async function hashes(file: string): Promise<{ video: string[]; audio: string[] }> {
  return {
    video: frameHashes(await ffmpegOutput(['-i', file, '-map', '0:v', '-f', 'framemd5', '-'])),
    audio: frameHashes(await ffmpegOutput(['-i', file, '-map', '0:a', '-c', 'copy', '-f', 'framemd5', '-'])),
  };
}

/**
 * How many of `got` are consecutive items of the looping `loop`, from wherever it starts; 0 when
 * the first is not in the loop at all.
 */
function consecutiveInLoop(got: readonly string[], loop: readonly string[]): number {
  let best = 0;
  for (let start = 0; start < loop.length; start++) {
    let n = 0;
    while (n < got.length && got[n] === loop[(start + n) % loop.length]) n++;
    best = Math.max(best, n);
  }
  return best;
}

function url(pop: string): string {
  return `rtsp://${run.topology.nodes.get(pop)?.clientAddresses[0]}:${run.ports.rtsp}/clip.mp4`;
}

/** Runs a player for `ms`, then interrupts it (both end their files cleanly on SIGINT). */
async function playFor(
  cmd: string,
  args: readonly string[],
  ms: number,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGINT'), ms);
  const code = await Promise.race([exited, sleep(ms + 15_000).then(() => 'timeout' as const)]);
  clearTimeout(timer);
  if (code === 'timeout') child.kill('SIGKILL');
  return { code: code === 'timeout' ? null : code, stderr };
}

/**
 * The frames and packets a player got are the source's, in the channel's order; at least
 * `minVideo` frames. A player's first audio packet may come out cut (rtpmp4gdepay keeps only its
 * first frame) and its last frames cut by the stop (a B-frame's reference missing): the rest must
 * match. `settleFrames`: a player whose jitter buffer drops frames while it settles after the
 * POP's burst of the current group of pictures (GStreamer) must still show no frame twice nor
 * backward there, and every frame after.
 */
function expectSourceOrder(
  got: { video: string[]; audio: string[] },
  minVideo: number,
  settleFrames = 0,
  maxSkipped = 0,
): void {
  const video = got.video.slice(0, -3);
  expect(video.length).toBeGreaterThanOrEqual(minVideo + settleFrames);
  const index = video.map((h) => source.video.indexOf(h));
  expect(index).not.toContain(-1);
  const n = source.video.length;
  const steps = index.slice(1).map((x, i) => (x - (index[i] ?? 0) + n) % n);
  expect(steps.filter((step) => step === 0 || step > n / 2)).toEqual([]); // none twice, none backward
  const settled = video.slice(settleFrames);
  if (maxSkipped === 0) expect(consecutiveInLoop(settled, source.video)).toBe(settled.length);
  else expect(steps.slice(settleFrames).reduce((sum, step) => sum + step - 1, 0)).toBeLessThanOrEqual(maxSkipped);
  const audio = got.audio.slice(1, -1);
  expect(audio.length).toBeGreaterThan(minVideo);
  if (maxSkipped === 0) expect(consecutiveInLoop(audio, source.audio)).toBe(audio.length);
  else expect(audio.map((h) => source.audio.indexOf(h))).not.toContain(-1);
}

describe('H.264 + AAC movies to real players', () => {
  for (const [transport, pop] of [
    ['udp', 'o5'],
    ['tcp', 'o6'],
  ] as const) {
    it(`ffmpeg over ${transport} gets the source's frames and sound`, async () => {
      // Decoded as it arrives: RTP gives presentation times only, and a file muxer wants decode times too.
      const out = {
        video: join(run.dir, `ffmpeg-${transport}-video.md5`),
        audio: join(run.dir, `ffmpeg-${transport}-audio.md5`),
      };
      // A larger socket buffer: ffmpeg reads UDP in the same thread as it decodes.
      const input = ['-rtsp_transport', transport, '-buffer_size', '4194304', '-i', url(pop)];
      const args = ['-hide_banner', '-loglevel', 'error', ...input];
      const video = ['-map', '0:v', '-frames:v', '100', '-f', 'framemd5', '-y', out.video];
      const audio = ['-map', '0:a', '-frames:a', '180', '-c', 'copy', '-f', 'framemd5', '-y', out.audio];
      const outputs = [...video, ...audio];
      const r = await playFor('ffmpeg', [...args, ...outputs], 15_000);
      expect(r.code, r.stderr).toBe(0);
      expectSourceOrder(
        { video: frameHashes(readFileSync(out.video, 'utf8')), audio: frameHashes(readFileSync(out.audio, 'utf8')) },
        60,
        0,
        // RTP over UDP has no repair in ffmpeg: a few frames lost on a busy host are skipped, never repeated.
        transport === 'udp' ? 10 : 0,
      );
    }, 40_000);
  }

  it('GStreamer rtspsrc gets the source frames and sound', async () => {
    requireGstElements('rtspsrc', 'rtph264depay', 'rtpmp4gdepay', 'h264parse', 'aacparse', 'matroskamux');
    const out = join(run.dir, 'gst.mkv');
    const pipeline = [
      ...['rtspsrc', `location=${url('o7')}`, 'protocols=tcp', 'name=s'],
      ...['s.', '!', 'queue', '!', 'rtph264depay', '!', 'h264parse', '!', 'mux.'],
      ...['s.', '!', 'queue', '!', 'rtpmp4gdepay', '!', 'aacparse', '!', 'mux.'],
      ...['matroskamux', 'name=mux', '!', 'filesink', `location=${out}`],
    ];
    const r = await playFor('gst-launch-1.0', ['-q', '-e', ...pipeline], 4000);
    expect(r.code, r.stderr).toBe(0);
    expectSourceOrder(await hashes(out), 40, 30);
  }, 40_000);
});
