/**
 * The package's WebAssembly kernels instantiated over tfjs-backend-wasm's own memory,
 * so that they can work on tensors where they are: no copy in, no upload out. Used
 * by `nm.optimizers.adam` and `nm.optimizers.sgd` to update weights and their state in place,
 * and by the dense graph gradient, whose GEMM writes its rows into the gradient tensor.
 *
 * Caveats: reads tfjs-backend-wasm internals (its memory, each tensor's heap offset and
 * reference count) through tfjs_internals/host_view.ts, checked before use; null when
 * they are missing. Writing in place is only done to tensors whose data no other
 * tensor shares ({@link ownExclusively}) and that no kernel has cached.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, uninitializedTensor, wasmMemory, wasmRecord } from '../tfjs_internals/host_view.js';
import type { SparseExports } from '../kernels/wasm_kernels.js';
import { sparseWasmBytes, wasmSimdSupported } from '../kernels/wasm_kernels.js';
import { createGemmKernel, gemmWasmBytes, type GemmKernel } from '../kernels/gemm.js';
import type { KernelVariant } from '../kernels/kernel_variant.js';

/**
 * `make(memory)` over the active wasm backend's memory, instantiated once per backend
 * instance and kept in `cache`; null on another backend, without WebAssembly SIMD, when
 * the internals are not found or when `make` throws or returns null.
 */
function overHeap<T>(cache: WeakMap<object, T | null>, make: (memory: WebAssembly.Memory) => T | null): T | null {
  if (tf.getBackend() !== 'wasm' || !wasmSimdSupported()) return null;
  const backend = tf.backend();
  if (cache.has(backend)) return cache.get(backend)!;
  let out: T | null = null;
  const memory = wasmMemory(backend);
  if (memory !== null) {
    try {
      out = make(memory);
    } catch {
      out = null;
    }
  }
  cache.set(backend, out);
  return out;
}

const sparseCache = new WeakMap<object, SparseExports | null>();
/** One cache per arithmetic: the caller's rows must come from the variant its kernel threads run. */
const gemmCache: Record<KernelVariant, WeakMap<object, GemmKernel | null>> = { fma: new WeakMap(), muladd: new WeakMap() };

/**
 * The kernels over the active wasm backend's memory, or null (another backend, no
 * WebAssembly SIMD, or internals not found). Instantiated once per backend instance.
 *
 * @example
 * const k = heapKernels();
 * if (k) k.adamUpdate(heapOffset(w)!, heapOffset(g)!, ...);
 */
export function heapKernels(): SparseExports | null {
  return overHeap(sparseCache, (memory) => {
    const module = new WebAssembly.Module(sparseWasmBytes('plain'));
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SparseExports;
    return typeof exports.adamUpdate === 'function' ? exports : null;
  });
}

/**
 * The GEMM kernel (src/kernels/gemm.wat) of arithmetic `variant` over the active wasm
 * backend's memory, or null (as {@link heapKernels}; also null for 'fma' without relaxed
 * SIMD): the dense graph gradient is computed straight into a new tensor's memory instead
 * of being uploaded. Pass the variant of the kernels that compute the other rows
 * (`kernels.variant`), so every row of G has the same arithmetic.
 *
 * @example
 * const k = heapGemm(kernels.variant);
 * if (k) k.gemmNT(h, vp, 0, p, p, B, heapOffset(out)!, p);
 */
export function heapGemm(variant: KernelVariant): GemmKernel | null {
  return overHeap(gemmCache[variant], (memory) => createGemmKernel(memory, variant));
}

/** The gather export of the gemm module (src/kernels/gemm_pointwise.wat): `out[i] = src[idx[i]]`, i < n, byte offsets. */
export type HeapGather = (src: number, idx: number, n: number, out: number) => void;

const gatherCache = new WeakMap<object, HeapGather | null>();

/**
 * The kernels' gather over the active wasm backend's memory, or null (as
 * {@link heapKernels}): the host engine reads the kept weights out of the graph tensor
 * where it is, in one WebAssembly loop (about half the time of the JS loop on a cold 36 MB
 * weight at p = 3000). Unchecked: the caller passes valid offsets and indices.
 *
 * @example
 * heapGather()?.(heapOffset(w)!, heapOffsetInt32(index)!, n, heapOffset(out)!);
 */
export function heapGather(): HeapGather | null {
  return overHeap(gatherCache, (memory) => {
    const exports = new WebAssembly.Instance(new WebAssembly.Module(gemmWasmBytes()), { env: { memory } }).exports;
    return typeof exports.gather === 'function' ? (exports.gather as HeapGather) : null;
  });
}

/**
 * Makes variable `v` the only holder of its data (copying it once, with `v·1`, if a
 * clone or the tensor it was created from still shares it), so it can be written in
 * place; returns false when the backend's bookkeeping is not readable.
 * Caveat: only for tensors that no kernel caches by id: tfjs-wasm's matMul keeps
 * XNNPACK operators with pre-packed weights per tensor id, so never write a weight
 * that a matMul has used in place.
 *
 * @example
 * if (ownExclusively(w)) kernels.adamUpdate(heapOffset(w)!, ...);
 */
export function ownExclusively(v: tf.Variable): boolean {
  const refs = wasmRecord(v)?.refCount;
  if (typeof refs !== 'number') return false;
  if (refs > 1) tf.tidy(() => v.assign(tf.mul(v, 1)));
  return wasmRecord(v)?.refCount === 1;
}

/**
 * One optimizer step in the wasm backend's memory: `run(w, g, state, out)` gets the byte
 * offsets of variable `value`, its gradient, its `state` variables (made exclusive, to be
 * updated in place) and a fresh tensor for the new weights, which `value` then takes:
 * tfjs-wasm caches XNNPACK operators with pre-packed weights per tensor, so a weight
 * tensor must never change under the same id. Returns false, having changed nothing,
 * when the backend's bookkeeping is unreadable (the caller then runs tfjs' ops).
 *
 * @example
 * const done = stepInHeap(w, grad, [m, v], (wp, gp, [mp, vp], out) => heap.adamUpdate(wp, gp, mp, vp, n, ..., out));
 */
export function stepInHeap(
  value: tf.Variable,
  grad: tf.Tensor,
  state: tf.Variable[],
  run: (w: number, g: number, state: number[], out: number) => void,
): boolean {
  if (!state.every(ownExclusively)) return false;
  const next = uninitializedTensor(value.shape);
  const offsets = [value, grad, next, ...state].map(heapOffset);
  if (offsets.some((o) => o === null)) {
    next.dispose();
    return false;
  }
  const [w, g, out, ...s] = offsets as number[];
  run(w, g, s, out);
  value.assign(next);
  next.dispose();
  return true;
}
