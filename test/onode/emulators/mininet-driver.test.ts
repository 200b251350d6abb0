/** The Mininet driver is a Python file the runner copies from the repository root (onode mininet runs from dist/). */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MININET_DRIVER, SYSTEM_PYTHON } from '../../../onode/emulators/mininet-runner.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

describe('mininet-driver.py', () => {
  const path = join(ROOT, MININET_DRIVER);

  it('is where the runner looks for it, relative to the repository root', () => {
    expect(statSync(path).isFile()).toBe(true);
  });

  it('is a python3 program that takes the plan and the result file as its arguments, as the runner passes them', () => {
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')[0]).toBe(`#!${SYSTEM_PYTHON}`);
    expect(text).toContain('plan = json.load(open(sys.argv[1]))');
    expect(text).toContain('result_path = sys.argv[2]');
  });
});
