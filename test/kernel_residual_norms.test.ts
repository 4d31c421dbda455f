/**
 * residualNorms, the host Picard solver's convergence check in one pass: per sample b,
 * r2[b] += Σ_k (a − c)² and c2[b] += Σ_k c² with the difference rounded to f32 and the
 * squares summed in f64. Checked bit for bit against the composition it replaces (addMul
 * into a difference array, then dotRows twice) and against a float64 recomputation, on
 * the js and wasm kernels, over row ranges and column tails, split across two kernel
 * threads and through the blocked view with two column blocks; with the bad-argument errors.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { arenaBytes, createJsKernels, createWasmKernels, sparseKernels, wasmSimdSupported, type SparseKernels } from '../src/kernels/index.js';
import { blocked, columnLayout } from '../src/kernels/blocked.js';

/** Seeded values in [−2, 2), with exact ties (a = c), zeros and tiny numbers mixed in. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 4 - 2;
    if (i % 97 === 0) out[i] = 0;
    if (i % 101 === 0) out[i] = 1e-30;
  }
  return out;
}

/** The float64 sums, from the f32-rounded difference (the kernel's documented arithmetic), rounded once into f32. */
function reference(a: Float32Array, c: Float32Array, lo: number, hi: number, B: number) {
  const r2 = new Float32Array(B).fill(0.25);
  const c2 = new Float32Array(B).fill(0.5);
  for (let b = 0; b < B; b++) {
    let s = 0,
      t = 0;
    for (let k = lo; k < hi; k++) {
      const d = Math.fround(a[k * B + b] - c[k * B + b]);
      s += d * d;
      t += c[k * B + b] * c[k * B + b];
    }
    r2[b] = Math.fround(0.25 + s);
    c2[b] = Math.fround(0.5 + t);
  }
  return { r2, c2 };
}

/** Runs residualNorms (fused) or addMul + dotRows twice (composed) in the kernels' arena; outs start at 0.25 and 0.5. */
function run(k: SparseKernels, a0: Float32Array, c0: Float32Array, lo: number, hi: number, B: number, fused: boolean) {
  const n = a0.length;
  k.arena.reset(arenaBytes([n, n, n, n, B, B]));
  const a = k.arena.f32(n, false);
  const c = k.arena.f32(n, false);
  const r = k.arena.f32(n, false);
  const minusOnes = k.arena.f32(n, false).fill(-1);
  const r2 = k.arena.f32(B).fill(0.25);
  const c2 = k.arena.f32(B).fill(0.5);
  a.set(a0);
  c.set(c0);
  if (fused) k.residualNorms(a, c, lo, hi, B, r2, c2);
  else {
    k.addMul(a, minusOnes, c, r);
    k.dotRows(r, r, lo, hi, B, r2);
    k.dotRows(c, c, lo, hi, B, c2);
  }
  return { r2: r2.slice(), c2: c2.slice() };
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

const impls: Array<[string, () => SparseKernels]> = [['js', () => createJsKernels()]];
if (wasmSimdSupported()) impls.push(['wasm-simd', () => createWasmKernels({ team: null })]);

/** [rows, B, lo, hi]: 8-column chunks with and without a tail, one column, a row range inside. */
const SHAPES = [
  [1, 1, 0, 1],
  [5, 8, 0, 5],
  [7, 13, 0, 7],
  [40, 64, 3, 37],
  [300, 62, 0, 300],
  [3000, 64, 0, 3000],
  [4, 9, 2, 2],
] as const;

describe.each(impls)('residualNorms (%s)', (_name, make) => {
  it('gives the bits of addMul then dotRows twice, and the float64 sums rounded once', () => {
    const k = make();
    for (const [rows, B, lo, hi] of SHAPES) {
      const a = values(rows * B, 1 + rows),
        c = values(rows * B, 7 + B);
      for (let i = 0; i < a.length; i += 13) a[i] = c[i];
      const fused = run(k, a, c, lo, hi, B, true);
      const composed = run(k, a, c, lo, hi, B, false);
      const want = reference(a, c, lo, hi, B);
      const label = `rows ${rows}, B ${B}, [${lo}, ${hi})`;
      expect(bits(fused.r2), label).toEqual(bits(composed.r2));
      expect(bits(fused.c2), label).toEqual(bits(composed.c2));
      expect(bits(fused.r2), label).toEqual(bits(want.r2));
      expect(bits(fused.c2), label).toEqual(bits(want.c2));
    }
  });

  it('rejects short outputs, overlapping outputs and short inputs, naming the argument', () => {
    const k = make();
    k.arena.reset(arenaBytes([32, 32, 4, 4]));
    const a = k.arena.f32(32),
      c = k.arena.f32(32),
      r2 = k.arena.f32(4),
      c2 = k.arena.f32(4);
    expect(() => k.residualNorms(a, c, 0, 8, 4, r2.subarray(0, 3), c2)).toThrow(/residualNorms: 'r2' has length 3/);
    expect(() => k.residualNorms(a, c, 0, 8, 4, r2, r2)).toThrow(/residualNorms: 'r2' overlaps/);
    expect(() => k.residualNorms(a.subarray(0, 20), c, 0, 8, 4, r2, c2)).toThrow(/residualNorms: 'a' has length 20/);
  });
});

describe.runIf(wasmSimdSupported())('residualNorms on kernel threads and column blocks', () => {
  afterAll(async () => {
    await nm.backend.setThreads(1);
  });

  it('gives the same bits split across two threads and in the blocked layout of two blocks', async () => {
    await nm.backend.setThreads(2);
    const k = sparseKernels();
    expect(k.threads).toBe(2);
    const [rows, B] = [3000, 126];
    const a = values(rows * B, 3),
      c = values(rows * B, 4);
    const want = reference(a, c, 0, rows, B);
    const split = run(k, a, c, 0, rows, B, true);
    expect(bits(split.r2)).toEqual(bits(want.r2));
    expect(bits(split.c2)).toEqual(bits(want.c2));
    // The blocked view: block j holds columns [layout[j], layout[j+1]) as its own [rows, width] array.
    const layout = columnLayout(B, 2, rows);
    expect(layout.length).toBe(3);
    const view = blocked(k, B, rows, layout);
    k.arena.reset(arenaBytes([rows * B, rows * B, B, B]));
    const [A, C] = [k.arena.f32(rows * B, false), k.arena.f32(rows * B, false)];
    for (let j = 0; j < 2; j++) {
      const [c0, c1] = [layout[j], layout[j + 1]];
      for (let r = 0; r < rows; r++)
        for (let b = c0; b < c1; b++) {
          A[view.index(rows, r, b)] = a[r * B + b];
          C[view.index(rows, r, b)] = c[r * B + b];
        }
    }
    const r2 = k.arena.f32(B).fill(0.25);
    const c2 = k.arena.f32(B).fill(0.5);
    view.residualNorms(A, C, r2, c2);
    expect(bits(r2)).toEqual(bits(want.r2));
    expect(bits(c2)).toEqual(bits(want.c2));
  });
});
