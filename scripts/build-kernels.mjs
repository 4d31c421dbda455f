// Compiles the WebAssembly text kernels (SIMD) with the `wabt` dev dependency and
// writes each binary, base64-encoded, to a TypeScript module, so the runtime needs
// no wabt and no file I/O:
//   src/kernels/sparse.wat + sparse_elementwise.wat -> src/kernels/sparse_wasm_bytes.ts (SPARSE_WASM_BASE64, SPARSE_FMA_WASM_BASE64, …)
//   src/kernels/gemm.wat + gemm_pointwise.wat -> src/kernels/gemm_wasm_bytes.ts   (GEMM_WASM_BASE64, GEMM_FMA_WASM_BASE64, …)
// (a module written over several files is put together by scripts/kernel_source.mjs).
// Four modules from each text:
// - the module itself (f32 products rounded, then summed: "mul+add"), over an ordinary
//   imported memory, and the same over a `shared` memory (WebAssembly threads), which the
//   kernel threads of src/kernels/threads/ instantiate in every worker;
// - its fused multiply-add ("FMA") variant, both memories: only the products of
//   FMA_EXPORTS, every multiply-add rewritten to `f32x4.relaxed_madd` (WebAssembly relaxed
//   SIMD) by scripts/wat_fma.mjs. The runtime instantiates it after the mul+add module, so
//   its exports replace those of the same name (src/kernels/kernel_variant.ts).
//
// Usage: npm run build:kernels   (node scripts/build-kernels.mjs)
//        node scripts/build-kernels.mjs --check   (exit 1 when a generated file is stale)
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';
import { KERNEL_FILES, MEMORY_IMPORT, kernelSource } from './kernel_source.mjs';
import { fmaVariant } from './wat_fma.mjs';

const here = (rel) => fileURLToPath(new URL(rel, import.meta.url));
/** Browsers refuse synchronous `new WebAssembly.Module` on the main thread above 4 KB. */
const MAX_BYTES = 4096;
/** The shared variant: a maximum is required; 65536 pages = the whole wasm32 space. */
const SHARED_IMPORT = '(import "env" "memory" (memory 1 65536 shared))';
/** The exports each text's FMA variant holds: the products of the forward solve and the gradient. */
const FMA_EXPORTS = { sparse: ['spmm', 'axpyRows'], gemm: ['packV', 'gemmNT'] };
const check = process.argv.includes('--check');

const wabt = await initWabt();
/** `f32x4.relaxed_madd` in the smallest module (as src/kernels/relaxed_simd.ts assembles it): does this Node have relaxed SIMD? */
const thisNodeHasRelaxedSimd = (() => {
  const mod = wabt.parseWat(
    'probe.wat',
    '(module (func (drop (f32x4.relaxed_madd (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0)))))',
    {
      simd: true,
      relaxed_simd: true,
    },
  );
  try {
    return WebAssembly.validate(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
})();

/** Compiles WebAssembly text; checks that this Node accepts it (relaxed SIMD: when it can) and that it stays under MAX_BYTES. */
function compile(name, source, features) {
  const mod = wabt.parseWat(name, source, features);
  let bytes;
  try {
    mod.resolveNames();
    mod.validate(features);
    bytes = mod.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    mod.destroy();
  }
  if ((!features.relaxed_simd || thisNodeHasRelaxedSimd) && !WebAssembly.validate(bytes)) {
    throw new Error(`build-kernels: this Node rejects ${name} (no WebAssembly SIMD, threads or relaxed SIMD?)`);
  }
  if (bytes.length >= MAX_BYTES) {
    throw new Error(`build-kernels: ${name} is ${bytes.length} bytes; keep it under ${MAX_BYTES} for synchronous compile in browsers.`);
  }
  return bytes;
}

/** `export const NAME = '...' + ...;` with a doc comment. */
function base64Const(name, doc, bytes) {
  const lines = (
    Buffer.from(bytes)
      .toString('base64')
      .match(/.{1,100}/g) ?? ['']
  ).map((l) => `  '${l}'`);
  return `/** ${doc} (${bytes.length} bytes). */\nexport const ${name} =\n${lines.join(' +\n')};\n`;
}

/** The module over an ordinary memory and over a shared one. */
function bothMemories(name, source, features) {
  return [compile(name, source, features), compile(`${name} (shared memory)`, source.replace(MEMORY_IMPORT, SHARED_IMPORT), { ...features, threads: true })];
}

/** Compiles kernel module <stem> (its .wat files), all four modules, into the text of src/kernels/<stem>_wasm_bytes.ts, exporting `<prefix>_WASM_BASE64` and its variants. */
async function build(stem, prefix) {
  const source = kernelSource(stem);
  const [plain, shared] = bothMemories(`${stem}.wat`, source, { simd: true });
  const fma = fmaVariant(source, FMA_EXPORTS[stem]);
  const [fmaPlain, fmaShared] = bothMemories(`${stem}.wat (FMA)`, fma.text, { simd: true, relaxed_simd: true });
  const fusedList = Object.entries(fma.fused)
    .map(([f, n]) => `${f} ${n}`)
    .join(', ');
  const from = KERNEL_FILES[stem].map((f) => `src/kernels/${f}`).join(' + ');
  const ts = `// GENERATED FILE, do not edit. Compiled from ${from} (${plain.length} bytes,
// WebAssembly SIMD; its FMA variant ${fmaPlain.length} bytes, relaxed SIMD) by scripts/build-kernels.mjs.
// Regenerate with: npm run build:kernels

${base64Const(`${prefix}_WASM_BASE64`, `The compiled src/kernels/${stem}.wat module, base64-encoded`, plain)}
${base64Const(`${prefix}_WASM_SHARED_BASE64`, 'The same module over a shared imported memory (`(memory 1 65536 shared)`, WebAssembly threads), base64-encoded', shared)}
${base64Const(
  `${prefix}_FMA_WASM_BASE64`,
  `The fused multiply-add variant of ${FMA_EXPORTS[stem].join(', ')} (scripts/wat_fma.mjs: f32x4.relaxed_madd; multiply-adds fused per function: ${fusedList}), base64-encoded`,
  fmaPlain,
)}
${base64Const(`${prefix}_FMA_WASM_SHARED_BASE64`, 'The same FMA module over a shared imported memory, base64-encoded', fmaShared)}`;
  const outPath = here(`../src/kernels/${stem}_wasm_bytes.ts`);
  if (check) {
    const current = await readFile(outPath, 'utf8').catch(() => '');
    if (current !== ts) {
      console.error(`build-kernels --check: ${outPath} is not what ${from} compiles to; run npm run build:kernels.`);
      process.exitCode = 1;
    }
    return;
  }
  await writeFile(outPath, ts);
  console.log(
    `build-kernels: wrote ${outPath} (${plain.length} bytes of wasm, shared-memory ${shared.length}; ` +
      `FMA variant ${fmaPlain.length}, shared ${fmaShared.length}; fused ${fusedList})` +
      (thisNodeHasRelaxedSimd ? '' : ' (this Node has no relaxed SIMD: the FMA modules were validated by wabt only)'),
  );
}

await build('sparse', 'SPARSE');
await build('gemm', 'GEMM');
