import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { hostGraphGradient } from '../src/layers/neural_module/engine/host_gradient.js';
import { tensorGraphGradient } from '../src/layers/neural_module/engine/op.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { gemmNTJs, gemmPackedBytes } from '../src/kernels/gemm.js';
import { currentTeam } from '../src/kernels/threads/current.js';
import { heapGemm } from '../src/backend/wasm_heap.js';
import { arenaBytes, createWasmKernels, sparseKernels, useKernelVariant, type KernelVariant } from '../src/kernels/index.js';
import { KERNEL_VARIANTS, itForVariant } from './helpers/variants.js';

/**
 * The kernels' own f32 rule, bit for bit: G[j,k] summed over b in order, the diagonal Σ_b v[b,j]
 * in f32. 'muladd': the JS twin gemmNTJs; 'fma': the fused GEMM on one thread (no JS twin).
 */
function f32Reference(h: Float32Array, v: Float32Array, B: number, p: number, variant: KernelVariant): Float32Array {
  const H = new Float32Array(p * B);
  const V = new Float32Array(p * B);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < p; j++) {
      H[j * B + b] = h[b * p + j];
      V[j * B + b] = v[b * p + j];
    }
  }
  const g = new Float32Array(p * p);
  if (variant === 'muladd') gemmNTJs(H, V, 0, p, p, B, g, p);
  else {
    const k = createWasmKernels({ team: null, variant });
    const packed = gemmPackedBytes(p, B) / 4;
    k.arena.reset(arenaBytes([p * B, p * B, packed, p * p]));
    const [hk, vk, pk, gk] = [k.arena.f32(p * B), k.arena.f32(p * B), k.arena.f32(packed), k.arena.f32(p * p)];
    hk.set(H);
    vk.set(V);
    k.gemmNT(hk, vk, p, B, gk, pk);
    g.set(gk);
  }
  const d = new Float32Array(p);
  for (let b = 0; b < B; b++) for (let j = 0; j < p; j++) d[j] += v[b * p + j];
  for (let j = 0; j < p; j++) g[j * (p + 1)] = d[j];
  return g;
}

/** float64 reference: G[j,k] = Σ_b h[b,j]·v[b,k], G[j,j] = Σ_b v[b,j]. */
function reference(h: Float32Array, v: Float32Array, B: number, p: number): Float64Array {
  const g = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    for (let k = 0; k < p; k++) {
      let s = 0;
      for (let b = 0; b < B; b++) s += j === k ? v[b * p + k] : h[b * p + j] * v[b * p + k];
      g[j * p + k] = s;
    }
  }
  return g;
}

describe.each(BACKENDS)('the graph gradient on %s', (backend) => {
  afterAll(async () => nm.backend.setThreads(1));
  afterEach(() => useKernelVariant('auto'));

  for (const threads of [1, 2]) {
    it(`the host GEMM path matches the float64 reference and the tensor path (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      await useBackend(backend);
      await nm.backend.setThreads(threads);
      for (const [B, p] of [
        [5, 37],
        [64, 130],
        [1, 3],
      ] as const) {
        const h = tf.randomUniform([B, p], -1, 1, 'float32', 11) as tf.Tensor2D;
        const v = tf.randomUniform([B, p], -1, 1, 'float32', 12) as tf.Tensor2D;
        const host = hostGraphGradient(h, v);
        expect(host, 'host path taken').not.toBeNull();
        const consts = { diagIndex: tf.tensor1d([], 'int32'), eye: tf.eye(p) as tf.Tensor2D, upper: null, topology: 'graph' as const };
        const viaTensors = tensorGraphGradient(h, v, consts);
        const ref = reference(h.dataSync() as Float32Array, v.dataSync() as Float32Array, B, p);
        const got = host!.dataSync();
        const tens = viaTensors.dataSync();
        let worst = 0;
        let worstTensor = 0;
        for (let i = 0; i < p * p; i++) {
          worst = Math.max(worst, Math.abs(got[i] - ref[i]));
          worstTensor = Math.max(worstTensor, Math.abs(got[i] - tens[i]));
        }
        expect(worst, `B ${B}, p ${p}`).toBeLessThan(1e-5 * B);
        expect(worstTensor, `B ${B}, p ${p}`).toBeLessThan(1e-5 * B);
        tf.dispose([h, v, host!, viaTensors, consts.diagIndex, consts.eye]);
      }
    });
  }

  for (const variant of KERNEL_VARIANTS)
    itForVariant(variant, "is the kernels' f32 rule bit for bit, with the rows of both threads in place, and leaks no tensor", async () => {
      useKernelVariant(variant);
      await useBackend(backend);
      await nm.backend.setThreads(2);
      expect(sparseKernels().variant).toBe(variant);
      const team = currentTeam();
      let byWorker = 0;
      for (let seed = 20; seed < 23 || (backend === 'wasm' && byWorker === 0 && seed < 120); seed++) {
        // p = 512 is long enough (~1 ms) for a sleeping worker to wake and take rows on a busy machine.
        const [B, p] = (
          [
            [64, 130],
            [37, 97],
            [64, 512],
          ] as const
        )[seed % 3];
        const h = tf.randomUniform([B, p], -1, 1, 'float32', seed) as tf.Tensor2D;
        const v = tf.randomUniform([B, p], -1, 1, 'float32', seed + 1000) as tf.Tensor2D;
        const want = f32Reference(h.dataSync() as Float32Array, v.dataSync() as Float32Array, B, p, variant);
        const before = tf.memory().numTensors;
        const [total0, caller0] = [team?.chunksTotal ?? 0, team?.chunksByCaller ?? 0];
        const got = hostGraphGradient(h, v)!;
        byWorker += (team?.chunksTotal ?? 0) - total0 - ((team?.chunksByCaller ?? 0) - caller0);
        expect(tf.memory().numTensors, 'only the gradient is new').toBe(before + 1);
        expect(got.shape).toEqual([p, p]);
        const bits = got.dataSync() as Float32Array;
        expect(Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength).equals(Buffer.from(want.buffer)), `seed ${seed}, B ${B}, p ${p}`).toBe(true);
        tf.dispose([h, v, got]);
      }
      // On wasm the kernel threads computed some rows (copied into the tensor by the caller),
      // and the caller's rows went straight into the tensor (the GEMM over tfjs' heap exists).
      if (backend === 'wasm') {
        expect(byWorker).toBeGreaterThan(0);
        expect(heapGemm(sparseKernels().variant), 'the GEMM over the wasm heap').not.toBeNull();
      }
    });
});
