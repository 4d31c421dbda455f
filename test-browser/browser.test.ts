/**
 * `npm run test:browser`: the browser build, checked for real.
 *
 * 1. The package's browser ESM (tsc output of src/index.ts) bundles with Vite as a
 *    library with tfjs as an external peer: no warnings, its only imports are
 *    tfjs-core and tfjs-layers, and no Node built-in is reached at all.
 * 2. The example page (examples/browser) is built with Vite, served on 127.0.0.1 and
 *    opened in Debian's Chromium (headless, driven by playwright-core). It trains an NM
 *    model on digits; the test waits for it, checks the accuracy shown, that the
 *    structure picture changed between epochs, and saves out/browser/screenshot.png.
 *
 * Chromium: /usr/bin/chromium (apt-get install chromium), or CHROMIUM_PATH.
 */
import { CHROMIUM, launchChromium } from './chromium.js';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type BrowserContext, type ConsoleMessage } from 'playwright-core';
import { build, createLogger, type Rollup } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic, type StaticServer } from './static_server.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'out/browser');
/** Minimum test accuracy the page must show (measured: about 0.95 with the default 12 epochs). */
const MIN_ACCURACY = 0.85;
/** The same for the short forced-webgl run (2 epochs on 200 rows; measured: about 0.9). */
const MIN_ACCURACY_WEBGL_SHORT = 0.6;

/** A Vite logger that records warnings and errors instead of printing them. */
function recordingLogger() {
  const logger = createLogger('warn', { allowClearScreen: false });
  const messages: string[] = [];
  logger.warn = (msg) => void messages.push(`warn: ${msg}`);
  logger.warnOnce = (msg) => void messages.push(`warn: ${msg}`);
  logger.error = (msg) => void messages.push(`error: ${msg}`);
  return { logger, messages };
}

function chunksOf(result: Awaited<ReturnType<typeof build>>): Rollup.OutputChunk[] {
  const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
  return outputs.flatMap((o) => o.output.filter((c): c is Rollup.OutputChunk => c.type === 'chunk'));
}

