// Compiles the WebAssembly text kernels (SIMD) with the `wabt` dev dependency and
// writes each binary, base64-encoded, to a TypeScript module, so the runtime needs
// no wabt and no file I/O:
//   src/kernels/sparse.wat -> src/kernels/sparse_wasm_bytes.ts (SPARSE_WASM_BASE64, SPARSE_WASM_SHARED_BASE64)
//   src/kernels/gemm.wat   -> src/kernels/gemm_wasm_bytes.ts   (GEMM_WASM_BASE64, GEMM_WASM_SHARED_BASE64)
// Two variants of each text: the module over an ordinary imported memory, and one
// over a `shared` memory (WebAssembly threads), which the kernel threads of
// src/kernels/threads/ instantiate in every worker.
//
// Usage: npm run build:kernels   (node scripts/build-kernels.mjs)
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const here = (rel) => fileURLToPath(new URL(rel, import.meta.url));
/** Browsers refuse synchronous `new WebAssembly.Module` on the main thread above 4 KB. */
const MAX_BYTES = 4096;
/** The memory import of every kernel module, exactly as the .wat files write it. */
const MEMORY_IMPORT = '(import "env" "memory" (memory 1))';
/** The shared variant: a maximum is required; 65536 pages = the whole wasm32 space. */
const SHARED_IMPORT = '(import "env" "memory" (memory 1 65536 shared))';

const wabt = await initWabt();

/** Compiles WebAssembly text; checks that this Node accepts it and that it stays under MAX_BYTES. */
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
  if (!WebAssembly.validate(bytes)) throw new Error(`build-kernels: this Node rejects ${name} (no WebAssembly SIMD or threads?)`);
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

/** Compiles src/kernels/<stem>.wat, both variants, into src/kernels/<stem>_wasm_bytes.ts, exporting `constName` and `${constName}` with `_SHARED`. */
async function build(stem, constName) {
  const source = await readFile(here(`../src/kernels/${stem}.wat`), 'utf8');
  if (source.split(MEMORY_IMPORT).length !== 2) throw new Error(`build-kernels: ${stem}.wat must import its memory once, as ${MEMORY_IMPORT}`);
  const plain = compile(`${stem}.wat`, source, { simd: true });
  const shared = compile(`${stem}.wat (shared memory)`, source.replace(MEMORY_IMPORT, SHARED_IMPORT), { simd: true, threads: true });
  const sharedName = constName.replace(/_BASE64$/, '_SHARED_BASE64');
  const outPath = here(`../src/kernels/${stem}_wasm_bytes.ts`);
  const ts = `// GENERATED FILE, do not edit. Compiled from src/kernels/${stem}.wat (${plain.length} bytes,
// WebAssembly SIMD) by scripts/build-kernels.mjs. Regenerate with: npm run build:kernels

${base64Const(constName, `The compiled src/kernels/${stem}.wat module, base64-encoded`, plain)}
${base64Const(sharedName, 'The same module over a shared imported memory (`(memory 1 65536 shared)`, WebAssembly threads), base64-encoded', shared)}`;
  await writeFile(outPath, ts);
  console.log(`build-kernels: wrote ${outPath} (${plain.length} bytes of wasm; shared-memory variant ${shared.length} bytes)`);
}

await build('sparse', 'SPARSE_WASM_BASE64');
await build('gemm', 'GEMM_WASM_BASE64');
