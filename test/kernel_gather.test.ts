/**
 * The gather kernel, out[i] = src[idx[i]]: a known answer on the js and wasm kernels, the
 * same bits when the call is split across two kernel threads, the bad-argument errors, and
 * the gather over tfjs-wasm's own memory that reads the kept weights of a graph tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { arenaBytes, createJsKernels, createWasmKernels, sparseKernels, wasmSimdSupported, type SparseKernels } from '../src/kernels/index.js';
import { heapGather } from '../src/backend/wasm_heap.js';
import { heapOffset, heapOffsetInt32 } from '../src/tfjs_internals/host_view.js';
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

describe.runIf(wasmSimdSupported())('gather on kernel threads and over the wasm heap', () => {
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
});
