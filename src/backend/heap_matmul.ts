/**
 * Plain float32 matrix products of the wasm backend by the package's GEMM kernel
 * (src/kernels/gemm.wat) over tfjs-backend-wasm's own memory, for
 * {@link fastTransposedMatMul}: operands and result stay where tfjs keeps them.
 *
 * Why: tfjs-wasm runs each `BatchMatMul` through an XNNPACK operator that it creates and
 * caches per right-hand tensor, packing that tensor's values first. In training every
 * right-hand side is new (activations, gradients, freshly updated weights), so every product
 * pays for creating and packing an operator, and products with a short side (a layer of 16
 * inputs, a readout of 26 classes) run far below the machine's rate. The GEMM kernel packs
 * the right operand in one pass and runs at its own rate.
 *
 * Caveats: rank-2 operands, or rank ≥ 3 whose batch dimensions are all 1; float32; at least
 * {@link HEAP_MATMUL_MIN_WORK} multiply-adds (below that tfjs' kernel is as fast); a
 * transposed left operand, or an untransposed right one, is transposed first with the
 * backend's Transpose kernel. The sums run over the inner dimension in order, one rounding
 * per term (the kernels' arithmetic, {@link kernelVariant}): the same products as tfjs'
 * kernel up to float32 rounding. Returns null (the caller runs tfjs' kernel) whenever a
 * condition fails or the backend's internals are not readable.
 *
 * @example
 * const out = heapMatMul(a, b, false, true, backend, transpose) ?? original(...);
 */
import type * as tf from '@tensorflow/tfjs-core';
import { gemmPackedBytes } from '../kernels/gemm.js';
import { kernelVariant } from '../kernels/kernel_variant.js';
import { heapGemm } from './wasm_heap.js';

/** Fewest multiply-adds (m·n·K) a product needs to go to the GEMM kernel. */
export const HEAP_MATMUL_MIN_WORK = 1 << 18;

/** The wasm backend's internals a product needs (checked before use). */
interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  disposeData(dataId: object): void;
  dataIdMap?: { get(dataId: object): { memoryOffset?: unknown } | undefined };
}

const offsetOf = (backend: WasmBackend, t: tf.TensorInfo): number | null => {
  const at = backend.dataIdMap?.get(t.dataId)?.memoryOffset;
  return typeof at === 'number' && at % 4 === 0 ? at : null;
};

/**
 * `a·b` (each optionally transposed in its last two dimensions) by the GEMM kernel into a
 * new output of the backend, or null when the product is not one it takes (see the module's
 * caveats). `transpose(x)` swaps the last two dimensions of x with the backend's own kernel
 * (a new TensorInfo that this function frees).
 */
export function heapMatMul(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  backendObject: object,
  transpose: (x: tf.TensorInfo) => tf.TensorInfo,
): tf.TensorInfo | null {
  const backend = backendObject as WasmBackend;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || typeof backend.makeOutput !== 'function' || backend.dataIdMap === undefined) return null;
  const [ra, rb] = [a.shape.length, b.shape.length];
  if (ra < 2 || rb < 2 || ra !== rb) return null;
  const batch = a.shape.slice(0, -2);
  if (batch.some((d) => d !== 1) || b.shape.slice(0, -2).some((d) => d !== 1)) return null;
  const m = a.shape[transposeA ? ra - 1 : ra - 2];
  const K = a.shape[transposeA ? ra - 2 : ra - 1];
  const n = b.shape[transposeB ? rb - 2 : rb - 1];
  if (K !== b.shape[transposeB ? rb - 1 : rb - 2] || m * n * K < HEAP_MATMUL_MIN_WORK) return null;
  const gemm = heapGemm(kernelVariant());
  if (gemm === null) return null;
  const made: tf.TensorInfo[] = [];
  try {
    // Every allocation before any offset is read (allocating may grow and move the heap).
    const h = transposeA ? transpose(a) : a;
    if (transposeA) made.push(h);
    const v = transposeB ? b : transpose(b);
    if (!transposeB) made.push(v);
    const packed = backend.makeOutput([gemmPackedBytes(n, K) / 4], 'float32');
    made.push(packed);
    const out = backend.makeOutput([...batch, m, n], 'float32');
    const at = [h, v, packed, out].map((t) => offsetOf(backend, t));
    if (at.some((o) => o === null)) {
      backend.disposeData(out.dataId);
      return null;
    }
    const [ho, vo, po, oo] = at as number[];
    gemm.packV(vo, n, K, po);
    gemm.gemm(ho, po, m, n, K, oo);
    return out;
  } finally {
    for (const t of made) backend.disposeData(t.dataId);
  }
}
