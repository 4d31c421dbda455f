/**
 * The one-pass kernels the gemm module holds besides the GEMM (gemm_pointwise.wat): gather, out[i] = src[idx[i]] (a known
 * answer), and tanhDerivative, out[i] = 1 − fx[i]² (the float64 reference rounded once, bit
 * for bit); on the js and wasm kernels, in place where allowed, split across two kernel
 * threads, with the bad-argument errors; the gather over tfjs-wasm's own memory that reads
 * the kept weights of a graph tensor, and the tanh activation's host derivative with and
 * without the kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { arenaBytes, createJsKernels, createWasmKernels, sparseKernels, wasmSimdSupported, type SparseKernels } from '../src/kernels/index.js';
import { heapGather } from '../src/backend/wasm_heap.js';
import { heapOffset, heapOffsetInt32 } from '../src/tfjs_internals/host_view.js';
import { nodeActivation } from '../src/internal.js';
import { useBackend } from './helpers/backends.js';

/** src = 0.5·i + 1 for i < m, and n indices that revisit, skip and run backwards. */
function problem(m: number, n: number) {
  const src = Float32Array.from({ length: m }, (_, i) => 0.5 * i + 1);
  const idx = Int32Array.from({ length: n }, (_, i) => (i * 7919 + (i % 3 === 0 ? m - 1 - i : 0)) % m);
  for (let i = 0; i < n; i++) if (idx[i] < 0) idx[i] += m;
  return { src, idx, want: Float32Array.from(idx, (j) => 0.5 * j + 1) };
}

function gatherWith(k: SparseKernels, m: number, n: number) {
  const { src, idx, want } = problem(m, n);
  k.arena.reset(arenaBytes([m, n, n]));
  const s = k.arena.f32(m, false);
  const i = k.arena.i32(n);
  const out = k.arena.f32(n, false);
  s.set(src);
  i.set(idx);
  k.gather(s, i, out);
  return { got: out.slice(), want };
}

/** tanh values over [-3, 3] plus ±0, ±1, values near 1, NaN. */
function values(n: number): Float32Array {
  const out = Float32Array.from({ length: n }, (_, i) => Math.tanh(-3 + (6 * i) / Math.max(1, n - 1)));
  const special = [0, -0, 1, -1, 0.99999994, -0.99999994, 1e-20, NaN];
  for (let i = 0; i < Math.min(n, special.length); i++) out[(i * 7919) % n] = special[i];
  return out;
}

const reference = (fx: Float32Array) => Float32Array.from(fx, (f) => Math.fround(1 - f * f));

function run(k: SparseKernels, fx: Float32Array, inPlace: boolean): Float32Array {
  k.arena.reset(arenaBytes([fx.length, fx.length]));
  const a = k.arena.f32(fx.length, false);
  a.set(fx);
  const out = inPlace ? a : k.arena.f32(fx.length, false);
  k.tanhDerivative(a, out);
  return out.slice();
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** The first index where the bits differ, or -1 (a short message where a diff of 300 000 numbers would not be). */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const x = bits(a),
    y = bits(b);
  if (x.length !== y.length) return Math.min(x.length, y.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

const impls: Array<[string, () => SparseKernels]> = [['js', () => createJsKernels()]];
if (wasmSimdSupported()) impls.push(['wasm-simd', () => createWasmKernels({ team: null })]);

describe.each(impls)('gather (%s)', (_name, make) => {
  it('copies src[idx[i]] into out[i] at every length, the tail included', () => {
    const k = make();
    for (const [m, n] of [
      [1, 0],
      [1, 1],
      [10, 3],
      [97, 250],
      [5000, 40_003],
    ]) {
      const { got, want } = gatherWith(k, m, n);
      expect(Array.from(got), `m ${m}, n ${n}`).toEqual(Array.from(want));
    }
  });

  it('rejects a short out and an out overlapping src, naming the argument', () => {
    const k = make();
    k.arena.reset(arenaBytes([8, 4, 3]));
    const s = k.arena.f32(8);
    const i = k.arena.i32(4);
    const out = k.arena.f32(3);
    expect(() => k.gather(s, i, out)).toThrow(/gather: 'out' has length 3 but must have the length of 'idx', 4/);
    expect(() => k.gather(s, i.subarray(0, 3), s.subarray(2, 5))).toThrow(/gather: 'src' overlaps the part of 'out'/);
  });
});

describe.each(impls)('tanhDerivative (%s)', (_name, make) => {
  it('is the float64 1 − fx² rounded once, bit for bit, out of place and in place', () => {
    const k = make();
    for (const n of [1, 3, 16, 17, 1000, 40_001]) {
      const fx = values(n);
      const want = reference(fx);
      expect(firstDifference(run(k, fx, false), want), `n ${n}`).toBe(-1);
      expect(firstDifference(run(k, fx, true), want), `n ${n}, in place`).toBe(-1);
    }
  });

  it('rejects mismatched lengths, naming the argument', () => {
    const k = make();
    k.arena.reset(arenaBytes([4, 3]));
    expect(() => k.tanhDerivative(k.arena.f32(4), k.arena.f32(3))).toThrow(/tanhDerivative: 'out' has length 3 but must have the length of 'fx', 4/);
  });
});

describe.runIf(wasmSimdSupported())('gather and tanhDerivative on kernel threads, over the wasm heap and in the tanh activation', () => {
  afterAll(async () => {
    await nm.backend.setThreads(1);
  });

  it('gives the same values when split across two threads', async () => {
    await nm.backend.setThreads(2);
    const k = sparseKernels();
    expect(k.threads).toBe(2);
    const { got, want } = gatherWith(k, 20_000, 200_001);
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it('reads elements of a tensor where tfjs-wasm keeps it', async () => {
    await useBackend('wasm');
    const gather = heapGather();
    expect(gather).not.toBeNull();
    const { src, idx, want } = problem(3000, 9001);
    const w = tf.tensor1d(src);
    const index = tf.tensor1d(idx, 'int32');
    const out = tf.zeros([idx.length]);
    gather!(heapOffset(w)!, heapOffsetInt32(index)!, idx.length, heapOffset(out)!);
    expect(Array.from(out.dataSync())).toEqual(Array.from(want));
    tf.dispose([w, index, out]);
  });

  it('gives the same bits split across two threads, and through the activation with or without kernels', async () => {
    await nm.backend.setThreads(2);
    const k = sparseKernels();
    expect(k.threads).toBe(2);
    const fx = values(300_001);
    const want = reference(fx);
    expect(firstDifference(run(k, fx, false), want)).toBe(-1);
    const act = nodeActivation('tanh');
    const plain = new Float32Array(fx.length);
    act.hostDerivative(new Float32Array(fx.length), fx, plain);
    expect(firstDifference(plain, want)).toBe(-1);
    k.arena.reset(arenaBytes([fx.length]));
    const d = k.arena.f32(fx.length, false);
    d.set(fx);
    act.hostDerivative(new Float32Array(fx.length), d, d, k);
    expect(firstDifference(d, want)).toBe(-1);
  });
});
