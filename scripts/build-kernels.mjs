// Compiles src/kernels/sparse.wat (WebAssembly text, SIMD) with the `wabt` dev
// dependency and writes the binary, base64-encoded, to
// src/kernels/sparse_wasm_bytes.ts, so the runtime needs no wabt and no file I/O.
//
// Usage: npm run build:kernels   (node scripts/build-kernels.mjs)
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const here = (rel) => fileURLToPath(new URL(rel, import.meta.url));
const watPath = here('../src/kernels/sparse.wat');
const outPath = here('../src/kernels/sparse_wasm_bytes.ts');
/** Browsers refuse synchronous `new WebAssembly.Module` on the main thread above 4 KB. */
const MAX_BYTES = 4096;

const wabt = await initWabt();
const source = await readFile(watPath, 'utf8');
const features = { simd: true };
const mod = wabt.parseWat('sparse.wat', source, features);
let bytes;
try {
  mod.resolveNames();
  mod.validate();
  bytes = mod.toBinary({ log: false, write_debug_names: false }).buffer;
} finally {
  mod.destroy();
}
if (!WebAssembly.validate(bytes)) throw new Error('build-kernels: this Node rejects the compiled module (no WebAssembly SIMD?)');
if (bytes.length >= MAX_BYTES) {
  throw new Error(`build-kernels: module is ${bytes.length} bytes; keep it under ${MAX_BYTES} for synchronous compile in browsers.`);
}
const base64 = Buffer.from(bytes).toString('base64');
const lines = base64.match(/.{1,100}/g) ?? [''];
const ts = `// GENERATED FILE, do not edit. Compiled from src/kernels/sparse.wat (${bytes.length} bytes,
// WebAssembly SIMD) by scripts/build-kernels.mjs. Regenerate with: npm run build:kernels

/** The compiled src/kernels/sparse.wat module, base64-encoded (${bytes.length} bytes). */
export const SPARSE_WASM_BASE64 =
${lines.map((l, i) => `  '${l}'${i === lines.length - 1 ? ';' : ' +'}`).join('\n')}
`;
await writeFile(outPath, ts);
console.log(`build-kernels: wrote ${outPath} (${bytes.length} bytes of wasm)`);
