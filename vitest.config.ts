import { defineConfig } from 'vitest/config';
import { filterWrites } from './src/node/dawn-output.js';

// Dawn prints its adapter limit notes natively in every test process; a fork worker's fd 2 is a
// socket, which src/node/gpu.ts cannot capture, and vitest copies it onto this process's stderr:
// the notes are dropped here (LRFR_VERBOSE=1 keeps them).
filterWrites(process.stderr);

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    setupFiles: ['tests/setup.ts'],
    // Each file gets its own process (Dawn's native addon is not worker_threads-safe). Two at a time:
    // this machine has two cores and lavapipe runs the shaders on them.
    pool: 'forks',
    maxWorkers: 2,
    // Tests run on the default kernel variants, whatever a user's tune cache holds.
    env: { LRFR_TUNE_CACHE: 'off' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
