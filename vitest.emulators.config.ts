import { defineConfig } from 'vitest/config';
import base, { EMULATOR_TESTS } from './vitest.config.ts';

/** The emulator tests, one file at a time and nothing else beside them (`npm test` runs this second). */
export default defineConfig({
  test: {
    ...base.test,
    include: EMULATOR_TESTS,
    exclude: [],
    maxWorkers: 1,
    minWorkers: 1,
    fileParallelism: false,
  },
});
