/** `promtool check metrics` on exposition text: the problems it reports (empty when it passes). */
import { spawnSync } from 'node:child_process';
import { requireCommands } from '../../capabilities.ts';

export function promtoolProblems(text: string): string {
  requireCommands('promtool');
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return r.status === 0 ? '' : `exit ${r.status}: ${r.stdout}${r.stderr}`;
}
