/**
 * oclient plays an H.264 + AAC movie end to end on loopback, as real processes: headless clients
 * on the report's three POPs write .mkv files (both tracks verified against the servers' keys,
 * remuxed without re-encoding) whose video decodes to consecutive frames of the source and whose
 * audio packets are consecutive source packets; and a relay kill -9 during the stream (mesh
 * topology) loses no frame.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegOutput, frameHashes, makeAvFixture, makeTempDir } from '../common/media/av-fixture.ts';
import { requireCommands } from '../capabilities.ts';
import { LoopbackRun, OCLIENT, ROOT, suiteRun, writeLosslessMesh } from './loopback-harness.ts';
import { TmuxPanes } from './tmux-harness.ts';
import { playerCommand } from '../../oclient/net/external-player.ts';

const run2 = promisify(execFile);

const MOVIE = 'clip.mp4';
let fixture: { dir: string; remove: () => Promise<void> } | null = null;
let source = '';

/** The fixture, made once: 4 s (a keyframe a second, B-frames), so a loop is longer than any gap here. */
async function sourceMovie(): Promise<string> {
  if (fixture === null) {
    fixture = await makeTempDir();
    source = await makeAvFixture(fixture.dir, 'clip', { seconds: 4 });
  }
  return source;
}
afterAll(async () => fixture?.remove());

interface TrackStats {
  written: number;
  lost: number;
  rejected: number;
  duplicates: number;
}
interface AvStats {
  framesReceived: number;
  framesLost: number;
  framesRejected: number;
  verifying: boolean;
  failovers: number;
  tracks: { video: TrackStats; audio: TrackStats };
}

