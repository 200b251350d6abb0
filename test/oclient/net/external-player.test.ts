import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  EXIT_NOT_INSTALLED,
  PlayerNotInstalled,
  playerCommand,
  runCommand,
} from '../../../oclient/net/external-player.ts';

const URL = 'rtsp://10.0.6.2:8554/bars.mjpeg';

describe('playerCommand', () => {
  it('asks ffplay for the transport and ends with the URL', () => {
    const c = playerCommand('ffplay', URL, 'tcp');
    expect(c.command).toBe('ffplay');
    expect(c.args.join(' ')).toContain('-rtsp_transport tcp');
    expect(c.args.at(-1)).toBe(URL);
  });

  it('asks mpv for the transport', () => {
    const c = playerCommand('mpv', URL, 'udp');
    expect(c).toMatchObject({ command: 'mpv' });
    expect(c.args).toContain('--rtsp-transport=udp');
    expect(c.args.at(-1)).toBe(URL);
  });

  it('asks VLC for interleaved TCP only when told, and to exit at the end', () => {
    expect(playerCommand('vlc', URL, 'tcp').args).toEqual(['--rtsp-tcp', '--play-and-exit', URL]);
    expect(playerCommand('vlc', URL, 'udp').args).toEqual(['--play-and-exit', URL]);
  });
});

describe('runCommand', () => {
  it('resolves with the exit code of the command', async () => {
    await expect(runCommand(process.execPath, ['-e', 'process.exit(3)'])).resolves.toBe(3);
    await expect(runCommand(process.execPath, ['-e', ''])).resolves.toBe(0);
  });

  it('reports a signal as 128 + its number, as a shell does', async () => {
    await expect(runCommand(process.execPath, ['-e', 'process.kill(process.pid, "SIGTERM")'])).resolves.toBe(
      128 + constants.signals.SIGTERM,
    );
  });

  it('rejects with PlayerNotInstalled and the hint when the command is missing', async () => {
    const run = runCommand('no-such-player-oclient-test', [], 'install it');
    await expect(run).rejects.toBeInstanceOf(PlayerNotInstalled);
    await expect(run).rejects.toThrow(/no-such-player-oclient-test is not installed.*install it/);
    expect(EXIT_NOT_INSTALLED).toBe(127);
  });

  it('leaves no signal handlers behind', async () => {
    const before = process.listenerCount('SIGINT');
    await runCommand(process.execPath, ['-e', '']);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
