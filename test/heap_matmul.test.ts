/**
 * fastTransposedMatMul's GEMM path on wasm (src/backend/heap_matmul.ts): a plain float32
 * BatchMatMul of at least HEAP_MATMUL_MIN_WORK multiply-adds runs on the package's GEMM kernel
 * in tfjs-wasm's memory (a count of the kernel's calls shows which path ran). With the mul+add
 * kernels its result is the sums in order with one rounding per product and per sum, bit for
 * bit, and the float64 product within float32 rounding, for every
 * transpose flag, more rows than columns, a column count that is not a multiple of the panel
 * width, and a batch dimension of 1; smaller products and real batches keep tfjs' kernel; no
 * tensor or heap byte is left behind; a Dense model trains to the same gradients as tfjs'.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { useKernelVariant, wasmSimdSupported } from '../src/kernels/index.js';
import { HEAP_MATMUL_MIN_WORK } from '../src/backend/heap_matmul.js';
import { heapGemm } from '../src/backend/wasm_heap.js';
import { useBackend } from './helpers/backends.js';
import { Random } from '../src/utils/random.js';

const rng = new Random(5);
const values = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** Row-major `[r, c]` stored as `[c, r]` (the operand a transpose flag expects). */
function transposed(x: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = x[i * c + j];
  return out;
}

/** C = A·B for row-major A [m, K], B [K, n]: the kernel's twin (f32, in order, one rounding per product and sum) and float64. */
function expected(A: Float32Array, B: Float32Array, m: number, K: number, n: number) {
  const twin = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s = Math.fround(s + Math.fround(A[i * K + k] * B[k * n + j]));
      twin[i * n + j] = s;
    }
  const f64 = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let k = 0; k < K; k++) f64[i * n + j] += A[i * K + k] * B[k * n + j];
  return { twin, f64 };
}

/** [m, K, n]: more columns than rows, more rows than columns (n < 16), n not a multiple of 16, K odd. */
const label0 = (m: number, K: number, n: number, ta: boolean, tb: boolean) => `[${m}, ${K}, ${n}] transposeA ${ta} transposeB ${tb}: GEMM calls`;

const SHAPES = [
  [16, 128, 3000],
  [600, 128, 26],
  [128, 37, 300],
  [64, 300, 64],
] as const;

describe.runIf(wasmSimdSupported())('fastTransposedMatMul: products on the GEMM kernel (wasm)', () => {
  /** Calls of the heap GEMM kernel's general product since the suite started. */
  let calls = 0;
  beforeAll(async () => {
    await useBackend('wasm');
    useKernelVariant('muladd');
    nm.backend.fastTransposedMatMul();
    const kernel = heapGemm('muladd')!;
    const gemm = kernel.gemm.bind(kernel);
    kernel.gemm = (...args) => {
      calls++;
      gemm(...args);
    };
  });
  afterAll(() => {
    nm.backend.fastTransposedMatMul({ enable: false });
    useKernelVariant('auto');
  });

  it('runs on the GEMM kernel: in-order sums bit for bit, float64 within rounding, every flag', () => {
    for (const [m, K, n] of SHAPES) {
      expect(m * n * K).toBeGreaterThanOrEqual(HEAP_MATMUL_MIN_WORK);
      const A = values(m * K),
        B = values(K * n);
      const { twin, f64 } = expected(A, B, m, K, n);
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        const before = tf.memory();
        const a = tf.tensor2d(ta ? transposed(A, m, K) : A, ta ? [K, m] : [m, K]);
        const b = tf.tensor2d(tb ? transposed(B, K, n) : B, tb ? [n, K] : [K, n]);
        const before0 = calls;
        const c = tf.matMul(a, b, ta, tb);
        expect(calls - before0, label0(m, K, n, ta, tb)).toBe(1);
        const got = c.dataSync() as Float32Array;
        const label = `[${m}, ${K}, ${n}] transposeA ${ta} transposeB ${tb}`;
        expect(c.shape, label).toEqual([m, n]);
        expect(Array.from(got), label).toEqual(Array.from(twin));
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - f64[i]));
        expect(worst, label).toBeLessThan(1e-5 * K * 4);
        tf.dispose([a, b, c]);
        expect(tf.memory().numTensors, label).toBe(before.numTensors);
        expect(tf.memory().numBytes, label).toBe(before.numBytes);
      }
    }
  });

  it('takes a batch dimension of 1, and leaves real batches and small products to tfjs', () => {
    const [m, K, n] = [128, 64, 300];
    const A = values(m * K),
      B = values(K * n);
    const { twin } = expected(A, B, m, K, n);
    const start = calls;
    const c3 = tf.matMul(tf.tensor3d(A, [1, m, K]), tf.tensor3d(B, [1, K, n]));
    expect(calls).toBe(start + 1);
    expect(c3.shape).toEqual([1, m, n]);
    expect(Array.from(c3.dataSync())).toEqual(Array.from(twin));
    // Two batches, and a product under the threshold: tfjs' own kernel (float32 sums, not the twin's order).
    const small = tf.matMul(tf.tensor2d(A.subarray(0, 8 * K), [8, K]), tf.tensor2d(B.subarray(0, K * 16), [K, 16]));
    expect(8 * K * 16).toBeLessThan(HEAP_MATMUL_MIN_WORK);
    nm.backend.fastTransposedMatMul({ enable: false });
    const plainSmall = tf.matMul(tf.tensor2d(A.subarray(0, 8 * K), [8, K]), tf.tensor2d(B.subarray(0, K * 16), [K, 16]));
    const batched = tf.matMul(tf.tensor3d(new Float32Array([...A, ...A]), [2, m, K]), tf.tensor3d(new Float32Array([...B, ...B]), [2, K, n]));
    nm.backend.fastTransposedMatMul();
    const batchedFast = tf.matMul(tf.tensor3d(new Float32Array([...A, ...A]), [2, m, K]), tf.tensor3d(new Float32Array([...B, ...B]), [2, K, n]));
    expect(calls, 'the small and the batched products stay on tfjs').toBe(start + 1);
    expect(Array.from(small.dataSync())).toEqual(Array.from(plainSmall.dataSync()));
    expect(Array.from(batchedFast.dataSync())).toEqual(Array.from(batched.dataSync()));
  });

  it('trains a Dense layer to the gradients of tfjs’ own kernels', () => {
    const [w1v, w2v, xv] = [values(64 * 300).map((v) => 0.1 * v), values(300 * 10).map((v) => 0.1 * v), values(128 * 64)];
    const grads = () =>
      tf.tidy(() => {
        const x = tf.tensor2d(xv, [128, 64]);
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.square(tf.matMul(tf.tanh(tf.matMul(x, a)), b))) as tf.Scalar);
        return g([tf.tensor2d(w1v, [64, 300]), tf.tensor2d(w2v, [300, 10])]).map((t) => Array.from(t.dataSync()));
      });
    const fast = grads();
    nm.backend.fastTransposedMatMul({ enable: false });
    const plain = grads();
    nm.backend.fastTransposedMatMul();
    for (let i = 0; i < 2; i++) {
      const scale = Math.max(...plain[i].map(Math.abs));
      const worst = Math.max(...fast[i].map((v, j) => Math.abs(v - plain[i][j])));
      expect(worst / scale, `gradient ${i}`).toBeLessThan(1e-5);
    }
  });
});
