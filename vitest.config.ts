import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs keeps one global engine per process: run files in separate forks, two at a time (2 cores).
    pool: 'forks',
    maxWorkers: 2,
    // The tests import the sources (src/index.ts is the browser-safe entry); install the
    // Node services (fs, path, zlib) the package's Node entry installs, as Node users get them.
    // test/setup.ts silences tfjs' "install our node backend" banner (tfjs' PROD flag).
    setupFiles: ['src/platform/node.ts', 'test/setup.ts'],
    // Arena arrays taken without zero-fill start as NaN in tests, so a read before a write fails.
    env: { NM_ARENA_POISON: '1' },
  },
});
