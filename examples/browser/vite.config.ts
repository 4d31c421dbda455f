/**
 * Vite config of the browser example (examples/browser).
 *
 *   npm run example:browser                  # dev server with live reload
 *   npx vite build -c examples/browser/vite.config.ts   # static site in out/browser/site
 *
 * The page imports the package from ../../src (TypeScript, transpiled by Vite) and
 * tfjs from node_modules; the digits CSV is embedded with `?raw`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  // The package's browser entry (src/index.ts) reaches no Node built-in: no externals,
  // no polyfills needed.
  build: {
    outDir: `${repo}out/browser/site`,
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
  },
  server: { host: '127.0.0.1', fs: { allow: [repo] } },
  preview: { host: '127.0.0.1' },
});
