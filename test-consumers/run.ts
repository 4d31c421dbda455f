/**
 * `npm run test:consumers`: the packed package, installed and used the ways users do.
 *
 * 1. `npm pack` (its `prepack` runs `npm run build`), then the tarball is installed
 *    with `@tensorflow/tfjs`, webpack 5 and Rollup into one fixture project
 *    (test-consumers/app copied to $NM_CONSUMERS_DIR, default <tmp>/tfjs-neural-modules-consumers;
 *    its node_modules is kept between runs, outside this repository so nothing
 *    resolves from the repo's own node_modules).
 * 2. Node: ESM `import`, CommonJS `require` (Node ≥ 20) and TypeScript (strict,
 *    `skipLibCheck: false`, nodenext ESM + .cts, and bundler resolution) each train
 *    NM(8, ρ = 0.3) → softmax, check the loss went down and the output shape, and save/
 *    load through `file://` (no tfjs-node) with identical predictions. An ESM and a CJS
 *    script that train on 2 kernel threads and do nothing else must exit by themselves, and
 *    so must an ESM script that trains with no opt-in (the kernel threads it starts by itself).
 * 3. Browser bundles of one page (test-consumers/app/web/main.mjs) by esbuild
 *    (`--bundle --platform=browser`), webpack 5 (`target: 'web'`), Rollup (node-resolve +
 *    commonjs, the usual minimum) and Vite, without package-specific configuration;
 *    plus the script-tag page (tf.min.js, then the package's IIFE on the global `tf`).
 *    Each runs in Debian's Chromium (playwright-core, headless), trains, and round-trips
 *    through `localstorage://` and `indexeddb://` with identical predictions.
 *
 * The pack step reports the packed and unpacked sizes; the installed package is checked for
 * relative links of its Markdown files that do not resolve inside it, and for source maps
 * that embed their sources.
 *
 * The esbuild and webpack binaries and TypeScript/Vite come from this repository's
 * devDependencies (they bundle files in the fixture, resolving from there); webpack and
 * Rollup are installed into the fixture. Chromium: /usr/bin/chromium or CHROMIUM_PATH.
 */
import { CHROMIUM, launchChromium } from '../test-browser/chromium.js';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build as viteBuild, createLogger } from 'vite';
import { serveStatic } from '../test-browser/static_server.js';
import { brokenLinks } from '../test/helpers/doc_links.js';
import { EXIT_LIMIT_MS, exitOf } from '../test/helpers/exit_of.js';
import { assertNoNodeBuiltins, expect, lastJson, NODE_IMPORT, results, run, step, withoutComments } from './harness.js';

const ROOT = resolve(import.meta.dirname, '..');
const WORK = resolve(process.env.NM_CONSUMERS_DIR ?? join(tmpdir(), 'tfjs-neural-modules-consumers'));
const APP = join(WORK, 'app');
/**
 * The packed tarball must stay at or under this many bytes (npm pack's `size`): a guard
 * against bloat, not a target. Lowered from 850,000 when the CommonJS Node entry stopped
 * carrying a second copy of the browser bundle (about 704,000 bytes since).
 */
const PACKED_LIMIT = 750_000;
const rootPkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));

// The few webpack and Rollup API types used (both are installed in the fixture, not here).
type WebpackStats = {
  hasErrors(): boolean;
  toJson(o: object): { errors?: { message: string }[]; warnings?: { message: string; moduleName?: string; moduleIdentifier?: string }[] };
};
type WebpackFn = (config: object, cb: (err: Error | null, stats?: WebpackStats) => void) => void;
type RollupWarning = { code?: string; message: string; id?: string; ids?: string[] };
type RollupFn = (o: object) => Promise<{ write(o: object): Promise<unknown>; close(): Promise<void> }>;

const execFileP = promisify(execFile);
const t00 = performance.now();
const node = (args: string[], cwd = APP) => run(process.execPath, args, cwd);

/** Messages about this package (its files in the fixture's node_modules), as opposed to tfjs's own. */
const OURS = /node_modules[\\/]tfjs-neural-modules[\\/]/;

