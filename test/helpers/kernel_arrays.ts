/**
 * Data and checks shared by the kernel tests (test/kernels_*.test.ts): seeded arrays,
 * copies into a kernel arena, bit-for-bit comparison, the implementations under test and
 * sentinel-guarded arena arrays for the element-wise kernels.
 */
import { arenaBytes, createJsKernels, createWasmKernels, wasmSimdSupported, type SparseKernels } from '../../src/kernels/index.js';

/** `n` seeded floats in [-1, 1). */
export function randomF32(r: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

/** Copies `src` into a fresh arena array of the same kind. */
export function f32In(k: SparseKernels, src: Float32Array): Float32Array {
  const a = k.arena.f32(src.length);
  a.set(src);
  return a;
}

/** Same length and Object.is-equal elements: NaN matches NaN, 0 does not match -0. */
export function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** The JS twins and the wasm kernels in their mul+add variant (bit-identical to the twins). */
export const impls: SparseKernels[] = [createJsKernels(), ...(wasmSimdSupported() ? [createWasmKernels({ variant: 'muladd' })] : [])];

/** Lengths that exercise the 4-wide loops and the n % 4 tails. */
export const ewLengths = [0, 1, 2, 3, 4, 5, 7, 8, 130, 1001];
/** Sentinel written just past every output, to catch tails that write too far. */
const SENTINEL = -12345.5;

/** Arena arrays of length n followed by 4 sentinel floats; returns the length-n views. */
export function ewArrays(k: SparseKernels, n: number, count: number): Float32Array[] {
  k.arena.reset(arenaBytes(new Array<number>(count).fill(n + 4)));
  return Array.from({ length: count }, () => {
    const a = k.arena.f32(n + 4);
    a.fill(SENTINEL, n);
    return a.subarray(0, n);
  });
}
/** The 4 floats past `a` (an `ewArrays` view) still hold the sentinel. */
export function sentinelsIntact(a: Float32Array): boolean {
  const tail = new Float32Array(a.buffer, a.byteOffset + a.length * 4, 4);
  return tail.every((v) => v === SENTINEL);
}
