/**
 * `npm run test:browser`: the package's kernel threads (`nm.backend.setThreads`) in
 * real Chromium.
 *
 * The page test-browser/fixtures/threads (src/index.ts with tfjs-core, tfjs-layers and
 * the cpu backend, bundled by Vite) is served twice on 127.0.0.1:
 *
 * 1. With `Cross-Origin-Opener-Policy: same-origin` and
 *    `Cross-Origin-Embedder-Policy: require-corp`: the page is crossOriginIsolated,
 *    `setThreads(2)` resolves to 2 and `threads()` says 2. A small NeuralModule model
 *    (host engine, WebAssembly SIMD kernels) trained for 2 epochs with 1 and then 2
 *    threads gives the same losses and weights, bit for bit, and with 2 threads the
 *    Web Worker (started from a Blob URL) really ran chunks: the team's
 *    chunksTotal > chunksByCaller > 0 (the caller, on the main thread, polls). A kernel
 *    instance's memory is attached to the worker while it lives and detached after
 *    `release()`; a Web Worker that closes itself is reported through `onExit`.
 *    Chromium has WebAssembly relaxed SIMD, so that training runs the FMA kernels
 *    (src/kernels/kernel_variant.ts); forced to mul+add it again gives the same bits on 1
 *    and 2 threads, different from the FMA ones. A probe that only a fused multiply-add
 *    gets right shows the FMA products fused on every code path, and within their error
 *    bound of a float64 reference.
 * 2. Without the headers: not crossOriginIsolated, `setThreads('auto')` resolves to 1,
 *    `setThreads(2)` rejects with a ConfigError naming crossOriginIsolated and the
 *    headers, and training still works on 1 thread (the same bits as in 1).
 *
 * Chromium: /usr/bin/chromium (apt-get install chromium), or CHROMIUM_PATH.
 */
import { CHROMIUM, launchChromium } from './chromium.js';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type BrowserContext, type Page } from 'playwright-core';
import { build, createLogger } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThreadsPage, TrainResult } from './fixtures/threads/main.js';
import { serveStatic, type StaticServer } from './static_server.js';

const ROOT = resolve(import.meta.dirname, '..');
const SITE = join(ROOT, 'out/browser/threads-site');
const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

