/** The AV fixture, and ffmpeg's binary output (an Annex B stream). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export { makeAvFixture, makeTempDir } from '../../common/media/av-fixture.ts';

export async function ffmpegOutputBuffer(args: readonly string[]): Promise<Buffer> {
  const { stdout } = await promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}
