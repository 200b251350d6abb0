import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Integration tests spawn many node processes; two workers match this machine's two cores.
    maxWorkers: 2,
    minWorkers: 1,
    // The default summary counts skipped tests; the second reporter says why each was skipped.
    reporters: ['default', './test/skip-reasons-reporter.ts'],
  },
});