describe('kernel threads in Chromium', () => {
  let isolated: StaticServer | undefined;
  let plain: StaticServer | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  /** The 1-thread run on the isolated page, the reference for the others. */
  let reference: TrainResult | undefined;

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`).toBe(true);
    const logger = createLogger('warn', { allowClearScreen: false });
    const messages: string[] = [];
    logger.warn = (msg) => void messages.push(`warn: ${msg}`);
    logger.warnOnce = (msg) => void messages.push(`warn: ${msg}`);
    logger.error = (msg) => void messages.push(`error: ${msg}`);
    await build({
      configFile: false,
      root: join(ROOT, 'test-browser/fixtures/threads'),
      base: './',
      customLogger: logger,
      logLevel: 'warn',
      build: { outDir: SITE, emptyOutDir: true, target: 'es2022', minify: false, chunkSizeWarningLimit: 4096 },
    });
    expect(messages).toEqual([]);
    isolated = await serveStatic(SITE, ISOLATION_HEADERS);
    plain = await serveStatic(SITE);
    ({ context, profile } = await launchChromium('nm-chromium-'));
  }, 90_000);
  afterAll(async () => {
    await context?.close();
    await isolated?.close();
    await plain?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  /** Opens the fixture from `server` and waits until `window.__nmThreads` is set; page errors collect in `errors`. */
  async function open(server: StaticServer) {
    const page = await context!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`[pageerror] ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`[console.error] ${m.text()}`);
    });
    await page.goto(`${server.url}index.html`);
    await page.waitForFunction(() => window.__nmThreads !== undefined || window.__nmThreadsError !== undefined, undefined, { timeout: 30_000, polling: 100 });
    const failed = await page.evaluate(() => window.__nmThreadsError ?? null);
    expect(failed, `the page failed to start:\n${failed}\n${errors.join('\n')}`).toBeNull();
    return { page, errors };
  }

  const info = (page: Page) =>
    page.evaluate(() => {
      const p = window.__nmThreads as ThreadsPage;
      return { crossOriginIsolated: p.crossOriginIsolated, threadsSupported: p.threadsSupported, backend: p.backend, relaxedSimd: p.relaxedSimd };
    });
  const train = (page: Page, threads: number) => page.evaluate((n) => (window.__nmThreads as ThreadsPage).train(n), threads);

  function expectSameBits(run: TrainResult, ref: TrainResult) {
    expect(run.loss).toEqual(ref.loss);
    expect(run.weights).toHaveLength(ref.weights.length);
    run.weights.forEach((w, i) => expect(w === ref.weights[i], `weight ${i} differs`).toBe(true));
    expect(run.checksum).toBe(ref.checksum);
  }

  it('crossOriginIsolated: 2 threads train to the same bits as 1, with chunks run on the worker', async () => {
    const { page, errors } = await open(isolated!);
    expect(await info(page)).toEqual({ crossOriginIsolated: true, threadsSupported: true, backend: 'cpu', relaxedSimd: true });

    const set = await page.evaluate(async () => {
      const p = window.__nmThreads as ThreadsPage;
      const settled = await p.setThreads(2);
      return { settled, threads: p.threads() };
    });
    expect(set).toEqual({ settled: { ok: true, value: 2 }, threads: 2 });

    const one = await train(page, 1);
    let two = await train(page, 2);
    // Which thread claims a chunk is up to the scheduler: train again (same bits each time),
    // a bounded number of times, until the worker has taken at least one chunk.
    for (let retry = 0; retry < 5 && two.chunksTotal === two.chunksByCaller; retry++) two = await train(page, 2);
    reference = one;
    console.log(
      `isolated: 1 thread ${one.seconds.toFixed(2)} s, 2 threads ${two.seconds.toFixed(2)} s; ` +
        `chunks ${two.chunksTotal} (caller ${two.chunksByCaller}); loss ${two.loss.join(', ')}; checksum ${two.checksum}`,
    );
    for (const run of [one, two]) {
      expect(run.engine).toBe('host');
      expect(run.kernels).toBe('wasm-simd');
      expect(run.variant).toBe('fma');
      expect(run.loss).toHaveLength(2);
      run.loss.forEach((l) => expect(Number.isFinite(l)).toBe(true));
    }
    expect([one.setThreads, one.threads]).toEqual([1, 1]);
    expect([two.setThreads, two.threads]).toEqual([2, 2]);
    // No team with 1 thread; with 2 the worker ran some chunks and the caller the others.
    expect([one.chunksTotal, one.chunksByCaller]).toEqual([0, 0]);
    expect(two.chunksByCaller).toBeGreaterThan(0);
    expect(two.chunksTotal).toBeGreaterThan(two.chunksByCaller);
    expectSameBits(two, one);
    // A kernel instance's memory is attached to the worker while it lives, detached after release().
    const counts = await page.evaluate(() => (window.__nmThreads as ThreadsPage).attachCycle());
    expect(counts[1]).toBe(counts[0] + 1);
    expect(counts[2]).toBe(counts[0]);
    expect(errors).toEqual([]);
    await page.close();
  }, 40_000);

  it('the FMA kernels fuse on every code path and stay within the float64 bound; forced mul+add, 1 and 2 threads give the same bits', async () => {
    const { page, errors } = await open(isolated!);
    const probe = await page.evaluate(() => (window.__nmThreads as ThreadsPage).fmaProbe());
    // spmm at B = 1, 5, 16 (22 columns), axpyRows (5), the GEMM (1): a·a + c = 2^-24 exactly.
    expect(probe.fma).toEqual(new Array(28).fill(2 ** -24));
    expect(probe.muladd).toEqual(new Array(28).fill(0));
    expect(probe.fmaErrorOverBound[0]).toBeLessThanOrEqual(1);

    const runs = await page.evaluate(async () => {
      const p = window.__nmThreads as ThreadsPage;
      p.useKernelVariant('muladd');
      try {
        return [await p.train(1), await p.train(2)];
      } finally {
        p.useKernelVariant('auto');
        await p.setThreads(1);
      }
    });
    const [one, two] = runs;
    expect([one.variant, two.variant, two.threads]).toEqual(['muladd', 'muladd', 2]);
    expectSameBits(two, one);
    if (reference) {
      // The FMA run of the first test: other last bits, the same training.
      expect(one.checksum).not.toBe(reference.checksum);
      one.loss.forEach((l, i) => expect(Math.abs(l - reference!.loss[i])).toBeLessThan(1e-3 * Math.abs(reference!.loss[i])));
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 40_000);

  it('a Web Worker that closes itself is reported through onExit (the Web platform has no exit event)', async () => {
    const { page, errors } = await open(isolated!);
    expect(await page.evaluate(() => (window.__nmThreads as ThreadsPage).workerExit())).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 30_000);

  it('not isolated: auto is 1 thread, 2 is refused naming the headers, and 1 thread still trains', async () => {
    const { page, errors } = await open(plain!);
    expect(await info(page)).toEqual({ crossOriginIsolated: false, threadsSupported: false, backend: 'cpu', relaxedSimd: true });

    const res = await page.evaluate(async () => {
      const p = window.__nmThreads as ThreadsPage;
      const auto = await p.setThreads('auto');
      const two = await p.setThreads(2);
      return { auto, two, threads: p.threads() };
    });
    expect(res.auto).toEqual({ ok: true, value: 1 });
    expect(res.threads).toBe(1);
    expect(res.two.ok).toBe(false);
    if (res.two.ok) return;
    expect(res.two.name).toBe('ConfigError');
    expect(res.two.message).toMatch(/crossOriginIsolated/);
    expect(res.two.message).toMatch(/Cross-Origin-Opener-Policy: same-origin/);
    expect(res.two.message).toMatch(/Cross-Origin-Embedder-Policy: require-corp/);

    const one = await train(page, 1);
    expect([one.setThreads, one.threads, one.engine, one.kernels, one.variant]).toEqual([1, 1, 'host', 'wasm-simd', 'fma']);
    expect([one.chunksTotal, one.chunksByCaller]).toEqual([0, 0]);
    if (reference) expectSameBits(one, reference);
    else one.loss.forEach((l) => expect(Number.isFinite(l)).toBe(true));
    expect(errors).toEqual([]);
    await page.close();
  }, 30_000);
});
