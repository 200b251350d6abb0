/**
 * A client that opens an AvOutput, says ffmpeg's pid on stdout and waits to be killed: the test
 * kills it with SIGKILL (no cleanup runs) and checks that ffmpeg ends on its own.
 */
import { AvOutput } from '../../../oclient/net/av-output.ts';

const path = process.argv[2] ?? 'out.mkv';
const out = AvOutput.open(path, { audio: { sampleRate: 48000, channels: 1, config: Buffer.from([0x11, 0x88]) } });
out.write({ track: 'audio', pts: 0, timeMs: 0, data: Buffer.alloc(10) });
process.stdout.write(`${out.ffmpegPid}\n`);
setInterval(() => {}, 1000);
