/**
 * The kernels' two arithmetics (src/kernels/kernel_variant.ts): how the variant is chosen
 * and forced, the generated FMA modules, and the FMA products against a float64 reference
 * within their error bound. The mul+add variant's bit-identity with the JS twins is tested
 * in kernels_sparse.test.ts, kernels_elementwise.test.ts and gemm_kernel.test.ts; 1 vs 2 threads in kernel_threads.test.ts.
 *
 * Error bound of a sum computed term by term in f32 (u = 2^-24, γ_n = n·u / (1 − n·u)):
 * s_0 = s, s_e = fl(s_{e−1} + t_e) for e = 1…m. With a fused multiply-add each step
 * rounds once, so s is multiplied by m factors (1 + δ), |δ| ≤ u, and term t_e by
 * m − e + 1 of them: |result − exact| ≤ γ_m·(|s| + Σ|t_e|). With mul+add each product is
 * rounded too (one factor more per term): γ_{m+1}. So the FMA bound is no worse than the
 * mul+add one, and one fused step (axpyRows) is the exact value correctly rounded:
 * |result − exact| ≤ u·|exact|. The float64 reference itself is off by at most
 * (m + 1)·2^-53·(|s| + Σ|t_e|) (every f32 product is exact in f64), added to the bound.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGemmKernel, gemmFmaWasmBytes, gemmPackedBytes } from '../src/kernels/gemm.js';
import {
  arenaBytes,
  createJsKernels,
  createWasmKernels,
  kernelVariant,
  sparseFmaWasmBytes,
  sparseKernels,
  useKernelVariant,
  wasmSimdSupported,
  type SparseKernels,
} from '../src/kernels/index.js';
import { relaxedSimdSupported } from '../src/kernels/relaxed_simd.js';
import { ConfigError } from '../src/utils/errors.js';

const fma = relaxedSimdSupported();
const u = 2 ** -24;
const gamma = (n: number) => (n * u) / (1 - n * u);

/** Seeded LCG in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Magnitudes over a few decades, some exact zeros, both signs. */
function randomF32(r: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (r() < 0.05 ? 0 : (r() * 2 - 1) * 2 ** Math.floor(r() * 6 - 3)));
}

/** Fails with the first element whose error exceeds its bound. */
function expectWithin(got: ArrayLike<number>, exact: ArrayLike<number>, bound: ArrayLike<number>, label: string): void {
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - exact[i]);
    if (!(err <= bound[i])) expect.fail(`${label}[${i}]: got ${got[i]}, float64 ${exact[i]}, error ${err} > bound ${bound[i]}`);
  }
}

/** 1 + 2^-12: a·a = 1 + 2^-11 + 2^-24 exactly, which f32 rounds (a tie, to even) to 1 + 2^-11. */
const A = 1 + 2 ** -12;
/** −(1 + 2^-11): a·a + C = 2^-24 exactly; mul+add gives fl(a·a) + C = 0. */
const C = -(1 + 2 ** -11);

