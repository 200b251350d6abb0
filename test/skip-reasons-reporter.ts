/**
 * After vitest's summary, says how many tests were skipped and why: the reason comes from the
 * title of the skipped test or describe (test/capabilities.ts, skippedTitle). A skip without one is listed
 * as such, so an unexplained skip (or a suite whose beforeAll failed) does not hide in a count.
 */
import { relative } from 'node:path';
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { parseSkippedTitle } from './capabilities.ts';

function reasonFor(test: TestCase): { where: string; reason: string } {
  const file = relative(process.cwd(), test.module.moduleId);
  const own = parseSkippedTitle(test.name);
  if (own !== null) return { where: `${file} > ${own.title}`, reason: own.reason };
  for (let s = test.parent; s.type === 'suite'; s = s.parent) {
    const skipped = parseSkippedTitle(s.name);
    if (skipped !== null) return { where: `${file} > ${skipped.title}`, reason: skipped.reason };
  }
  return { where: `${file} > ${test.fullName}`, reason: 'no reason given' };
}

export default class SkipReasonsReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const groups = new Map<string, { where: string; reason: string; count: number }>();
    for (const m of modules) {
      for (const test of m.children.allTests('skipped')) {
        const { where, reason } = reasonFor(test);
        const key = `${where}\n${reason}`;
        const g = groups.get(key) ?? { where, reason, count: 0 };
        g.count += 1;
        groups.set(key, g);
      }
    }
    if (groups.size === 0) return;
    const total = [...groups.values()].reduce((n, g) => n + g.count, 0);
    const lines = [...groups.values()].map((g) => `   ${String(g.count).padStart(3)} in ${g.where} (${g.reason})`);
    process.stdout.write(`\n Skipped ${total}, and why:\n${lines.join('\n')}\n\n`);
  }
}
