/**
 * AvOutput end to end without sockets: an ffmpeg-made H.264 + AAC movie, planned as RTP
 * (planAvRtp), packetized per track as a POP sends it, received by AvReceiver and written as
 * .mkv and .mp4 through ffmpeg: the video decodes to exactly the source's frames, in order, and
 * the audio packets are the source's (ffmpeg framemd5). Runs ffmpeg, opens no socket: no lock.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AvRtpPlan, planAvRtp } from '../../../common/media/av-rtp-plan.ts';
import { NAL_NON_IDR_SLICE, nalType } from '../../../common/media/h264/nal-unit.ts';
import type { AvMovie } from '../../../common/media/container/av-movie.ts';
import { loadAvMovie } from '../../../common/media/container/av-movie-file.ts';
import { AvReceiver, type AvUnit } from '../../../oclient/core/av-receiver.ts';
import { AvOutput, avOutputFormat, checkAvOutput, outputTracks } from '../../../oclient/net/av-output.ts';
import { OutputError } from '../../../oclient/net/output-files.ts';
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

/** Whether a process exists (signal 0 checks without sending). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A video unit of the plan that no other picture refers to (nal_ref_idc 0), in 2+ packets. */
function nonReferenceUnit(plan: AvRtpPlan): number {
  const video = plan.units.flatMap((u, i) => (u.track === 'video' ? [i] : []));
  const k = movie.video.samples.findIndex(
    (s, k) =>
      s.nals.every((n) => nalType(n) !== NAL_NON_IDR_SLICE || ((n[0] ?? 0) & 0x60) === 0) &&
      s.nals.some((n) => nalType(n) === NAL_NON_IDR_SLICE) &&
      (plan.units[video[k] ?? -1]?.payloads.length ?? 0) >= 2,
  );
  const unit = video[k];
  if (unit === undefined) throw new Error('the fixture has no non-reference picture of 2+ packets');
  return unit;
}