afterEach(() => {
  useKernelVariant('auto');
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('choice of the kernel variant', () => {
  it(`auto is 'fma' exactly where relaxed SIMD validates (here: ${fma}); every instance says which it runs`, () => {
    expect(kernelVariant()).toBe(fma ? 'fma' : 'muladd');
    expect(createJsKernels().variant).toBe('muladd');
    if (!wasmSimdSupported()) return;
    expect(sparseKernels('wasm').variant).toBe(kernelVariant());
    expect(createWasmKernels({ variant: 'muladd' }).variant).toBe('muladd');
    expect(createGemmKernel(new WebAssembly.Memory({ initial: 1 }), 'muladd').variant).toBe('muladd');
    if (fma) expect(createGemmKernel(new WebAssembly.Memory({ initial: 1 })).variant).toBe('fma');
  });

  it('useKernelVariant switches the instances created next (the cached one too); bad values are ConfigErrors', () => {
    useKernelVariant('muladd');
    expect(kernelVariant()).toBe('muladd');
    if (wasmSimdSupported()) expect(sparseKernels().variant).toBe('muladd');
    useKernelVariant('auto');
    expect(kernelVariant()).toBe(fma ? 'fma' : 'muladd');
    if (wasmSimdSupported()) expect(sparseKernels().variant).toBe(kernelVariant());
    expect(() => useKernelVariant('fused' as never)).toThrow(ConfigError);
    expect(() => useKernelVariant('fused' as never)).toThrow(/'variant' must be one of 'auto', 'fma', 'muladd'; received "fused"/);
    expect(() => createWasmKernels({ variant: 'fused' as never })).toThrow(/'variant' must be 'fma' or 'muladd'; received fused/);
    if (!fma) {
      expect(() => useKernelVariant('fma')).toThrow(/relaxed SIMD/);
      expect(() => createWasmKernels({ variant: 'fma' })).toThrow(ConfigError);
      expect(() => createGemmKernel(new WebAssembly.Memory({ initial: 1 }), 'fma')).toThrow(/relaxed SIMD/);
    }
  });

  it('NM_KERNELS forces the variant, read once; a bad value throws a ConfigError naming it instead of falling back to js', async () => {
    vi.resetModules();
    vi.stubEnv('NM_KERNELS', 'muladd');
    let k = await import('../src/kernels/index.js');
    expect(k.kernelVariant()).toBe('muladd');
    if (wasmSimdSupported()) expect(k.sparseKernels().variant).toBe('muladd');
    vi.stubEnv('NM_KERNELS', 'auto');
    expect(k.kernelVariant(), 'read once').toBe('muladd');

    vi.resetModules();
    vi.stubEnv('NM_KERNELS', 'fused');
    k = await import('../src/kernels/index.js');
    expect(() => k.sparseKernels()).toThrow(/NM_KERNELS must be one of 'auto', 'fma', 'muladd'; received "fused"/);

    vi.resetModules();
    vi.stubEnv('NM_KERNELS', 'fma');
    k = await import('../src/kernels/index.js');
    if (fma) expect(k.sparseKernels().variant).toBe('fma');
    else expect(() => k.sparseKernels()).toThrow(/NM_KERNELS: the 'fma' kernels need WebAssembly relaxed SIMD/);
  });
});

describe('the FMA modules', () => {
  it('are what scripts/build-kernels.mjs makes of sparse.wat and gemm.wat (run `npm run build:kernels` if this fails)', () => {
    const script = fileURLToPath(new URL('../scripts/build-kernels.mjs', import.meta.url));
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('stay under the 4 KB of a synchronous compile in browsers', () => {
    for (const bytes of [sparseFmaWasmBytes(), sparseFmaWasmBytes('shared'), gemmFmaWasmBytes(), gemmFmaWasmBytes('shared')]) {
      expect(bytes.length).toBeLessThan(4096);
    }
  });

  it.skipIf(!fma)('validate where relaxed SIMD does, import only env.memory and export only the products (needs relaxed SIMD)', () => {
    const exportsOf = (bytes: Uint8Array<ArrayBuffer>) => WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
    expect(exportsOf(sparseFmaWasmBytes())).toEqual(['spmm', 'axpyRows']);
    expect(exportsOf(gemmFmaWasmBytes())).toEqual(['packV', 'gemmNT']);
    for (const bytes of [sparseFmaWasmBytes(), gemmFmaWasmBytes()]) {
      expect(WebAssembly.Module.imports(new WebAssembly.Module(bytes))).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    }
  });
});

/** spmm and axpyRows on the probe: out = C, one nonzero A times x = A (spmm), g = A times a = A (axpyRows), every column. */
function probeSparse(k: SparseKernels, B: number): { spmm: Float32Array; axpy: Float32Array } {
  k.arena.reset(arenaBytes([2, 1, 1, B, B, B, B]));
  const ptr = k.arena.i32(2),
    idx = k.arena.i32(1),
    w = k.arena.f32(1);
  ptr[1] = 1;
  w[0] = A;
  const [x, out, g, acc] = [k.arena.f32(B).fill(A), k.arena.f32(B).fill(C), k.arena.f32(B).fill(A), k.arena.f32(B).fill(C)];
  k.spmm(ptr, idx, w, 0, 1, x, out, B);
  k.axpyRows(g, x, 0, 1, B, acc);
  return { spmm: out.slice(), axpy: acc.slice() };
}

/** gemmNT on the probe: G = Σ_b h[b]·v[b] over zeros, then C·1, then A·A (p = 1, B columns). */
function probeGemm(k: SparseKernels, B: number): number {
  k.arena.reset(arenaBytes([B, B, gemmPackedBytes(1, B) / 4, 1]));
  const h = k.arena.f32(B),
    v = k.arena.f32(B);
  [h[B - 2], v[B - 2], h[B - 1], v[B - 1]] = [C, 1, A, A];
  const out = k.arena.f32(1);
  k.gemmNT(h, v, 1, B, out, k.arena.f32(gemmPackedBytes(1, B) / 4));
  return out[0];
}

// V8 fuses f32x4.relaxed_madd on x64 with FMA3 (every x64 CPU since 2013) and on arm64; on a
// CPU without it relaxed_madd is mul+add, and this test says that the 'fma' variant is not fused there.
describe.skipIf(!fma)("the 'fma' products (needs WebAssembly relaxed SIMD: Node >= 22)", () => {
  // Created when the tests run (the describe body runs on Node 20 too, where 'fma' throws).
  let fused: SparseKernels, muladd: SparseKernels;
  beforeAll(() => {
    fused = createWasmKernels({ variant: 'fma', team: null });
    muladd = createWasmKernels({ variant: 'muladd', team: null });
  });

  it('fuse: a·a + c keeps the 2^-24 that mul+add rounds away, in every code path (B = 1…21) and in the GEMM', () => {
    for (const B of [1, 2, 3, 4, 5, 7, 8, 16, 17, 20, 21]) {
      const f = probeSparse(fused, B);
      const m = probeSparse(muladd, B);
      const j = probeSparse(createJsKernels(), B);
      expect([...f.spmm], `spmm B ${B}`).toEqual(new Array(B).fill(2 ** -24));
      expect([...f.axpy], `axpyRows B ${B}`).toEqual(new Array(B).fill(2 ** -24));
      expect([...m.spmm, ...m.axpy]).toEqual(new Array(2 * B).fill(0));
      expect([...j.spmm, ...j.axpy]).toEqual(new Array(2 * B).fill(0));
    }
    for (const B of [2, 3, 9]) {
      expect(probeGemm(fused, B), `gemmNT B ${B}`).toBe(2 ** -24);
      expect(probeGemm(muladd, B)).toBe(0);
    }
  });

  for (const [p, q, B, maxDeg] of [
    [9, 5, 3, 5],
    [17, 11, 7, 9],
    [14, 20, 17, 8],
    [30, 30, 64, 40],
    [23, 19, 130, 7],
  ] as const) {
    it(`spmm within γ_m of the float64 sum, axpyRows correctly rounded: p ${p}, q ${q}, B ${B}, rows [1, ${p - 1})`, () => {
      const r = rng(31 * p + B);
      const ptr = new Int32Array(p + 1),
        idx: number[] = [];
      for (let k = 0; k < p; k++) {
        const deg = k % 5 === 2 ? 0 : 1 + Math.floor(r() * maxDeg);
        for (let e = 0; e < deg; e++) idx.push(Math.floor(r() * q));
        ptr[k + 1] = idx.length;
      }
      const w0 = randomF32(r, idx.length),
        x0 = randomF32(r, q * B),
        out0 = randomF32(r, p * B),
        g0 = randomF32(r, B),
        a0 = randomF32(r, p * B);
      const k = fused;
      k.arena.reset(arenaBytes([p + 1, idx.length, idx.length, q * B, p * B, B, p * B, p * B]));
      const [P, I] = [k.arena.i32(p + 1), k.arena.i32(idx.length)];
      P.set(ptr);
      I.set(idx);
      const [W, X, OUT, G, AA, ACC] = [w0, x0, out0, g0, a0, out0].map((src) => {
        const dst = k.arena.f32(src.length);
        dst.set(src);
        return dst;
      });
      const [lo, hi] = [1, p - 1];
      k.spmm(P, I, W, lo, hi, X, OUT, B);
      k.axpyRows(G, AA, lo, hi, B, ACC);
      const exact = Float64Array.from(out0),
        bound = new Float64Array(p * B),
        exactAxpy = Float64Array.from(out0),
        boundAxpy = new Float64Array(p * B);
      for (let row = lo; row < hi; row++) {
        const m = ptr[row + 1] - ptr[row];
        for (let b = 0; b < B; b++) {
          const i = row * B + b;
          let mag = Math.abs(out0[i]);
          for (let e = ptr[row]; e < ptr[row + 1]; e++) {
            const t = w0[e] * x0[idx[e] * B + b];
            exact[i] += t;
            mag += Math.abs(t);
          }
          bound[i] = (gamma(m) + (m + 1) * 2 ** -53) * mag;
          exactAxpy[i] += g0[b] * a0[i];
          boundAxpy[i] = (u + 2 ** -52) * Math.abs(exactAxpy[i]);
        }
      }
      // Rows outside [lo, hi) are untouched: bound 0.
      expectWithin(OUT, exact, bound, 'spmm');
      expectWithin(ACC, exactAxpy, boundAxpy, 'axpyRows');
    });
  }

  it('a column gives the same bits whichever code path computes it (16-, 4-wide, the overlapping tail, one column)', () => {
    const p = 12,
      B = 23;
    const r = rng(5);
    const k = fused;
    const nnz = 3 * p;
    k.arena.reset(arenaBytes([p + 1, nnz, nnz, p * B, p * B, p, p, p]));
    const ptr = k.arena.i32(p + 1),
      idx = k.arena.i32(nnz),
      w = k.arena.f32(nnz);
    for (let row = 0; row < p; row++) ptr[row + 1] = 3 * (row + 1);
    for (let e = 0; e < nnz; e++) [idx[e], w[e]] = [Math.floor(r() * p), r() * 2 - 1];
    const x = k.arena.f32(p * B),
      out = k.arena.f32(p * B);
    for (let i = 0; i < p * B; i++) [x[i], out[i]] = [r() * 2 - 1, r() * 2 - 1];
    const before = out.slice();
    k.spmm(ptr, idx, w, 0, p, x, out, B);
    const xc = k.arena.f32(p),
      oc = k.arena.f32(p);
    for (let b = 0; b < B; b++) {
      for (let row = 0; row < p; row++) [xc[row], oc[row]] = [x[row * B + b], before[row * B + b]];
      k.spmm(ptr, idx, w, 0, p, xc, oc, 1);
      for (let row = 0; row < p; row++) expect(Object.is(oc[row], out[row * B + b]), `row ${row}, column ${b}`).toBe(true);
    }
  });

  it('gemmNT within γ_B·Σ|h·v| of float64; the kernels and createGemmKernel (the GEMM over tfjs-wasm’s heap) give the same bits', () => {
    for (const [p, B] of [
      [37, 5],
      [61, 64],
      [130, 127],
    ] as const) {
      const r = rng(p + B);
      const h0 = randomF32(r, p * B),
        v0 = randomF32(r, p * B);
      const k = fused;
      const packed = gemmPackedBytes(p, B) / 4;
      k.arena.reset(arenaBytes([p * B, p * B, packed, p * p]));
      const [h, v] = [k.arena.f32(p * B), k.arena.f32(p * B)];
      h.set(h0);
      v.set(v0);
      const out = k.arena.f32(p * p);
      k.gemmNT(h, v, p, B, out, k.arena.f32(packed));
      const exact = new Float64Array(p * p),
        bound = new Float64Array(p * p);
      for (let j = 0; j < p; j++)
        for (let c = 0; c < p; c++) {
          let s = 0,
            mag = 0;
          for (let b = 0; b < B; b++) {
            const t = h0[j * B + b] * v0[c * B + b];
            s += t;
            mag += Math.abs(t);
          }
          exact[j * p + c] = s;
          bound[j * p + c] = (gamma(B) + (B + 1) * 2 ** -53) * mag;
        }
      expectWithin(out, exact, bound, `gemmNT p ${p} B ${B}`);

      const memory = new WebAssembly.Memory({ initial: Math.ceil((4 * (2 * p * B + packed + p * p)) / 65536) });
      const g = createGemmKernel(memory, 'fma');
      const f = new Float32Array(memory.buffer);
      f.set(h0, 0);
      f.set(v0, p * B);
      g.packV(4 * p * B, p, B, 8 * p * B);
      g.gemmNT(0, 8 * p * B, 0, p, p, B, 4 * (2 * p * B + packed), p);
      const heapOut = new Float32Array(memory.buffer, 4 * (2 * p * B + packed), p * p);
      expect(Buffer.from(heapOut.buffer, heapOut.byteOffset, heapOut.byteLength).equals(Buffer.from(out.buffer, out.byteOffset, out.byteLength))).toBe(true);
    }
  });
});
