/**
 * Terminal players under test: panes of a tmux server on a socket of its own (a user's tmux
 * sessions are neither seen nor touched), driven with send-keys and read back with capture-pane.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export class TmuxPanes {
  private readonly socket: string;
  private sessions = 0;

  /** @param dir where each pane's exit-code file goes (a run's scratch folder) */
  constructor(
    label: string,
    private readonly dir: () => string,
  ) {
    this.socket = `${label}-${process.pid}`;
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Runs `argv` in a new 120 x 40 pane; its exit code lands in `exitFile`. */
  start(argv: readonly string[], name = `pane${++this.sessions}`): { name: string; exitFile: string } {
    const exitFile = join(this.dir(), `${name}.exit`);
    const cmd = argv.map((a) => `'${a}'`).join(' ');
    this.tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', `${cmd}; echo $? > '${exitFile}'; sleep 120`);
    return { name, exitFile };
  }

  screen(name: string): string {
    return this.tmux('capture-pane', '-p', '-t', name);
  }

  /** The screen once `test` holds; throws with the screen after `timeoutMs`. */
  async waitFor(name: string, what: string, test: (s: string) => boolean, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen(name);
      if (test(s)) return s;
      if (Date.now() > deadline) throw new Error(`waiting for ${what}; the screen:\n${s}`);
      await sleep(100);
    }
  }

  /** The exit code the pane's program wrote, once it has. */
  async exitCode(exitFile: string, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(exitFile) || readFileSync(exitFile, 'utf8').trim() === '') {
      if (Date.now() > deadline) throw new Error('the program in the pane did not exit');
      await sleep(100);
    }
    return Number(readFileSync(exitFile, 'utf8').trim());
  }

  /** Ends the tmux server and removes the socket file tmux leaves behind. */
  close(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // no session was left
    }
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, this.socket), { force: true });
  }
}