// ---------------------------------------------------------------- pack and install
let tarball = '';
const packed = await step('npm pack (prepack: npm run build)', async () => {
  await mkdir(WORK, { recursive: true });
  for (const f of await readdir(WORK)) if (f.endsWith('.tgz')) await rm(join(WORK, f));
  const { stdout } = await execFileP('npm', ['pack', '--pack-destination', WORK, '--json', '--loglevel=error'], { cwd: ROOT, maxBuffer: 64 << 20 });
  // stdout: the build's lines (prepack), then the JSON array.
  const info = JSON.parse(stdout.slice(stdout.lastIndexOf('\n[') + 1))[0] as {
    filename: string;
    files: { path: string; size: number }[];
    size: number;
    unpackedSize: number;
  };
  tarball = join(WORK, info.filename);
  const files = info.files.map((f) => f.path);
  for (const need of [
    'LICENSE',
    'README.md',
    'docs/DESIGN.md',
    'docs/guide/troubleshooting.md',
    'dist/src/index.js',
    'dist/src/node.js',
    'dist/src/index.d.ts',
    'dist/cjs/node.cjs',
    'dist/cjs/index.cjs',
    'dist/cjs/types/node.d.cts',
    'dist/tfjs-neural-modules.min.js',
  ]) {
    expect(files.includes(need), `the tarball lacks ${need}`);
  }
  expect(!files.some((f) => f.startsWith('data/') || f.startsWith('src/') || f.startsWith('test')), 'the tarball ships data/, src/ or tests');
  expect(Number.isFinite(info.unpackedSize) && info.unpackedSize > 0, `npm pack reported no unpacked size: ${info.unpackedSize}`);
  const maps = info.files.filter((f) => f.path.endsWith('.map')).reduce((sum, f) => sum + f.size, 0);
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  // Size budget of the packed tarball: dist (ESM with maps, CJS bundles, the script-tag
  // bundle, both declaration trees), README, LICENSE and the docs `files` lists.
  expect(info.size <= PACKED_LIMIT, `the packed tarball is ${info.size} bytes (${kib(info.size)}), over the ${PACKED_LIMIT}-byte budget`);
  return `${info.filename}, ${files.length} files, ${kib(info.size)} packed, ${kib(info.unpackedSize)} unpacked (source maps ${kib(maps)})`;
});

const installed =
  packed &&
  (await step('install the tarball into the fixture', async () => {
    await cp(join(ROOT, 'test-consumers/app'), APP, { recursive: true, force: true });
    await rm(join(APP, 'node_modules/tfjs-neural-modules'), { recursive: true, force: true });
    await rm(join(APP, 'package-lock.json'), { force: true });
    await rm(join(APP, 'out'), { recursive: true, force: true });
    const pkg = {
      name: 'tfjs-neural-modules-consumers',
      private: true,
      description: 'Generated by test-consumers/run.ts',
      dependencies: {
        'tfjs-neural-modules': `file:${tarball}`,
        '@tensorflow/tfjs': rootPkg.devDependencies['@tensorflow/tfjs'],
        '@types/node': rootPkg.devDependencies['@types/node'],
        webpack: '^5.100.0',
        rollup: '^4.40.0',
        '@rollup/plugin-node-resolve': '^16.0.0',
        '@rollup/plugin-commonjs': '^28.0.0',
      },
    };
    await writeFile(join(APP, 'package.json'), JSON.stringify(pkg, null, 2));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], APP);
    const got = JSON.parse(await readFile(join(APP, 'node_modules/tfjs-neural-modules/package.json'), 'utf8'));
    const tf = JSON.parse(await readFile(join(APP, 'node_modules/@tensorflow/tfjs/package.json'), 'utf8'));
    expect(!existsSync(join(APP, 'node_modules/@tensorflow/tfjs-node')), 'tfjs-node got installed; the file:// checks need it absent');
    return `tfjs-neural-modules ${got.version}, @tensorflow/tfjs ${tf.version}`;
  }));

