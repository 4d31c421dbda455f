// The WebAssembly text of each kernel module, as scripts/build-kernels.mjs compiles it.
//
// A module may be written over several .wat files to keep each file short: the first
// file is the module, every further file a module of its own (it parses and validates
// alone) whose body, everything after its memory import, is spliced in before the first
// module's closing parenthesis. wabt ignores comments and layout, so the binary equals
// that of one file holding the functions in the same order.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The memory import of every kernel module, exactly as the .wat files write it. */
export const MEMORY_IMPORT = '(import "env" "memory" (memory 1))';

/** The files of each kernel module, in order (paths relative to src/kernels/). */
export const KERNEL_FILES = {
  sparse: ['sparse.wat', 'sparse_elementwise.wat'],
  gemm: ['gemm.wat', 'gemm_pointwise.wat'],
};

const read = (file) => readFileSync(fileURLToPath(new URL(`../src/kernels/${file}`, import.meta.url)), 'utf8');

/** Everything between a module's memory import and its closing parenthesis. */
function body(file, text) {
  const parts = text.split(MEMORY_IMPORT);
  const close = parts[1]?.lastIndexOf(')') ?? -1;
  if (parts.length !== 2 || close < 0) throw new Error(`kernel_source: ${file} must be one module that imports its memory once, as ${MEMORY_IMPORT}`);
  return { before: parts[0], inside: parts[1].slice(0, close), after: parts[1].slice(close) };
}

/**
 * The text of kernel module `stem` ('sparse' or 'gemm'): its first file with the bodies
 * of the others spliced in before the closing parenthesis.
 */
export function kernelSource(stem) {
  const files = KERNEL_FILES[stem];
  if (!files) throw new Error(`kernel_source: unknown kernel module '${stem}'; expected one of ${Object.keys(KERNEL_FILES).join(', ')}`);
  const [first, ...rest] = files;
  const main = body(first, read(first));
  const spliced = rest.map((f) => `\n  ;; ---- from ${f}\n${body(f, read(f)).inside.replace(/^\n+/, '')}`).join('');
  return `${main.before}${MEMORY_IMPORT}${main.inside.replace(/\s*$/, '\n')}${spliced}${main.after}`;
}