/** Decoded video frames' hashes (or, with copy, the audio packets' hashes) of a file. */
async function hashes(file: string, what: 'video' | 'audio'): Promise<string[]> {
  const args =
    what === 'video'
      ? ['-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'framemd5', '-']
      : ['-i', file, '-map', '0:a:0', '-c', 'copy', '-f', 'framemd5', '-'];
  return frameHashes(await ffmpegOutput(args));
}

/** B-frames the fixture has in a row: at most this many pictures a cut-off recording cannot show at its end. */
const MAX_B_FRAMES = 2;

/**
 * Asserts `got` is consecutive entries of the looping `src` (starting anywhere, wrapping around),
 * in order, none repeated; returns how many. `tail` entries at the end may skip ahead: a recording
 * stops after some unit in decode order, and the B-frames shown before the last reference picture
 * but sent after it never came.
 */
function expectConsecutive(got: string[], src: string[], what: string, tail = 0): number {
  expect(got.length, `${what}: nothing written`).toBeGreaterThan(tail);
  const body = got.slice(0, got.length - tail);
  const starts = src.flatMap((h, i) => (h === got[0] ? [i] : []));
  expect(starts.length, `${what}: the first matches no source entry`).toBeGreaterThan(0);
  const fits = starts.find((s) => body.every((h, i) => h === src[(s + i) % src.length]));
  const firstBad = (s: number) => body.findIndex((h, i) => h !== src[(s + i) % src.length]);
  expect(fits, `${what}: differs from the source at ${firstBad(starts[0] ?? 0)} of ${got.length}`).toBeDefined();
  // The tail: later source entries, in order, each within the skip a cut-off B-frame run allows.
  let at = (fits as number) + body.length - 1;
  for (const h of got.slice(body.length)) {
    const step = [1, 2, 3].find((k) => src[(at + k) % src.length] === h);
    expect(step, `${what}: an entry of the last ${tail} is no later source entry`).toBeDefined();
    at += step as number;
  }
  return got.length;
}

function headless(run: LoopbackRun, address: string, pop: string, out: string, extra: string[] = []) {
  return run
    .client([
      ...['--address', address, '--pop', run.topology.nodes.get(pop)?.clientAddresses[0] ?? ''],
      ...['--movie', MOVIE, '--headless', '--output', out, ...extra],
    ])
    .then((c) => ({ ...c, stats: c.code === 0 ? (JSON.parse(c.stdout) as AvStats) : null }));
}

describe('oclient plays an H.264 + AAC movie (report topology)', () => {
  const run = suiteRun(
    join(ROOT, 'topologies/report.json5'),
    { bootstrap: 17450, overlay: 14450, status: 17460, rtsp: 18450 },
    { prepare: async (movies) => copyFileSync(await sourceMovie(), join(movies, MOVIE)) },
  );

  it('headless clients on three POPs write .mkv files that decode to consecutive source frames', async () => {
    const outs = ['o5', 'o6', 'o7'].map((pop) => join(run.dir, `${pop}.mkv`));
    // Mid-playback, the POP lists the client with the figures it reported (video units as frames).
    const reported = (async () => {
      type Row = { player?: string; movie: string; framesReceived?: number | null };
      const deadline = Date.now() + 4500;
      let rows: Row[] = [];
      while (Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 300));
        const res = await fetch(`http://${run.address('o5')}:${run.ports.status}/viewers`);
        rows = ((await res.json()) as { viewers: Row[] }).viewers;
        if (rows.some((r) => r.player === 'oclient' && (r.framesReceived ?? 0) > 25)) break;
      }
      return rows;
    })();
    const clients = await Promise.all([
      headless(run, '127.0.6.20', 'o5', outs[0] as string, ['--duration', '4']),
      headless(run, '127.0.7.20', 'o6', outs[1] as string, ['--duration', '4', '--transport', 'tcp']),
      headless(run, '127.0.9.20', 'o7', outs[2] as string, ['--duration', '4']),
    ]);
    const row = (await reported).find((r) => r.player === 'oclient' && r.movie === MOVIE);
    expect(row?.framesReceived ?? 0, JSON.stringify(await reported)).toBeGreaterThan(25);
    const srcVideo = await hashes(source, 'video');
    const srcAudio = await hashes(source, 'audio');
    expect(srcVideo).toHaveLength(100);
    for (const [i, c] of clients.entries()) {
      expect(c.code, c.stderr).toBe(0);
      const s = c.stats as AvStats;
      expect(s.verifying).toBe(true);
      expect(s.framesRejected).toBe(0);
      expect(s.tracks.audio.rejected).toBe(0);
      const video = await hashes(outs[i] as string, 'video');
      // About 4 s at 25 fps, less the start (the first keyframe comes within a second).
      expect(expectConsecutive(video, srcVideo, `${outs[i]} video`, MAX_B_FRAMES)).toBeGreaterThan(50);
      expect(video).toHaveLength(s.tracks.video.written);
      const audio = await hashes(outs[i] as string, 'audio');
      expect(expectConsecutive(audio, srcAudio, `${outs[i]} audio`)).toBeGreaterThan(100);
      expect(audio).toHaveLength(s.tracks.audio.written);
    }
  }, 60_000);

  it('an output that does not fit the movie is refused before the login', async () => {
    const mjpeg = await run.client(['--address', '127.0.6.20', '--movie', MOVIE, '--headless', '--output', 'x.mjpeg']);
    expect(mjpeg.code).toBe(2);
    expect(mjpeg.stderr).toContain('.mkv or .mp4');
    const mkv = join(run.dir, 'bars.mkv');
    const c = await run.client(['--address', '127.0.6.20', '--movie', 'bars.mjpeg', '--headless', '--output', mkv]);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('MJPEG movie');
    expect(existsSync(mkv)).toBe(false);
  }, 20_000);

  it('the URL --player hands over has both tracks (ffprobe: the RTSP client ffplay uses)', async () => {
    const pop = run.topology.nodes.get('o5')?.clientAddresses[0];
    const url = `rtsp://${pop}:${run.ports.rtsp}/${MOVIE}`;
    const { command, args } = playerCommand('ffplay', url, 'tcp');
    expect(command).toBe('ffplay');
    const transport = args.slice(args.indexOf('-rtsp_transport'), args.indexOf('-rtsp_transport') + 2);
    const out = await run2('ffprobe', [
      '-v',
      'error',
      ...transport,
      '-show_entries',
      'stream=codec_name',
      '-of',
      'csv=p=0',
      url,
    ]);
    expect(out.stdout.trim().split('\n').sort()).toEqual(['aac', 'h264']);
  }, 20_000);

  it('the terminal player draws the H.264 picture (ffmpeg decodes it) and says sound needs --player', async () => {
    requireCommands('tmux');
    const panes = new TmuxPanes('oclient-av-e2e', () => run.dir);
    try {
      const { name, exitFile } = panes.start([
        ...[process.execPath, OCLIENT, '--bootstrapper', run.emulator.bootstrapAddresses],
        ...['--rtsp-port', String(run.ports.rtsp), '--overlay-port', String(run.ports.overlay)],
        ...['--address', '127.0.6.20', '--movie', MOVIE],
      ]);
      // With --movie it plays at once. The panel counts frames shown; the picture is drawn in half blocks.
      const frames = (s: string): number => Number(/frames\s+(\d+)/.exec(s)?.[1] ?? 0);
      const screen = await panes.waitFor(name, 'frames shown', (s) => frames(s) > 25 && s.includes('▀'), 15_000);
      expect(screen).toMatch(/state\s+playing/);
      expect(screen).toContain('sound needs --player ffplay|mpv');
      expect(screen).toContain('every frame checked');
      panes.tmux('send-keys', '-t', name, 'q');
      expect(await panes.exitCode(exitFile)).toBe(0);
    } finally {
      panes.close();
    }
  }, 40_000);
});

