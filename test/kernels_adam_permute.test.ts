/**
 * The fused Adam update (bit for bit the f32 op sequence of tfjs, at every length) and
 * the permutation kernels permuteIn / permuteOut, on js and wasm SIMD.
 */
import { describe, expect, it } from 'vitest';
import { arenaBytes, sparseKernels, wasmSimdSupported } from '../src/kernels/index.js';
import type { AdamCoefficients } from '../src/kernels/catalog.js';
import { bitsEqual, ewArrays, ewLengths, randomF32, sentinelsIntact } from './helpers/kernel_arrays.js';
import { rng } from './helpers/rng.js';

const fr = Math.fround;

describe('adamUpdate', () => {
  const kinds = wasmSimdSupported() ? (['js', 'wasm'] as const) : (['js'] as const);
  const coef = (t: number): AdamCoefficients => {
    let acc1 = fr(0.9),
      acc2 = fr(0.999);
    for (let i = 1; i < t; i++) {
      acc1 = fr(acc1 * fr(0.9));
      acc2 = fr(acc2 * fr(0.999));
    }
    return {
      beta1: 0.9,
      oneMinusBeta1: 1 - 0.9,
      beta2: 0.999,
      oneMinusBeta2: 1 - 0.999,
      biasCorrection1: fr(1 - acc1),
      biasCorrection2: fr(1 - acc2),
      epsilon: 1e-7,
      negLearningRate: -0.01,
    };
  };
  /** tfjs' op sequence, one f32 rounding per op (written out independently of the kernels). */
  function reference(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamCoefficients): void {
    for (let i = 0; i < w.length; i++) {
      const nm = fr(fr(m[i] * fr(c.beta1)) + fr(g[i] * fr(c.oneMinusBeta1)));
      const nv = fr(fr(v[i] * fr(c.beta2)) + fr(fr(g[i] ** 2) * fr(c.oneMinusBeta2)));
      const mh = fr(nm / fr(c.biasCorrection1)),
        vh = fr(nv / fr(c.biasCorrection2));
      w[i] = fr(fr(fr(mh / fr(fr(Math.sqrt(vh)) + fr(c.epsilon))) * fr(c.negLearningRate)) + w[i]);
      m[i] = nm;
      v[i] = nv;
    }
  }

  it.each(kinds)('%s: three steps equal the f32 op sequence of tfjs bit for bit, at every length', (kind) => {
    const k = sparseKernels(kind);
    for (const n of [...ewLengths, 64 * 300 + 3]) {
      const r = rng(31 + n);
      const [w, g, m, v] = ewArrays(k, n, 4);
      w.set(randomF32(r, n));
      const rw = Float32Array.from(w),
        rm = new Float32Array(n),
        rv = new Float32Array(n);
      for (let t = 1; t <= 3; t++) {
        g.set(randomF32(r, n));
        if (n > 3) g.set([0, NaN, 1e-30, -3e4].slice(0, n), 0);
        k.adamUpdate(w, g, m, v, coef(t));
        reference(rw, g, rm, rv, coef(t));
      }
      expect(bitsEqual(w, rw) && bitsEqual(m, rm) && bitsEqual(v, rv)).toBe(true);
      for (const a of [w, g, m, v]) expect(sentinelsIntact(a)).toBe(true);
    }
  });

  it.each(kinds)('%s: rejects mismatched lengths, overlaps and bad coefficients, naming the argument', (kind) => {
    const k = sparseKernels(kind);
    const [w, g, m, v] = ewArrays(k, 16, 4);
    expect(() => k.adamUpdate(w, g.subarray(1), m, v, coef(1))).toThrow(/adamUpdate: 'g' has length 15 but must have the length of 'w', 16/);
    expect(() => k.adamUpdate(w, g, m, v.subarray(0, 8), coef(1))).toThrow(/adamUpdate: 'v' has length 8/);
    expect(() => k.adamUpdate(w, g, m, m, coef(1))).toThrow(/adamUpdate: 'm' overlaps the part of 'v'/);
    expect(() => k.adamUpdate(w, w, m, v, coef(1))).toThrow(/adamUpdate: 'g' overlaps the part of 'w'/);
    expect(() => k.adamUpdate(w, g, m, v, { ...coef(1), epsilon: NaN })).toThrow(/adamUpdate: coefficient 'epsilon' must be a finite number/);
    if (kind === 'wasm') expect(() => k.adamUpdate(new Float32Array(16), g, m, v, coef(1))).toThrow(/adamUpdate: 'w' is not a view/);
  });
});

describe('permuteIn / permuteOut', () => {
  /** A seeded permutation of [0, p). */
  function permutation(p: number, r: () => number): Int32Array {
    const a = Int32Array.from({ length: p }, (_, i) => i);
    for (let i = p - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
  const kinds = wasmSimdSupported() ? (['wasm', 'js'] as const) : (['js'] as const);

  it.each(kinds)('%s: transpose with the permutation (and scale), the inverse restores the input', (kind) => {
    const k = sparseKernels(kind);
    for (const [p, B] of [
      [1, 1],
      [7, 3],
      [37, 16],
      [50, 17],
      [300, 64],
      [130, 129],
    ] as const) {
      const r = rng(p * 1000 + B);
      k.arena.reset(arenaBytes([p, p * B, p * B, p * B, p * B]));
      const perm = k.arena.i32(p);
      perm.set(permutation(p, r));
      const [src, scale, mid, back] = [0, 1, 2, 3].map(() => k.arena.f32(p * B));
      for (let i = 0; i < p * B; i++) [src[i], scale[i]] = [r() * 4 - 2, r() * 2 - 1];
      k.permuteIn(src, perm, B, mid, null);
      for (let q = 0; q < p; q++) for (let b = 0; b < B; b++) expect(mid[q * B + b]).toBe(src[b * p + perm[q]]);
      k.permuteOut(mid, perm, B, back);
      expect(bitsEqual(back, src)).toBe(true);
      k.permuteIn(src, perm, B, mid, scale);
      for (let q = 0; q < p; q++) for (let b = 0; b < B; b++) expect(mid[q * B + b]).toBe(Math.fround(src[b * p + perm[q]] * scale[q * B + b]));
    }
  });

  it('rejects a perm entry out of range and short arrays, naming the argument', () => {
    const k = sparseKernels('js');
    k.arena.reset(arenaBytes([3, 6, 6]));
    const perm = k.arena.i32(3);
    perm.set([0, 3, 1]);
    const [src, out] = [k.arena.f32(6), k.arena.f32(6)];
    expect(() => k.permuteIn(src, perm, 2, out, null)).toThrow(/permuteIn: 'perm\[1\]' is 3, not a node index in \[0, 3\)/);
    perm.set([0, 2, 1]);
    expect(() => k.permuteOut(src, perm, 3, out)).toThrow(/permuteOut: 'src' has length 6 but needs p·B = 9/);
  });
});
