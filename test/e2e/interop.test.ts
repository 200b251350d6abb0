/**
 * Real players against a POP of the running overlay: ffmpeg (RTP over UDP and over TCP) and
 * GStreamer (rtspsrc ! rtpjpegdepay); every frame they receive must decode to the source's pixels.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { requireCommands, requireGstElements } from '../capabilities.ts';
import { decodedFrames, matchConsecutive, ROOT, suiteRun } from './loopback-harness.ts';

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGINT' }, (err, _out, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr });
    });
  });
}

/** ffmpeg as an RTSP client: `frames` frames of `url`, copied (not re-encoded) into an MJPEG file. */
function ffmpegCopy(transport: 'udp' | 'tcp', url: string, frames: number, out: string) {
  const args = ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', transport, '-i', url];
  return run('ffmpeg', [...args, '-frames:v', String(frames), '-c', 'copy', '-f', 'mjpeg', '-y', out], 20_000);
}

describe('real RTSP players', () => {
  const ports = { bootstrap: 17010, overlay: 14454, status: 17090, rtsp: 18564 };
  const overlay = suiteRun(join(ROOT, 'topologies/report.json5'), ports);
  const movies = overlay.moviesDir;
  const url = (pop: string, movie: string): string =>
    `rtsp://${overlay.topology.nodes.get(pop)?.clientAddresses[0]}:${ports.rtsp}/${movie}`;

  for (const transport of ['udp', 'tcp'] as const) {
    it(`ffmpeg over ${transport} receives pixel-identical frames`, async () => {
      requireCommands('ffmpeg');
      const out = join(overlay.dir, `ffmpeg-${transport}.mjpeg`);
      const r = await ffmpegCopy(transport, url(transport === 'udp' ? 'o5' : 'o6', 'bars.mjpeg'), 25, out);
      expect(r.code, r.stderr).toBe(0);
      expect(matchConsecutive(decodedFrames(out), decodedFrames(join(movies, 'bars.mjpeg')))).toBe(25);
    }, 30_000);
  }

  it('garbage, unknown methods and oversize requests get 4xx/5xx while another session keeps playing', async () => {
    requireCommands('ffmpeg');
    const out = join(overlay.dir, 'ffmpeg-during-abuse.mjpeg');
    const player = ffmpegCopy('tcp', url('o6', 'bounce.mjpeg'), 50, out);
    const host = overlay.topology.nodes.get('o6')?.clientAddresses[0] ?? '';
    const ask = (payload: Buffer): Promise<string> =>
      new Promise((resolve) => {
        const sock = connect({ host, port: ports.rtsp });
        let text = '';
        sock.on('data', (d) => {
          text += d.toString('latin1');
        });
        sock.on('close', () => resolve(text));
        sock.on('error', () => resolve(text));
        sock.on('connect', () => sock.write(payload));
        setTimeout(() => sock.destroy(), 1500);
      });
    expect(await ask(Buffer.from('HELLO rtsp://x/ RTSP/1.0\r\nCSeq: 1\r\n\r\n'))).toMatch(/^RTSP\/1\.0 501/);
    expect(await ask(Buffer.from('DESCRIBE rtsp://x/nope.mjpeg RTSP/1.0\r\nCSeq: 2\r\n\r\n'))).toMatch(
      /^RTSP\/1\.0 404/,
    );
    expect(await ask(Buffer.from('\x00\x01garbage\r\n\r\n', 'latin1'))).toMatch(/^RTSP\/1\.0 4\d\d/);
    expect(await ask(Buffer.from(`OPTIONS * RTSP/1.0\r\nCSeq: 3\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`))).toMatch(
      /^RTSP\/1\.0 (413|400)/,
    );
    const r = await player;
    expect(r.code, r.stderr).toBe(0);
    expect(matchConsecutive(decodedFrames(out), decodedFrames(join(movies, 'bounce.mjpeg')))).toBe(50);
  }, 30_000);

  it('GStreamer rtspsrc ! rtpjpegdepay receives pixel-identical frames', async () => {
    requireGstElements('rtspsrc', 'rtpjpegdepay', 'multifilesink');
    const dir = join(overlay.dir, 'gst');
    mkdirSync(dir);
    const r = await run(
      'gst-launch-1.0',
      [
        '-q',
        'rtspsrc',
        `location=${url('o7', 'gradient.mjpeg')}`,
        'protocols=tcp',
        '!',
        'rtpjpegdepay',
        '!',
        'multifilesink',
        `location=${join(dir, 'f%05d.jpg')}`,
      ],
      3000,
    );
    expect(r.code === 0 || r.code === null || r.code === 130, r.stderr).toBe(true);
    const files = readdirSync(dir).sort();
    expect(files.length).toBeGreaterThan(20);
    // The last file may be cut short by the stop; compare the rest.
    const frames = files
      .slice(0, -1)
      .map((f) => Buffer.from(jpeg.decode(readFileSync(join(dir, f)), { useTArray: true, formatAsRGBA: true }).data));
    expect(matchConsecutive(frames, decodedFrames(join(movies, 'gradient.mjpeg')))).toBe(frames.length);
  }, 30_000);
});
