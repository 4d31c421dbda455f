import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  // The bench/ code some tests run imports the package by name: resolve it to the sources,
  // as tsconfig.json's `paths` do for tsc and tsx.
  resolve: {
    alias: [
      { find: /^tfjs-neural-modules\/internal$/, replacement: source('./src/internal.ts') },
      { find: /^tfjs-neural-modules$/, replacement: source('./src/node.ts') },
    ],
  },
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
    setupFiles: ['src/platform/node_host.ts', 'test/setup.ts'],
    // Arena arrays taken without zero-fill start as NaN in tests, so a read before a write fails.
    // NM_THREADS=1: no kernel threads by default. Two test files run at once on this
    // project's 2 cores, so default teams would put four busy threads on two cores; the
    // tests of threads start theirs with setThreads, and test/default_threads.test.ts
    // tests the default with its own environment.
    env: { NM_ARENA_POISON: '1', NM_THREADS: '1' },
  },
});
