import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The emulator tests (real Mininet and CORE networks, about a core each for a minute) run after
 * the rest, alone (vitest.emulators.config.ts): beside a CPU-bound test on this 2-core machine,
 * their nodes were starved for a second at a time and their viewers failed over.
 */
export const EMULATOR_TESTS = ['test/e2e/core.test.ts', 'test/e2e/mininet.test.ts'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...EMULATOR_TESTS],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Integration tests spawn many node processes; two workers match this machine's two cores.
    maxWorkers: 2,
    minWorkers: 1,
    // The default summary counts skipped tests; the second reporter says why each was skipped.
    reporters: ['default', './test/skip-reasons-reporter.ts'],
  },
});
