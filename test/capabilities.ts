/**
 * What tests need from the machine, in two kinds that are treated differently:
 * - tools `npm run setup` installs (ffmpeg, GStreamer, tmux, Mininet, ...): a missing one FAILS each
 *   test that drives it, saying to run setup, so a green run always exercised them;
 * - capabilities no install gives (network namespaces in an unprivileged container): the only
 *   reason a test may skip. The skipped describe's title carries the reason (skippedTitle), and
 *   test/skip-reasons-reporter.ts prints, after the summary, how many were skipped and why.
 */
import { spawnSync } from 'node:child_process';
import { DEBIAN_PARTS } from '../scripts/setup-plan.ts';

/** A tool setup installs is missing: the machine was not set up. */
export class MissingToolError extends Error {
  override readonly name = 'MissingToolError';
}

const onPath = new Map<string, boolean>();

export function hasCommand(command: string): boolean {
  let found = onPath.get(command);
  if (found === undefined) {
    found = spawnSync('sh', ['-c', 'command -v "$1" >/dev/null 2>&1', 'sh', command]).status === 0;
    onPath.set(command, found);
  }
  return found;
}

/** The failure for missing commands: each with the Debian package setup installs for it. */
export function missingToolMessage(missing: readonly string[]): string {
  const packageOf = (c: string): string => DEBIAN_PARTS.find((p) => p.command === c)?.package ?? c;
  const what = missing.map((c) => `${c} (Debian package ${packageOf(c)})`).join(', ');
  return `not installed: ${what}. Run \`npm run setup\` (as root) to install what the tests use.`;
}

/** Throws MissingToolError naming the package and `npm run setup` unless every command is on PATH. */
export function requireCommands(...commands: string[]): void {
  const missing = commands.filter((c) => !hasCommand(c));
  if (missing.length > 0) throw new MissingToolError(missingToolMessage(missing));
}

/** GStreamer elements, the package that carries each (for the message). */
const GST_ELEMENT_PACKAGES: Readonly<Record<string, string>> = {
  rtspsrc: 'gstreamer1.0-plugins-good',
  rtpjpegdepay: 'gstreamer1.0-plugins-good',
  multifilesink: 'gstreamer1.0-plugins-good',
  jpegparse: 'gstreamer1.0-plugins-bad',
};

/** Like requireCommands for GStreamer elements: gst-launch-1.0 alone does not bring the plugins. */
export function requireGstElements(...elements: string[]): void {
  requireCommands('gst-launch-1.0', 'gst-inspect-1.0');
  const missing = elements.filter((e) => spawnSync('gst-inspect-1.0', ['--exists', e]).status !== 0);
  if (missing.length === 0) return;
  const what = missing.map((e) => `${e} (Debian package ${GST_ELEMENT_PACKAGES[e] ?? 'gstreamer1.0-plugins-*'})`);
  throw new MissingToolError(`GStreamer elements not installed: ${what.join(', ')}. Run \`npm run setup\` (as root).`);
}

/**
 * Why this machine cannot create network namespaces (not Linux, not root, no CAP_SYS_ADMIN), or
 * null when it can. A missing `ip` is not such a reason: setup installs it, so it is null here and
 * the test's requireCommands fails instead.
 */
export function namespacesProblem(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (!hasCommand('ip')) return null;
  const name = `onode-test-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (add.status !== 0) {
    return `cannot create a network namespace: ${(add.stderr || add.error?.message || `exit ${add.status}`).trim()}`;
  }
  spawnSync('ip', ['netns', 'del', name]);
  return null;
}

const SKIP_MARK = /\s\[skipped: (.+)\]$/;

/** A describe's title, with the reason when it is skipped: `describe.skipIf(p !== null)(skippedTitle(t, p), ...)`. */
export function skippedTitle(title: string, problem: string | null): string {
  return problem === null ? title : `${title} [skipped: ${problem}]`;
}

/** The title and reason skippedTitle joined, or null for a title without a reason. */
export function parseSkippedTitle(title: string): { title: string; reason: string } | null {
  const m = SKIP_MARK.exec(title);
  return m?.[1] === undefined ? null : { title: title.slice(0, m.index), reason: m[1] };
}