describe('a relay kill -9 during an H.264 stream (mesh topology)', () => {
  let run: LoopbackRun | null = null;
  let moviesDir: { dir: string; remove: () => Promise<void> } | null = null;
  beforeAll(async () => {
    moviesDir = await makeTempDir();
    copyFileSync(await sourceMovie(), join(moviesDir.dir, MOVIE));
  });
  afterEach(async () => {
    await run?.stop();
    run = null;
  });
  afterAll(async () => moviesDir?.remove());

  it('loses no frame: the video decodes to consecutive source frames, audio too', async () => {
    const dir = (moviesDir as { dir: string }).dir;
    const r = new LoopbackRun(writeLosslessMesh(dir), dir, {
      bootstrap: 17470,
      overlay: 14480,
      status: 17475,
      rtsp: 18480,
    });
    run = r;
    r.start();
    await r.converged();
    const out = join(r.dir, 'p3.mkv');
    const done = headless(r, '127.1.103.20', 'p3', out, ['--duration', '6', '--jitter-buffer', '2000']);
    // Killed once p3 carries the stream (on a loaded host the client may still be starting at 2.5 s).
    let relay: string | null = null;
    for (const until = Date.now() + 15_000; relay === null && Date.now() < until; ) {
      await new Promise((res) => setTimeout(res, 250));
      relay = ((await r.status('p3')).streams ?? []).find((x) => x.movie === MOVIE)?.upstream ?? null;
    }
    expect(relay).toMatch(/^r/);
    r.emulator.kill(relay as string);
    const c = await done;
    expect(c.code, c.stderr).toBe(0);
    const s = c.stats as AvStats;
    expect(s.framesLost).toBe(0);
    const video = await hashes(out, 'video');
    expect(expectConsecutive(video, await hashes(source, 'video'), 'video', MAX_B_FRAMES)).toBeGreaterThan(100);
    expect(video).toHaveLength(s.framesReceived);
    expect(expectConsecutive(await hashes(out, 'audio'), await hashes(source, 'audio'), 'audio')).toBeGreaterThan(200);
  }, 60_000);

  it('kill -9 of the POP: the client fails over and the file goes on, no frame twice, all decodable', async () => {
    const dir = (moviesDir as { dir: string }).dir;
    const r = new LoopbackRun(writeLosslessMesh(dir), dir, {
      bootstrap: 17477,
      overlay: 14487,
      status: 17478,
      rtsp: 18487,
    });
    run = r;
    r.start();
    await r.converged();
    const out = join(r.dir, 'p2.mkv');
    const done = headless(r, '127.1.103.20', 'p2', out, ['--duration', '7']);
    await new Promise((res) => setTimeout(res, 2500));
    let serving = null as string | null;
    for (let i = 0; i < 50 && serving === null; i++) {
      for (const pop of ['p1', 'p2', 'p3']) {
        if (((await r.status(pop)).sessions ?? []).some((x) => x.packets > 0)) serving = pop;
      }
      if (serving === null) await new Promise((res) => setTimeout(res, 100));
    }
    expect(serving, 'a POP with the viewer').not.toBeNull();
    r.emulator.kill(serving as string);
    const c = await done;
    expect(c.code, c.stderr).toBe(0);
    const s = c.stats as AvStats;
    expect(s.failovers).toBeGreaterThanOrEqual(1);
    // Every picture decodes to a source frame (the file went on at a keyframe or right after the last
    // unit written), in the loop's order, none twice: each step moves on by at least one frame. Frames
    // are skipped at most three times: the B-frames the old session's cut-off left unshown, the gap to
    // the new POP's first keyframe (a POP that was not carrying the movie has no group of pictures to
    // start with), and the B-frames at the recording's end.
    const src = await hashes(source, 'video');
    const got = await hashes(out, 'video');
    expect(got).toHaveLength(s.framesReceived);
    const at = got.map((h, i) => {
      const k = src.indexOf(h);
      if (k < 0) throw new Error(`decoded frame ${i} of ${got.length} matches no source frame`);
      return k;
    });
    const steps = at.slice(1).map((k, i) => (k - (at[i] as number) + src.length) % src.length);
    expect(steps.filter((x) => x === 0)).toEqual([]);
    expect(steps.filter((x) => x > 1).length, `steps ${steps.join(' ')}`).toBeLessThanOrEqual(3);
    const audio = await hashes(out, 'audio');
    const srcAudio = new Set(await hashes(source, 'audio'));
    expect(audio.every((h) => srcAudio.has(h))).toBe(true);
    expect(audio).toHaveLength(s.tracks.audio.written);
  }, 60_000);
});
