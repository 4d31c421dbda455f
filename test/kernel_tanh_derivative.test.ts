/**
 * The tanhDerivative kernel, out[i] = 1 − fx[i]² (the square and the difference in f64,
 * one rounding to f32): the float64 reference rounded once, bit for bit, on the js and
 * wasm kernels, in place and split across two kernel threads; and the tanh activation's
 * host derivative gives the same bits with and without the kernels.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { arenaBytes, createJsKernels, createWasmKernels, sparseKernels, wasmSimdSupported, type SparseKernels } from '../src/kernels/index.js';
import { nodeActivation } from '../src/internal.js';

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

describe.runIf(wasmSimdSupported())('tanhDerivative on kernel threads and in the tanh activation', () => {
  afterAll(async () => {
    await nm.backend.setThreads(1);
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