if (installed) {
  await step('installed package: relative links of its Markdown files resolve, source maps embed no sources', async () => {
    const dir = join(APP, 'node_modules/tfjs-neural-modules');
    const all = (await readdir(dir, { recursive: true })).map((f) => f.split(sep).join('/'));
    const docs = all.filter((f) => f.endsWith('.md'));
    expect(docs.includes('README.md'), `no README.md in the installed package: ${docs.join(', ')}`);
    const { broken, checked } = brokenLinks(dir, docs);
    expect(broken.length === 0, `relative links that do not resolve in the installed package (link to the repository instead):\n${broken.join('\n')}`);
    const maps = all.filter((f) => f.endsWith('.map'));
    const withSources: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(await readFile(join(dir, m), 'utf8')) as { sourcesContent?: (string | null)[] };
      if (map.sourcesContent?.some((c) => c != null)) withSources.push(m);
    }
    expect(withSources.length === 0, `source maps with embedded sources: ${withSources.join(', ')}`);
    return `${docs.length} Markdown files (${docs.join(', ')}), ${checked} relative links, all resolve; ${maps.length} source maps, none embeds its sources`;
  });

  // ------------------------------------------------------------------------ Node
  await step('Node ESM: import (node entry), file:// and nm.io.fileSystem round trips', async () => {
    const r = lastJson(await node(['node-esm.mjs']));
    expect(JSON.stringify(r.roundTrips) === '["file","IOHandler"]', `round trips ${r.roundTrips}`);
    return `loss ${r.lossFirst.toFixed(3)} → ${r.lossLast.toFixed(3)}, shape ${r.shape}, ${r.modules} modules, round trips ${r.roundTrips}`;
  });
  await step('Node CJS: require() (CJS bundle), file:// round trip, kernel threads', async () => {
    const r = lastJson(await node(['node-cjs.cjs']));
    expect(r.roundTrips[0] === 'file', `round trips ${r.roundTrips}`);
    expect(r.threads === 2 && r.threadsSameBits === true, `kernel threads: ${r.threads}, same bits ${r.threadsSameBits}`);
    return `loss ${r.lossFirst.toFixed(3)} → ${r.lossLast.toFixed(3)}, shape ${r.shape}, round trips ${r.roundTrips}, 2 kernel threads give the same bits`;
  });
  await step('Node ESM and CJS: a script that trains on 2 kernel threads, or with no opt-in, and does nothing else exits by itself', async () => {
    const lines: string[] = [];
    // The no-opt-in script gets one thread per core (the suite's own NM_THREADS, if any, is not passed on).
    const env = { ...process.env };
    delete env.NM_THREADS;
    const byDefault = Math.min(64, availableParallelism());
    for (const [script, threads] of [
      ['threads-exit.mjs', 2],
      ['threads-exit.cjs', 2],
      ['defaults-exit.mjs', byDefault],
    ] as const) {
      const t0 = performance.now();
      const { code, out } = await exitOf([script], APP, EXIT_LIMIT_MS, env);
      expect(code !== null, `${script} was still running ${EXIT_LIMIT_MS / 1000} s after it started (killed): the kernel workers keep Node alive\n${out}`);
      expect(code === 0, `${script} exited with code ${code}\n${out}`);
      const r = lastJson(out);
      expect(r.threads === threads, `${script} trained on ${r.threads} threads, expected ${threads}`);
      lines.push(`${script}: ${r.backend}, ${r.threads} threads, exit code 0 after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    return lines.join('; ');
  });
  await step('TypeScript strict, skipLibCheck false: nodenext ESM + .cts, then run; bundler resolution', async () => {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    // tfjs's own declarations have errors under strict + skipLibCheck: false (Long, PyJsonValue,
    // LayersModel vs InferenceModel); those are counted, any error elsewhere fails.
    let tfjsErrors = 0;
    for (const config of ['tsconfig.json', 'tsconfig.bundler.json']) {
      const out = await execFileP(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: APP }).then(
        (r) => r.stdout,
        (e: { stdout?: string }) => e.stdout ?? String(e),
      );
      const errors = out.split('\n').filter((l) => /error TS\d+/.test(l));
      const foreign = errors.filter((l) => l.startsWith('node_modules/@tensorflow/'));
      tfjsErrors += foreign.length;
      const ours = errors.filter((l) => !foreign.includes(l));
      expect(ours.length === 0, `tsc -p ${config}:\n${ours.join('\n')}`);
    }
    const esm = lastJson(await node(['out/ts/main.mjs']));
    const cjs = lastJson(await node(['out/ts/main-cjs.cjs']));
    expect(esm.loss[1] < 0.9 * esm.loss[0], `loss did not decrease enough: ${esm.loss}`);
    return `no type errors in the package's or the consumer's files (2 configs; ${tfjsErrors} in tfjs's own .d.ts); ESM run loss ${esm.loss.map((v: number) => v.toFixed(3)).join(' → ')}, CJS run shape ${cjs.shape}`;
  });

  // ------------------------------------------------------------- browser bundles
  const pages: { name: string; path: string }[] = [];
  const page = async (name: string, dir: string) => {
    await copyFile(join(APP, 'web/page.html'), join(dir, 'index.html'));
    pages.push({ name, path: `out/${name}/index.html?name=${name}` });
  };
  const size = async (f: string) => `${((await stat(f)).size / 1024).toFixed(0)} KiB`;

  await step('esbuild --bundle --platform=browser', async () => {
    const out = join(APP, 'out/esbuild');
    const log = await run(
      join(ROOT, 'node_modules/.bin/esbuild'),
      ['web/main.mjs', '--bundle', '--platform=browser', '--format=esm', `--outfile=${join(out, 'main.js')}`, '--log-level=warning'],
      APP,
    );
    await assertNoNodeBuiltins(out);
    await page('esbuild', out);
    return `main.js ${await size(join(out, 'main.js'))}${log.trim() ? `; esbuild said: ${log.trim().slice(0, 300)}` : ''}`;
  });

  await step('webpack 5, target web (production mode)', async () => {
    const req = createRequire(join(APP, 'package.json'));
    const webpack = req('webpack') as WebpackFn;
    const out = join(APP, 'out/webpack');
    const stats = await new Promise<WebpackStats>((ok, fail) =>
      webpack({ context: APP, mode: 'production', target: 'web', entry: './web/main.mjs', output: { path: out, filename: 'main.js' } }, (err, s) =>
        err || !s ? fail(err) : ok(s),
      ),
    );
    const info = stats.toJson({ all: false, errors: true, warnings: true });
    expect(!stats.hasErrors(), `webpack errors:\n${info.errors?.map((e) => e.message).join('\n')}`);
    // Size hints about tfjs itself are webpack's defaults; anything about this package is a failure.
    const ours = (info.warnings ?? []).filter((w) => OURS.test(`${w.moduleName ?? ''} ${w.moduleIdentifier ?? ''} ${w.message}`));
    expect(ours.length === 0, `webpack warnings about the package:\n${ours.map((w) => w.message).join('\n')}`);
    await assertNoNodeBuiltins(out);
    await page('webpack', out);
    return `main.js ${await size(join(out, 'main.js'))}, ${info.warnings?.length ?? 0} warning(s), none about this package`;
  });

  await step('Rollup (node-resolve browser + commonjs)', async () => {
    const req = createRequire(join(APP, 'package.json'));
    const { rollup } = (await import(pathToFileURL(req.resolve('rollup')).href)) as { rollup: RollupFn };
    const { nodeResolve } = await import(pathToFileURL(req.resolve('@rollup/plugin-node-resolve')).href);
    const commonjs = (await import(pathToFileURL(req.resolve('@rollup/plugin-commonjs')).href)).default;
    const warnings: string[] = [];
    const bundle = await rollup({
      input: join(APP, 'web/main.mjs'),
      plugins: [nodeResolve({ browser: true }), commonjs()],
      onwarn: (w: RollupWarning) => void warnings.push(`${w.code}: ${w.message} ${w.id ?? ''} ${(w.ids ?? []).join(' ')}`),
    });
    const out = join(APP, 'out/rollup');
    await bundle.write({ file: join(out, 'main.js'), format: 'es', inlineDynamicImports: true });
    await bundle.close();
    const ours = warnings.filter((w) => OURS.test(w));
    expect(ours.length === 0, `Rollup warnings about the package:\n${ours.join('\n')}`);
    await assertNoNodeBuiltins(out);
    await page('rollup', out);
    return `main.js ${await size(join(out, 'main.js'))}, ${warnings.length} warning(s) (tfjs's own), none about this package`;
  });

  await step('Vite build (no config)', async () => {
    const logger = createLogger('warn', { allowClearScreen: false });
    const messages: string[] = [];
    logger.warn = (m) => void messages.push(m);
    logger.warnOnce = (m) => void messages.push(m);
    logger.error = (m) => void messages.push(`error: ${m}`);
    const out = join(APP, 'out/vite');
    await viteBuild({
      configFile: false,
      root: join(APP, 'vite'),
      base: './',
      logLevel: 'warn',
      customLogger: logger,
      build: { outDir: out, emptyOutDir: true, chunkSizeWarningLimit: 1 << 20 },
    });
    const ours = messages.filter((m) => OURS.test(m) || m.startsWith('error'));
    expect(ours.length === 0, `Vite messages:\n${ours.join('\n')}`);
    await assertNoNodeBuiltins(out);
    pages.push({ name: 'vite', path: 'out/vite/index.html?name=vite' });
    return `${(await readdir(join(out, 'assets'))).length} asset(s), ${messages.length} warning(s)`;
  });

  await step('script-tag build: size and globals', async () => {
    const iife = join(APP, 'node_modules/tfjs-neural-modules/dist/tfjs-neural-modules.min.js');
    const s = (await stat(iife)).size;
    // tfjs itself is megabytes; the plugin alone is far smaller (tfjs comes from the global `tf`).
    expect(s < 400 * 1024, `the IIFE is ${s} bytes: does it bundle tfjs?`);
    const pkg = JSON.parse(await readFile(join(APP, 'node_modules/tfjs-neural-modules/package.json'), 'utf8'));
    expect(pkg.unpkg === 'dist/tfjs-neural-modules.min.js' && pkg.jsdelivr === pkg.unpkg, 'unpkg/jsdelivr fields');
    const code = await readFile(iife, 'utf8');
    expect(!NODE_IMPORT.test(withoutComments(code)), 'the IIFE imports a node: module');
    pages.push({ name: 'script-tag', path: 'script-tag.html' });
    return `${(s / 1024).toFixed(0)} KiB minified; unpkg/jsdelivr → ${pkg.unpkg}`;
  });

  // ---------------------------------------------------------------- in Chromium
  await step(`Chromium: ${pages.map((p) => p.name).join(', ')}`, async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    const server = await serveStatic(APP);
    const { context, profile } = await launchChromium('nm-consumers-chromium-');
    const lines: string[] = [];
    const failures: string[] = [];
    try {
      for (const p of pages) {
        const tab = await context.newPage();
        const log: string[] = [];
        tab.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
        tab.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
        const t0 = performance.now();
        try {
          await tab.goto(`${server.url}${p.path}`);
          await tab.waitForFunction(
            () => (window as unknown as Record<string, unknown>).__result != null || (window as unknown as Record<string, unknown>).__error != null,
            undefined,
            { timeout: 90_000, polling: 200 },
          );
          interface PageResult {
            roundTrips: string[];
            fileSystemInBrowser: string;
            useBest: string;
            lossFirst: number;
            lossLast: number;
            shape: number[];
          }
          const { result, error } = await tab.evaluate(() => {
            const w = window as unknown as { __result?: PageResult; __error?: string };
            return { result: w.__result as PageResult, error: w.__error };
          });
          if (error) throw new Error(error);
          expect(JSON.stringify(result.roundTrips) === '["localstorage","indexeddb"]', `round trips ${result.roundTrips}`);
          expect(result.fileSystemInBrowser === 'ConfigError', `nm.io.fileSystem in the browser: ${result.fileSystemInBrowser}`);
          lines.push(
            `${p.name}: loss ${result.lossFirst.toFixed(3)} → ${result.lossLast.toFixed(3)}, shape ${result.shape}, ` +
              `${result.roundTrips.join('+')} identical, useBest → ${result.useBest}, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
          );
        } catch (e) {
          failures.push(`${p.name}: ${(e as Error).message}\n${log.join('\n')}`);
        } finally {
          await tab.close();
        }
      }
    } finally {
      await context.close();
      await server.close();
      await rm(profile, { recursive: true, force: true });
    }
    expect(failures.length === 0, failures.join('\n\n'));
    return lines.join('; ');
  });
}

const total = (performance.now() - t00) / 1000;
const failed = results.filter((r) => !r.ok);
console.log(`\ntest:consumers: ${results.length - failed.length}/${results.length} steps passed in ${total.toFixed(0)} s (fixture in ${APP})`);
if (failed.length > 0 || !installed) process.exit(1);
