/**
 * The dense graph gradient on the host (cpu and wasm backends): G = hᵀv with the
 * kernels' SIMD GEMM (src/kernels/gemm.wat, split across `nm.backend.setThreads`
 * threads), 1.5–2× tf.matMul's rate on wasm on one thread, and, with the 'muladd'
 * kernels, the same bits (every entry summed over the batch in order, in f32); the
 * 'fma' kernels fuse each multiply-add (src/kernels/kernel_variant.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, hostView, uninitializedTensor } from '../../../tfjs_internals/host_view.js';
import { heapGemm } from '../../../backend/wasm_heap.js';
import { copiesOnUpload, isHostResident } from '../../../backend/capabilities.js';
import { arenaBytes, sparseKernels, type KernelVariant } from '../../../kernels/index.js';
import { gemmPackedBytes, type GemmSink } from '../../../kernels/gemm.js';

/** The identity permutation of p nodes, kept between calls (the transposes below are permuteIn calls). */
let identity = new Int32Array(0);
function identityOf(p: number): Int32Array {
  if (identity.length !== p) identity = Int32Array.from({ length: p }, (_, j) => j);
  return identity;
}

/**
 * The 'graph' topology's dense gradient from h = f(x*) and the adjoint v (both
 * `[batch, p]`): `G[j,k] = Σ_b h[b,j]·v[b,k]` off the diagonal (every edge, masked or
 * not), `G[j,j] = Σ_b v[b,j]` (the bias). Returns null on backends that do not keep
 * tensors on the host; the caller then uses tensor ops.
 *
 * On the wasm backend the GEMM writes G straight into the new tensor's memory
 * ({@link heapSink}): the caller's rows directly, the kernel threads' rows copied as
 * each part finishes, instead of one 36 MB upload after the product (p = 3000).
 *
 * Caveats: resets the shared kernel arena (no solve may be in progress; the engines'
 * saved states are copies); holds p² floats of it (36 MB at p = 3000) until the next solve.
 *
 * @example
 * const g = hostGraphGradient(h, v) ?? tensorGraphGradient(h, v);
 */
export function hostGraphGradient(h: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor2D | null {
  if (!isHostResident()) return null;
  const [B, p] = h.shape;
  if (B === 0 || p === 0) return null;
  const hv = hostView(h);
  const vv = hostView(v);
  if (hv === null || vv === null) return null;
  const kernels = sparseKernels();
  const packed = gemmPackedBytes(p, B) / 4;
  // hostView arrays stay valid until tfjs allocates: copy both into the arena before anything
  // else, then transpose them to node-major with the kernels' permuteIn (identity order), which
  // runs in WebAssembly and splits across the kernel threads.
  kernels.arena.reset(arenaBytes([p * B, p * B, p * B, p, packed, p * p]));
  const H = kernels.arena.f32(p * B, false);
  const V = kernels.arena.f32(p * B, false);
  const rowMajor = kernels.arena.f32(p * B, false);
  const perm = kernels.arena.i32(p);
  perm.set(identityOf(p));
  rowMajor.set(hv);
  kernels.permuteIn(rowMajor, perm, B, H, null);
  rowMajor.set(vv);
  kernels.permuteIn(rowMajor, perm, B, V, null);
  // The bias diagonal Σ_b v[b, j], summed over b in order in float32 (Math.fround rounds each
  // partial sum), along node j's row of the node-major V.
  const d = new Float32Array(p);
  for (let j = 0; j < p; j++) {
    const o = j * B;
    let sum = 0;
    for (let b = 0; b < B; b++) sum = Math.fround(sum + V[o + b]);
    d[j] = sum;
  }
  const P = kernels.arena.f32(packed, false);
  const G = kernels.arena.f32(p * p, false);
  const sink = heapSink(H, P, G, p, B, kernels.variant);
  if (sink !== null) {
    try {
      kernels.gemmNT(H, V, p, B, G, P, sink);
      return sink.finish(d);
    } finally {
      sink.release();
    }
  }
  kernels.gemmNT(H, V, p, B, G, P);
  for (let j = 0; j < p; j++) G[j * (p + 1)] = d[j];
  // G is the kernels' arena: hand a copy to a backend that would keep the array itself.
  return tf.tensor2d(copiesOnUpload() ? G : G.slice(), [p, p]);
}

/**
 * A {@link GemmSink} that delivers G into a new `[p, p]` tensor of the wasm backend (its
 * heap is not shared with the kernel threads): h and the packed v are copied into the
 * heap once, the caller's rows are computed there by the same GEMM code (same bits),
 * the threads' rows are copied from `G` in the kernels' memory; `variant` is the
 * kernels' arithmetic, which the caller's rows use too. Null off the wasm backend or
 * where its internals are unreadable.
 */
function heapSink(
  H: Float32Array,
  P: Float32Array,
  G: Float32Array,
  p: number,
  B: number,
  variant: KernelVariant,
): (GemmSink & { finish(diagonal: Float32Array): tf.Tensor2D; release(): void }) | null {
  const gemm = heapGemm(variant);
  if (gemm === null) return null;
  // Every allocation first: the heap may grow (and move its views) while tfjs allocates.
  const out = uninitializedTensor([p, p]);
  const hs = uninitializedTensor([H.length]);
  const ps = uninitializedTensor([P.length]);
  const [o, ho, po] = [out, hs, ps].map(heapOffset);
  if (o === null || ho === null || po === null) {
    tf.dispose([out, hs, ps]);
    return null;
  }
  const heap = () => new Float32Array(gemm.memory.buffer);
  let handed = false;
  return {
    begin() {
      const f = heap();
      f.set(H, ho / 4);
      f.set(P, po / 4);
    },
    rows(jLo, jHi) {
      gemm.gemmNT(ho, po, jLo, jHi, p, B, o, p);
    },
    take(jLo, jHi) {
      heap().set(G.subarray(jLo * p, jHi * p), o / 4 + jLo * p);
    },
    finish(diagonal) {
      const f = heap();
      for (let j = 0; j < p; j++) f[o / 4 + j * (p + 1)] = diagonal[j];
      handed = true;
      return out as tf.Tensor2D;
    },
    release() {
      tf.dispose(handed ? [hs, ps] : [out, hs, ps]);
    },
  };
}
