import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs keeps one global engine per process: run files in separate forks, two at a time (2 cores).
    pool: 'forks',
    maxWorkers: 2,
  },
});
