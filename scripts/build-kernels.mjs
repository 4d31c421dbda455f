// Compiles the WebAssembly text kernels (SIMD) with the `wabt` dev dependency and
// writes each binary, base64-encoded, to a TypeScript module, so the runtime needs
// no wabt and no file I/O:
//   src/kernels/sparse.wat -> src/kernels/sparse_wasm_bytes.ts (SPARSE_WASM_BASE64)
//   src/kernels/gemm.wat   -> src/kernels/gemm_wasm_bytes.ts   (GEMM_WASM_BASE64)
//
// Usage: npm run build:kernels   (node scripts/build-kernels.mjs)
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const here = (rel) => fileURLToPath(new URL(rel, import.meta.url));
/** Browsers refuse synchronous `new WebAssembly.Module` on the main thread above 4 KB. */
const MAX_BYTES = 4096;

const wabt = await initWabt();

/** Compiles the .wat file at `path` (SIMD enabled) and returns the validated binary. */
async function compile(path) {
  const name = path.split('/').pop();
  const source = await readFile(path, 'utf8');
  const features = { simd: true };
  const mod = wabt.parseWat(name, source, features);
  let bytes;
  try {
    mod.resolveNames();
    mod.validate();
    bytes = mod.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    mod.destroy();
  }
  if (!WebAssembly.validate(bytes)) throw new Error(`build-kernels: this Node rejects the compiled ${name} (no WebAssembly SIMD?)`);
  if (bytes.length >= MAX_BYTES) {
    throw new Error(`build-kernels: ${name} is ${bytes.length} bytes; keep it under ${MAX_BYTES} for synchronous compile in browsers.`);
  }
  return bytes;
}

/** Compiles src/kernels/<stem>.wat into src/kernels/<stem>_wasm_bytes.ts, exporting `constName`. */
async function build(stem, constName) {
  const bytes = await compile(here(`../src/kernels/${stem}.wat`));
  const outPath = here(`../src/kernels/${stem}_wasm_bytes.ts`);
  const base64 = Buffer.from(bytes).toString('base64');
  const lines = base64.match(/.{1,100}/g) ?? [''];
  const ts = `// GENERATED FILE, do not edit. Compiled from src/kernels/${stem}.wat (${bytes.length} bytes,
// WebAssembly SIMD) by scripts/build-kernels.mjs. Regenerate with: npm run build:kernels

/** The compiled src/kernels/${stem}.wat module, base64-encoded (${bytes.length} bytes). */
export const ${constName} =
${lines.map((l, i) => `  '${l}'${i === lines.length - 1 ? ';' : ' +'}`).join('\n')}
`;
  await writeFile(outPath, ts);
  console.log(`build-kernels: wrote ${outPath} (${bytes.length} bytes of wasm)`);
}

await build('sparse', 'SPARSE_WASM_BASE64');
await build('gemm', 'GEMM_WASM_BASE64');