/** Receives the packets (in the given order, at their send times) and writes what came out to `path`. */
async function receiveInto(
  path: string,
  packets: readonly FedPacket[],
  sdp = avSdp(movie),
): Promise<{ rx: AvReceiver; units: AvUnit[] }> {
  const rx = new AvReceiver(sdp, { sync: SYNC });
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
    expect(() => AvOutput.open(join(tmp.dir, 'x.avi'), {})).toThrow(OutputError);
  });

  it('takes the parameter sets from the first keyframe when the SDP has none', async () => {
    const sdp = avSdp(movie).replace(/;sprop-parameter-sets=[^;\r\n]*/, '');
    expect(sdp).not.toMatch(/sprop/);
    const path = join(tmp.dir, 'inband.mp4');
    await receiveInto(path, planPackets(planAvRtp(movie)), sdp);
    expect(await videoHashes(path)).toEqual(sourceVideo);
    expect(await audioHashes(path)).toEqual(sourceAudio);
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

  it('writes a channel that loops: the source twice over', async () => {
    const path = join(tmp.dir, 'loops.mkv');
    const { rx } = await receiveInto(path, planPackets(planAvRtp(movie), 2));
    expect(rx.counters.video).toMatchObject({ lost: 0, units: 100 });
    expect(await videoHashes(path)).toEqual([...sourceVideo, ...sourceVideo]);
    expect(await audioHashes(path)).toEqual([...sourceAudio, ...sourceAudio]);
  });

  it('with one packet lost, loses exactly that picture and keeps the rest (reordered on the way)', async () => {
    // Non-reference pictures are a few tens of bytes: small payloads cut them in pieces.
    const plan = planAvRtp(movie, { maxPayload: 24 });
    const target = nonReferenceUnit(plan);
    const packets = planPackets(plan);
    // Its first packet (an FU-A start): the rest of it arrives, and must not be shown.
    const lost = packets.findIndex((p) => p.unit === target);
    const arrived = packets.filter((_, i) => i !== lost);
    // Swap neighbours of a track now and then (within the jitter buffer's window), but not a track's
    // first packet: it starts the sequence, so one overtaking it would count as late.
    const firsts = new Set(['video', 'audio'].map((t) => arrived.find((p) => p.track === t)));
    let swaps = 0;
    for (let i = 5; i + 1 < arrived.length; i += 7) {
      const [a, b] = [arrived[i], arrived[i + 1]];
      if (a === undefined || b === undefined || a.track !== b.track || firsts.has(a)) continue;
      [arrived[i], arrived[i + 1]] = [b, a];
      swaps++;
    }
    expect(swaps).toBeGreaterThan(100);
    const path = join(tmp.dir, 'lost.mkv');
    const { rx } = await receiveInto(path, arrived);
    expect(rx.counters.video.lost).toBe(1);
    expect(rx.counters.audio.lost).toBe(0);
    // The lost picture's place in presentation order is the frame missing from the decoded output.
    const ticks = plan.units[target]?.ticks;
    const order = plan.units
      .filter((u) => u.track === 'video')
      .map((u) => u.ticks)
      .sort((a, b) => a - b);
    const missing = order.indexOf(ticks ?? -1);
    expect(missing).toBeGreaterThan(0);
    expect(await videoHashes(path)).toEqual(sourceVideo.filter((_, i) => i !== missing));
    expect(await audioHashes(path)).toEqual(sourceAudio);
  });

  it('joined mid-GOP, the file starts at the next keyframe and decodes to the source from there', async () => {
    const packets = planPackets(planAvRtp(movie));
    const start = packets.findIndex((p) => p.track === 'video' && p.unit > 8);
    const path = join(tmp.dir, 'joined.mp4');
    const { rx, units } = await receiveInto(path, packets.slice(start));
    expect(rx.counters.video.beforeKeyframe).toBeGreaterThan(0);
    expect(units.find((u) => u.track === 'video')).toMatchObject({ keyframe: true });
    // The second GOP is the source's frames 25..49 (a keyframe every 25, closed GOPs).
    expect(await videoHashes(path)).toEqual(sourceVideo.slice(25));
  });

  it('leaves no ffmpeg behind when the client is killed', async () => {
    const script = join(import.meta.dirname, 'av-output-child.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script, join(tmp.dir, 'killed.mkv')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        child.once('exit', () => reject(new Error('the child ended before starting ffmpeg')));
      });
      expect(alive(pid)).toBe(true);
      child.kill('SIGKILL');
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      expect(alive(pid)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reports a missing ffmpeg or a failing one as an OutputError, never a throw', async () => {
    const rx = new AvReceiver(avSdp(movie), { sync: SYNC });
    const missing = AvOutput.open(join(tmp.dir, 'm.mkv'), outputTracks(rx.tracks), { ffmpeg: 'no-such-ffmpeg-here' });
    const errors: string[] = [];
    missing.events.on('error', (e) => errors.push(e.reason));
    const err = await missing.close();
    expect(err?.reason).toMatch(/no-such-ffmpeg-here, which is not installed: run `npm run setup`/);
    expect(errors).toEqual([err?.reason]);

    const empty = AvOutput.open(join(tmp.dir, 'empty.mkv'), outputTracks(rx.tracks));
    expect((await empty.close())?.reason).toBe('nothing was received to write');

    // ffmpeg cannot create the file: its own words come back.
    const bad = AvOutput.open(join(tmp.dir, 'no', 'dir', 'x.mkv'), outputTracks(rx.tracks));
    rx.events.on('unit', (u) => bad.write(u));
    for (const p of planPackets(planAvRtp(movie)).slice(0, 30)) rx.offer(p.track, p.datagram, p.atMs);
    const failed = await bad.close();
    expect(failed?.reason).toMatch(/No such file or directory/);
    expect(await bad.close()).toBe(failed);
  });
});
