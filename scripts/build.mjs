// `npm run build`: everything the npm package ships, into dist/ (cleared first).
//
//   dist/src/**            ESM (tsc) + .d.ts, no source maps (the package does not ship src/**/*.ts).
//                          src/index.js  browser/default entry (no `node:` module reachable)
//                          src/node.js   Node entry (fs/path/zlib services, file:// router)
//   dist/cjs/index.cjs     CommonJS bundle of the browser entry (for `require` in web bundles; tfjs external)
//   dist/cjs/node.cjs      CommonJS Node entry: the Node services, then index.cjs's exports
//   dist/cjs/types/**      the .d.ts tree as .d.cts, for TypeScript under the `require` condition
//   dist/tfjs-neural-modules.min.js   script-tag bundle (IIFE): uses the page's global `tf`,
//                          defines the globals `nm` and `tfjsNeuralModules`
//
// Usage: node scripts/build.mjs
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
const banner = `/*! ${pkg.name} ${pkg.version} | ${pkg.license} | ${pkg.repository?.url ?? ''} */`;

async function* walk(dir) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

const t0 = performance.now();
await rm(DIST, { recursive: true, force: true });

// 1. ESM + declarations (tsc), without source maps (tsconfig.build.json): a map could
//    only point at src/**/*.ts, which the package does not ship, and the ESM files are
//    tsc's readable output, one per source file, so stack traces name a readable file and
//    line anyway. The CommonJS bundles and the minified script-tag bundle have none either.
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
  cwd: ROOT,
  stdio: 'inherit',
});

// 2. CommonJS bundles: one file per entry, tfjs packages stay `require`d (peer dependencies).
//    Whitespace is minified (identifiers are kept, so stack traces still name functions):
//    the two bundles are the largest part of the packed tarball.
const tfjsExternal = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-core/*', '@tensorflow/tfjs-layers/*'];
const common = { bundle: true, target: 'es2022', legalComments: 'none', banner: { js: banner }, logLevel: 'warning' };
await esbuild.build({
  ...common,
  entryPoints: [join(ROOT, 'src/index.ts')],
  outfile: join(DIST, 'cjs/index.cjs'),
  format: 'cjs',
  platform: 'browser',
  minifyWhitespace: true,
  external: [...tfjsExternal, '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-wasm'],
  sourcemap: false,
});
// The Node bundle is src/node.ts over the browser bundle, not a second copy of it: the
// Node services (src/platform/node_host.ts, which installs them in a global slot) are
// bundled, then index.cjs is required, the file:// router registered and its exports
// handed on as they are (one set of classes whichever entry a program reaches).
// src/node.ts must stay what this mirrors; any other statement there fails the build.
const nodeEntry = (await readFile(join(ROOT, 'src/node.ts'), 'utf8'))
  .replace(/\/\*[\s\S]*?\*\//g, '')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('//'));
const mirrored = [
  "import './platform/node_host.js';",
  "import { registerFileRouter } from './io/file_router.js';",
  'registerFileRouter();',
  "export * from './index.js';",
];
if (JSON.stringify(nodeEntry) !== JSON.stringify(mirrored)) {
  throw new Error(`src/node.ts changed: the CommonJS Node entry (scripts/build.mjs) mirrors exactly ${JSON.stringify(mirrored)}; update both.`);
}
const browserBundle = {
  name: 'browser-bundle',
  setup(build) {
    build.onResolve({ filter: /^\.\/index\.cjs$/ }, () => ({ path: './index.cjs', external: true }));
  },
};
await esbuild.build({
  ...common,
  stdin: {
    contents: "require('./src/platform/node_host.ts');\n" + "const nm = require('./index.cjs');\n" + 'nm.io.registerFileRouter();\n' + 'module.exports = nm;\n',
    resolveDir: ROOT,
    sourcefile: 'src/node.ts',
    loader: 'js',
  },
  outfile: join(DIST, 'cjs/node.cjs'),
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  external: [...tfjsExternal, '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-wasm'],
  plugins: [browserBundle],
  sourcemap: false,
});

// 3. Script tag: tfjs-core and tfjs-layers imports read the page's global `tf`
//    (tf.min.js defines it and re-exports both packages).
const globalTf = {
  name: 'global-tf',
  setup(build) {
    build.onResolve({ filter: /^@tensorflow\/tfjs-(core|layers)$/ }, (args) => ({ path: args.path, namespace: 'global-tf' }));
    build.onLoad({ filter: /.*/, namespace: 'global-tf' }, (args) => ({
      contents:
        `if (typeof globalThis.tf !== 'object' || globalThis.tf === null) throw new Error(` +
        `${JSON.stringify(`tfjs-neural-modules: the global \`tf\` is missing; load tf.min.js (@tensorflow/tfjs) before this script (needed for ${args.path}).`)});\n` +
        `module.exports = globalThis.tf;`,
      loader: 'js',
    }));
  },
};
await esbuild.build({
  ...common,
  entryPoints: [join(ROOT, 'src/index.ts')],
  outfile: join(DIST, 'tfjs-neural-modules.min.js'),
  format: 'iife',
  globalName: 'nm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  sourcemap: false,
  // Optional backends the Node selector imports by name at run time are not bundled.
  external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-wasm'],
  plugins: [globalTf],
  footer: { js: 'globalThis.tfjsNeuralModules = nm;' },
});

// 4. Inferred types that TypeScript prints as tfjs dist/ paths (the source cannot name
//    them: tfjs does not export them), rewritten to the same types reached through
//    tfjs's public entry. Any other dist/ path fails the build below.
const PUBLIC_EQUIVALENTS = [
  ['import("@tensorflow/tfjs-layers/dist/engine/topology").DisposeResult', 'ReturnType<import("@tensorflow/tfjs-layers").layers.Layer["dispose"]>'],
];
for await (const file of walk(join(DIST, 'src'))) {
  if (!file.endsWith('.d.ts')) continue;
  const text = await readFile(file, 'utf8');
  let out = text;
  for (const [from, to] of PUBLIC_EQUIVALENTS) out = out.split(from).join(to);
  if (out !== text) await writeFile(file, out);
}

// 5. Declarations for the `require` condition: the .d.ts tree as .d.cts, relative
//    specifiers './x.js' → './x.cjs' (which TypeScript maps to './x.d.cts').
const typesOut = join(DIST, 'cjs/types');
let declarations = 0;
for await (const file of walk(join(DIST, 'src'))) {
  if (!file.endsWith('.d.ts')) continue;
  const text = (await readFile(file, 'utf8')).replace(
    /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+?)\.js(['"])/g,
    (_, pre, spec, post) => `${pre}${spec}.cjs${post}`,
  );
  const out = join(typesOut, relative(join(DIST, 'src'), file)).replace(/\.d\.ts$/, '.d.cts');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, text);
  declarations++;
}

// The deep-import guard: no emitted declaration may name tfjs's internal dist/ paths.
for await (const file of walk(DIST)) {
  if (!/\.d\.c?ts$/.test(file)) continue;
  const text = await readFile(file, 'utf8');
  if (/['"]@tensorflow\/tfjs-[a-z-]+\/dist/.test(text)) throw new Error(`${relative(ROOT, file)} imports a tfjs dist/ path`);
}
console.log(`build: dist/ (ESM, CJS, IIFE, ${declarations} .d.ts + .d.cts) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
