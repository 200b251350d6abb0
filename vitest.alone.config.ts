import { defineConfig } from 'vitest/config';
import base, { ALONE_TESTS } from './vitest.config.ts';

/** The timing and emulator tests, one file at a time and nothing beside them (`npm test` runs this second). */
export default defineConfig({
  test: {
    ...base.test,
    include: ALONE_TESTS,
    exclude: [],
    maxWorkers: 1,
    minWorkers: 1,
    fileParallelism: false,
  },
});
