import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Integration tests spawn many node processes; two workers match this machine's two cores.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
