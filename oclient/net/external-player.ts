/**
 * Hands the RTSP URL to a desktop player (ffplay, mpv or VLC) instead of drawing in the
 * terminal: the player does its own RTSP with the POP. oclient waits for it and reports its
 * exit status as its own.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { TransportKind } from './play-session.ts';

export const EXTERNAL_PLAYERS = ['ffplay', 'mpv', 'vlc'] as const;
export type ExternalPlayer = (typeof EXTERNAL_PLAYERS)[number];

/** What a shell answers for a command it cannot find. */
export const EXIT_NOT_INSTALLED = 127;

/** The player's executable is not on PATH. */
export class PlayerNotInstalled extends Error {
  override readonly name = 'PlayerNotInstalled';
}

const INSTALL_HINT: Readonly<Record<ExternalPlayer, string>> = {
  ffplay: 'it comes with ffmpeg (apt install ffmpeg, brew install ffmpeg)',
  mpv: 'apt install mpv, brew install mpv',
  vlc: 'apt install vlc, brew install --cask vlc',
};

/** The command line that plays url with RTP over the given transport. */
export function playerCommand(
  player: ExternalPlayer,
  url: string,
  transport: TransportKind,
): { command: string; args: string[] } {
  switch (player) {
    case 'ffplay':
      return {
        command: 'ffplay',
        args: [
          '-hide_banner',
          '-loglevel',
          'error',
          '-rtsp_transport',
          transport,
          '-window_title',
          `oclient: ${url}`,
          url,
        ],
      };
    case 'mpv':
      return { command: 'mpv', args: [`--rtsp-transport=${transport}`, `--title=oclient: ${url}`, url] };
    case 'vlc':
      return { command: 'vlc', args: [...(transport === 'tcp' ? ['--rtsp-tcp'] : []), '--play-and-exit', url] };
  }
}

/**
 * Runs command with this terminal, waits for it and resolves with its exit code (128 + the
 * signal number when a signal ended it, as a shell reports it). Ctrl-C reaches the player (it
 * shares the terminal) and oclient waits for it to exit rather than dying first; SIGTERM and
 * SIGHUP sent to oclient are passed on.
 */
export function runCommand(command: string, args: readonly string[], notFoundHint = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    const ignore = (): void => {};
    process.on('SIGINT', ignore);
    process.on('SIGTERM', forward);
    process.on('SIGHUP', forward);
    const cleanup = (): void => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', forward);
      process.off('SIGHUP', forward);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      if (err.code === 'ENOENT')
        reject(
          new PlayerNotInstalled(
            `${command} is not installed (not found on PATH)${notFoundHint ? `; ${notFoundHint}` : ''}`,
          ),
        );
      else reject(new Error(`cannot start ${command}: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      cleanup();
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

export function runExternalPlayer(player: ExternalPlayer, url: string, transport: TransportKind): Promise<number> {
  const { command, args } = playerCommand(player, url, transport);
  return runCommand(command, args, `${INSTALL_HINT[player]}, or leave out --player to play in the terminal`);
}