describe('browser build', () => {
  it('the package browser ESM bundles with Vite (tfjs external, no Node built-ins at all)', async () => {
    const pkgDir = join(OUT, 'pkg');
    await rm(pkgDir, { recursive: true, force: true });
    // The same emit as `npm run build` (dist/), into out/ so the test leaves dist/ alone.
    await run(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(ROOT, 'tsconfig.build.json'),
        '--outDir',
        pkgDir,
        '--noCheck',
        '--declaration',
        'false',
        '--sourceMap',
        'false',
      ],
      { cwd: ROOT },
    );
    const { logger, messages } = recordingLogger();
    const result = await build({
      configFile: false,
      root: ROOT,
      customLogger: logger,
      logLevel: 'warn',
      build: {
        outDir: join(OUT, 'lib'),
        emptyOutDir: true,
        minify: false,
        target: 'es2022',
        lib: { entry: join(pkgDir, 'src/index.js'), formats: ['es'], fileName: 'tfjs-neural-modules' },
        // tfjs is the app's own copy (peer dependency); nothing else is external.
        rollupOptions: { external: [/^@tensorflow\//] },
      },
    });
    expect(messages).toEqual([]);
    const chunks = chunksOf(result);
    const staticImports = new Set(chunks.flatMap((c) => c.imports).filter((id) => !chunks.some((c) => c.fileName === id)));
    const dynamicImports = new Set(chunks.flatMap((c) => c.dynamicImports).filter((id) => !chunks.some((c) => c.fileName === id)));
    expect([...staticImports].sort()).toEqual(['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers']);
    // No Node built-in, not even lazily (webpack and esbuild fail on `node:` in dynamic imports too).
    expect([...dynamicImports]).toEqual([]);
    const nodeImport = /(?:\bimport\s*\(|\bfrom|\brequire\s*\(|\bimport)\s*["'`]node:[a-z_/]+["'`]/;
    const withoutComments = (code: string) => code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    expect(chunks.filter((c) => nodeImport.test(withoutComments(c.code))).map((c) => c.fileName)).toEqual([]);
    const size = chunks.reduce((n, c) => n + c.code.length, 0);
    console.log(
      `package bundle: ${chunks.length} chunk(s), ${(size / 1024).toFixed(0)} KiB, ` +
        `static imports ${[...staticImports].join(', ')}; lazy ${[...dynamicImports].join(', ') || 'none'}`,
    );
  });

  describe('examples/browser in Chromium', () => {
    let server: StaticServer | undefined;
    let context: BrowserContext | undefined;
    let profile: string | undefined;
    let buildSeconds = 0;

    beforeAll(async () => {
      expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`).toBe(true);
      const t0 = performance.now();
      const { logger, messages } = recordingLogger();
      await build({ configFile: join(ROOT, 'examples/browser/vite.config.ts'), customLogger: logger, logLevel: 'warn' });
      expect(messages).toEqual([]);
      buildSeconds = (performance.now() - t0) / 1000;
      server = await serveStatic(join(OUT, 'site'));
      ({ context, profile } = await launchChromium('nm-chromium-', { viewport: { width: 1280, height: 720 } }));
    }, 90_000);
    afterAll(async () => {
      await context?.close();
      await server?.close();
      if (profile) await rm(profile, { recursive: true, force: true });
    });

    /** Opens the page with `query`, waits for it to finish, saves a screenshot, returns what it measured. */
    async function runPage(query: string, screenshot: string, timeoutMs: number) {
      const page = await context!.newPage();
      const consoleLines: string[] = [];
      page.on('console', (m: ConsoleMessage) => consoleLines.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
      const t1 = performance.now();
      await page.goto(`${server!.url}index.html${query}`);
      await page
        .waitForFunction(() => window.__nmDone === true, undefined, { timeout: timeoutMs, polling: 250 })
        .catch(async (e: unknown) => {
          await page.screenshot({ path: join(OUT, `timeout-${screenshot}`), fullPage: true });
          throw new Error(`the page did not finish: ${(e as Error).message}\n${consoleLines.join('\n')}`);
        });
      const pageSeconds = (performance.now() - t1) / 1000;
      await mkdir(OUT, { recursive: true });
      await page.screenshot({ path: join(OUT, screenshot), fullPage: true });
      const error = await page.evaluate(() => window.__nmError ?? null);
      expect(error, `the page failed:\n${error}\n${consoleLines.join('\n')}`).toBeNull();
      const result = (await page.evaluate(() => window.__nmResult))!;
      const shown = await page.locator('#accuracy').textContent();
      const attr = await page.locator('#accuracy').getAttribute('data-value');
      const hashes = await page.evaluate(() => window.__nmPictureHashes ?? []);
      const dom = await page.evaluate(() => ({
        modules: document.querySelectorAll('#structure svg g.module').length,
        structureHash: document.getElementById('structure')?.getAttribute('data-hash'),
        lossPoints: Number(document.getElementById('loss-chart')?.getAttribute('data-points')),
        polylines: document.querySelectorAll('#loss-chart polyline').length,
      }));
      await page.close();
      console.log(
        `${screenshot}: backend ${result.backend} (${result.backendsTried.join('; ')}), engine ${result.engine} (${result.kernels} kernels), ${result.epochs} epochs on ` +
          `${result.trainRows}/${result.testRows} rows in ${result.trainSeconds.toFixed(1)} s (page ${pageSeconds.toFixed(1)} s, build ${buildSeconds.toFixed(1)} s); ` +
          `test accuracy ${shown}; modules per epoch ${result.modules.join(',')}; picture hashes ${hashes.join(' ')}`,
      );

      // Accuracy: shown in #accuracy, the same as measured.
      expect(shown).toBe(result.accuracy.toFixed(4));
      expect(Number(attr)).toBe(result.accuracy);
      // Training happened: the loss went down; one picture before training, one per epoch.
      expect(result.loss).toHaveLength(result.epochs);
      expect(result.loss[result.loss.length - 1]).toBeLessThan(0.5 * result.loss[0]);
      expect(hashes).toHaveLength(result.epochs + 1);
      expect(result.pictureHashes).toEqual(hashes);
      // The picture changed between epochs, and the page shows the last one.
      let changes = 0;
      for (let i = 1; i < hashes.length; i++) if (hashes[i] !== hashes[i - 1]) changes++;
      expect(changes).toBeGreaterThanOrEqual(Math.ceil(result.epochs / 2));
      expect(hashes[hashes.length - 1]).not.toBe(hashes[0]);
      expect(dom.structureHash).toBe(hashes[hashes.length - 1]);
      expect(dom.modules).toBe(result.modules[result.modules.length - 1]);
      // The loss curve: a point per batch, and the three lines.
      expect(dom.lossPoints).toBe(result.epochs * Math.ceil(result.trainRows / 32));
      expect(dom.polylines).toBe(3);
      expect(consoleLines.filter((l) => l.startsWith('[pageerror]'))).toEqual([]);
      await writeFile(
        join(OUT, screenshot.replace(/\.png$/, '.json')),
        JSON.stringify({ ...result, buildSeconds, pageSeconds, console: consoleLines }, null, 2),
      );
      return { result, consoleLines };
    }

    it('trains NM on digits (webgl, else cpu), shows the loss curve and a structure picture that changes each epoch', async () => {
      const { result } = await runPage('', 'screenshot.png', 120_000);
      expect(['webgl', 'cpu']).toContain(result.backend);
      // On cpu the solves run on the host engine with the WebAssembly SIMD kernels; on webgl as tensor ops.
      expect(result.engine).toBe(result.backend === 'cpu' ? 'host' : 'tensor');
      if (result.backend === 'cpu') expect(result.kernels).toBe('wasm-simd');
      expect(result.epochs).toBe(12);
      expect(result.accuracy).toBeGreaterThanOrEqual(MIN_ACCURACY);
    }, 150_000);

    it('also trains on the webgl backend when forced (software WebGL here: a short run)', async (ctx) => {
      if (process.env.NM_BROWSER_WEBGL === '0') ctx.skip();
      const { result } = await runPage('?backend=webgl&epochs=2&train=200&test=100', 'screenshot-webgl.png', 110_000);
      expect(result.backend).toBe('webgl');
      expect(result.engine).toBe('tensor');
      expect(result.accuracy).toBeGreaterThanOrEqual(MIN_ACCURACY_WEBGL_SHORT);
    }, 130_000);
  });
});
