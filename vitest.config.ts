import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Real Mininet and CORE networks: about a core each for a minute. Beside a CPU-bound test on this
 * 2-core machine their nodes were starved for a second at a time and their viewers failed over.
 */
export const EMULATOR_TESTS = ['test/e2e/core.test.ts', 'test/e2e/mininet.test.ts'];

/**
 * Tests that bound how long a failover or a stall lasts, across several processes: beside another
 * test file their gaps grew past any bound (the terminal player's POP switch took 2.5 s on CI).
 */
export const TIMING_TESTS = [
  'test/e2e/adversary.test.ts',
  'test/e2e/av-client.test.ts',
  // Third-party players over UDP have no repair: a starved ffmpeg skipped 37 of 97 frames.
  'test/e2e/av-movies.test.ts',
  'test/e2e/failures.test.ts',
  'test/e2e/pop-stall.test.ts',
  'test/e2e/rtsp-hardening.test.ts',
  'test/e2e/seamless.test.ts',
  'test/e2e/standby-bootstrapper.test.ts',
];

/** What runs after the rest, one file at a time with nothing beside it (vitest.alone.config.ts). */
export const ALONE_TESTS = [...TIMING_TESTS, ...EMULATOR_TESTS];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...ALONE_TESTS],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Integration tests spawn many node processes; two workers match this machine's two cores.
    maxWorkers: 2,
    minWorkers: 1,
    // The default summary counts skipped tests; the second reporter says why each was skipped.
    reporters: ['default', './test/skip-reasons-reporter.ts'],
  },
});
