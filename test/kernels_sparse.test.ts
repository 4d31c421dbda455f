/**
 * The sparse kernels (spmm, dotRows, axpyRows) and their arena on every implementation
 * (js twins, wasm mul+add and, where relaxed SIMD validates, wasm fma) against a float64
 * reference; the wasm SIMD module's specifics (bit-identical to js, memory checks, caching)
 * and its embedded bytes against sparse.wat.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';
import { kernelSource } from '../scripts/kernel_source.mjs';
import { describe, expect, it } from 'vitest';
import {
  ARENA_ALIGN,
  TypedArena,
  arenaBytes,
  createWasmKernels,
  sparseKernels,
  sparseWasmBytes,
  wasmSimdSupported,
  type SparseKernels,
} from '../src/kernels/index.js';
import { SPARSE_WASM_BASE64 } from '../src/kernels/sparse_wasm_bytes.js';
import { relaxedSimdSupported } from '../src/kernels/relaxed_simd.js';
import { expectClose } from './helpers/close.js';
import { bitsEqual, f32In, impls, randomF32 } from './helpers/kernel_arrays.js';
import { rng } from './helpers/rng.js';

/** A random CSR matrix [p, q] with 0..maxDeg nonzeros per row (some rows empty), plain arrays. */
function randomCsr(r: () => number, p: number, q: number, maxDeg: number) {
  const ptr = new Int32Array(p + 1);
  const idx: number[] = [];
  const w: number[] = [];
  for (let k = 0; k < p; k++) {
    const deg = r() < 0.2 ? 0 : Math.floor(r() * (maxDeg + 1));
    for (let e = 0; e < deg; e++) {
      idx.push(Math.floor(r() * q));
      w.push(r() * 2 - 1);
    }
    ptr[k + 1] = idx.length;
  }
  return { ptr, idx: Int32Array.from(idx), w: Float32Array.from(w) };
}

/** Copies `src` into a fresh arena array of the same kind. */
function i32In(k: SparseKernels, src: Int32Array): Int32Array {
  const a = k.arena.i32(src.length);
  a.set(src);
  return a;
}

/** Expects `got` to match the float64 reference within `rel` of the magnitude of the terms summed into each element. */
function expectWithinSummed(got: Float32Array, ref: Float64Array, mag: Float64Array, rel: number, label: string): void {
  expectClose(got, ref, { atol: Float64Array.from(mag, (m) => m * rel) }, label);
}

/** `impls` plus the wasm 'fma' variant where relaxed SIMD validates (the products differ from the twins in the last bits; test/kernel_variant.test.ts). */
const productImpls: SparseKernels[] = [...impls, ...(relaxedSimdSupported() ? [createWasmKernels({ variant: 'fma' })] : [])];
// [p (rows of out), q (rows of x), B, max nonzeros per row]
const shapes: Array<[number, number, number, number]> = [
  [6, 6, 1, 4],
  [9, 5, 3, 5],
  [13, 13, 4, 6],
  [17, 11, 7, 9],
  [11, 11, 16, 5],
  [14, 20, 17, 8],
  [30, 30, 64, 12],
  [23, 19, 130, 7],
];

/** Runs all three kernels on `k` with seeded data; returns the outputs. */
function runAll(k: SparseKernels, [p, q, B, maxDeg]: [number, number, number, number], lo: number, hi: number, seed: number) {
  const r = rng(seed);
  const csr = randomCsr(r, p, q, maxDeg);
  const x0 = randomF32(r, q * B),
    out0 = randomF32(r, p * B),
    a0 = randomF32(r, p * B),
    c0 = randomF32(r, p * B);
  const g0 = randomF32(r, B),
    s0 = randomF32(r, B);
  const nnz = csr.idx.length;
  k.arena.reset(arenaBytes([p + 1, nnz, nnz, q * B, p * B, p * B, p * B, p * B, B, B]));
  const ptr = i32In(k, csr.ptr),
    idx = i32In(k, csr.idx),
    w = f32In(k, csr.w),
    x = f32In(k, x0);
  const spmmOut = f32In(k, out0),
    a = f32In(k, a0),
    c = f32In(k, c0),
    axpyOut = f32In(k, out0);
  const g = f32In(k, g0),
    dots = f32In(k, s0);
  k.spmm(ptr, idx, w, lo, hi, x, spmmOut, B);
  k.dotRows(a, c, lo, hi, B, dots);
  k.axpyRows(g, a, lo, hi, B, axpyOut);

  // float64 references and, per element, the magnitude of what was summed.
  const refSpmm = Float64Array.from(out0),
    magSpmm = Float64Array.from(out0, Math.abs);
  const refAxpy = Float64Array.from(out0),
    magAxpy = Float64Array.from(out0, Math.abs);
  const refDots = Float64Array.from(s0),
    magDots = Float64Array.from(s0, Math.abs);
  for (let row = lo; row < hi; row++) {
    for (let b = 0; b < B; b++) {
      const i = row * B + b;
      for (let e = csr.ptr[row]; e < csr.ptr[row + 1]; e++) {
        const t = csr.w[e] * x0[csr.idx[e] * B + b];
        refSpmm[i] += t;
        magSpmm[i] += Math.abs(t);
      }
      refAxpy[i] += g0[b] * a0[i];
      magAxpy[i] += Math.abs(g0[b] * a0[i]);
      refDots[b] += a0[i] * c0[i];
      magDots[b] += Math.abs(a0[i] * c0[i]);
    }
  }
  return {
    spmm: Float32Array.from(spmmOut),
    dots: Float32Array.from(dots),
    axpy: Float32Array.from(axpyOut),
    out0,
    check(): void {
      // f32 sums of up to maxDeg + 1 terms: a few ulps of the summed magnitude.
      expectWithinSummed(this.spmm, refSpmm, magSpmm, (maxDeg + 2) * 2 ** -23, 'spmm');
      expectWithinSummed(this.axpy, refAxpy, magAxpy, 2 * 2 ** -23, 'axpyRows');
      // f64 sums, one f32 rounding.
      expectWithinSummed(this.dots, refDots, magDots, 2 ** -23, 'dotRows');
      // Rows outside [lo, hi) untouched, bit for bit.
      for (const got of [this.spmm, this.axpy]) {
        expect(bitsEqual(got.subarray(0, lo * B), out0.subarray(0, lo * B))).toBe(true);
        expect(bitsEqual(got.subarray(hi * B), out0.subarray(hi * B))).toBe(true);
      }
    },
  };
}

describe.each(productImpls.map((k) => [`${k.name} ${k.variant}`, k] as const))('sparse kernels (%s)', (_name, k) => {
  for (const shape of shapes) {
    const [p, q, B] = shape;
    it(`match the float64 reference: p=${p} q=${q} B=${B}, full and sub-ranges`, () => {
      const ranges: Array<[number, number]> = [
        [0, p],
        [2, p - 3],
        [p - 1, p],
        [3, 3],
        [0, 0],
      ];
      ranges.forEach(([lo, hi], i) => runAll(k, shape, lo, hi, 100 * p + B + i).check());
    });
  }

  it('hands out aligned, zero-filled arena views and enforces the reset() capacity', () => {
    k.arena.reset(arenaBytes([3, 5, 1]));
    const a = k.arena.f32(3);
    a.fill(7);
    const b = k.arena.i32(5),
      c = k.arena.f32(1);
    for (const v of [a, b, c]) expect(v.byteOffset % ARENA_ALIGN).toBe(0);
    expect(() => k.arena.f32(1)).toThrow(/reserved by the last reset\(\)/);
    k.arena.reset(16);
    expect(Array.from(k.arena.f32(4))).toEqual([0, 0, 0, 0]);
    expect(() => k.arena.reset(-1)).toThrow(/'bytes' must be an integer >= 0/);
    expect(() => k.arena.f32(1.5)).toThrow(/'n' must be an integer >= 0/);
  });

  it('rejects bad ranges, short arrays and overlapping outputs with a named argument', () => {
    const B = 4,
      p = 3;
    k.arena.reset(arenaBytes([p + 1, 2, 2, p * B, p * B, B]));
    const ptr = k.arena.i32(p + 1),
      idx = k.arena.i32(2),
      w = k.arena.f32(2);
    const x = k.arena.f32(p * B),
      out = k.arena.f32(p * B),
      g = k.arena.f32(B);
    ptr.set([0, 1, 2, 2]);
    expect(() => k.spmm(ptr, idx, w, 2, 1, x, out, B)).toThrow(/spmm: 'hi' must be an integer in \[2/);
    expect(() => k.spmm(ptr, idx, w, -1, 1, x, out, B)).toThrow(/spmm: 'lo'/);
    expect(() => k.spmm(ptr, idx, w, 0, 1, x, out, 0)).toThrow(/spmm: 'B'/);
    expect(() => k.spmm(ptr, idx, w, 0, 1, x, out, 2.5)).toThrow(/spmm: 'B'/);
    expect(() => k.spmm(ptr, idx, w, 0, 4, x, out, B)).toThrow(/spmm: 'ptr' has length 4 but needs at least 5/);
    expect(() => k.spmm(ptr, idx, w, 0, 3, x, out, 5)).toThrow(/spmm: 'out' has length 12 but needs at least 15/);
    ptr[3] = 3;
    expect(() => k.spmm(ptr, idx, w, 0, 3, x, out, B)).toThrow(/spmm: 'idx' has length 2 but needs at least 3/);
    ptr[3] = 2;
    expect(() => k.spmm(ptr, idx, w, 0, 3, out, out, B)).toThrow(/spmm: 'x' overlaps/);
    expect(() => k.spmm(ptr, idx, w, 1, 2, out.subarray(0, B), out, B)).not.toThrow();
    expect(() => k.dotRows(x, x, 0, 3, B, out.subarray(0, 3))).toThrow(/dotRows: 'out' has length 3 but needs at least 4/);
    expect(() => k.dotRows(x, out, 0, 3, B, out.subarray(4, 8))).toThrow(/dotRows: 'c' overlaps/);
    expect(() => k.axpyRows(g.subarray(1), x, 0, 3, B, out)).toThrow(/axpyRows: 'g' has length 3/);
    expect(() => k.axpyRows(g, x, 0, 4, B, out)).toThrow(/axpyRows: 'a' has length 12 but needs at least 16/);
    expect(() => k.axpyRows(g, out.subarray(1), 0, 2, B, out)).toThrow(/axpyRows: 'a' overlaps/);
    expect(() => k.axpyRows(g, out, 0, 3, B, out)).not.toThrow(); // in place is fine
  });
});

describe.runIf(wasmSimdSupported())('wasm SIMD specifics', () => {
  const wasm = sparseKernels('wasm');
  const js = sparseKernels('js');

  it('the mul+add variant gives bit-identical results to the js kernels', () => {
    const muladd = createWasmKernels({ variant: 'muladd' });
    for (const shape of shapes) {
      const [p] = shape;
      const a = runAll(muladd, shape, 1, p, 7 + p);
      const b = runAll(js, shape, 1, p, 7 + p);
      expect(bitsEqual(a.spmm, b.spmm)).toBe(true);
      expect(bitsEqual(a.dots, b.dots)).toBe(true);
      expect(bitsEqual(a.axpy, b.axpy)).toBe(true);
    }
  });

  it('rejects arrays outside its memory or detached by a growing reset()', () => {
    wasm.arena.reset(1024);
    const x = wasm.arena.f32(8),
      out = wasm.arena.f32(8),
      g = wasm.arena.f32(4);
    const ptr = wasm.arena.i32(3),
      idx = wasm.arena.i32(1),
      w = wasm.arena.f32(1);
    const fix = /allocate it with kernels\.arena\.f32\/i32 after the last reset\(\)/;
    expect(() => wasm.spmm(ptr, idx, w, 0, 2, new Float32Array(8), out, 4)).toThrow(/spmm: 'x' is not a view .*another buffer/);
    expect(() => wasm.spmm(ptr, idx, w, 0, 2, new Float32Array(8), out, 4)).toThrow(fix);
    expect(() => wasm.spmm(new Int32Array(3), idx, w, 0, 2, x, out, 4)).toThrow(/'ptr'/);
    expect(() => wasm.dotRows(x, new Float32Array(8), 0, 2, 4, g)).toThrow(/dotRows: 'c'/);
    expect(() => wasm.axpyRows(g, x, 0, 2, 4, js.arena.f32(0))).toThrow(/axpyRows: 'out'/);
    expect(wasm.arena).toBeInstanceOf(TypedArena);
    const size = wasm.arena instanceof TypedArena ? wasm.arena.buffer.byteLength : 0;
    wasm.arena.reset(size + 1); // grows the memory, detaching every earlier view
    expect(out.length).toBe(0);
    expect(() => wasm.axpyRows(g, x, 0, 2, 4, out)).toThrow(/axpyRows: 'g' is not a view .*detached/);
  });

  it('is a small module, cached per kind, and auto picks it', () => {
    expect(sparseWasmBytes().length).toBeLessThan(4096);
    expect(WebAssembly.validate(sparseWasmBytes())).toBe(true);
    expect(sparseKernels()).toBe(wasm);
    expect(sparseKernels('auto').name).toBe('wasm-simd');
    expect(sparseKernels('js')).toBe(js);
    expect(js.name).toBe('js');
    expect(() => sparseKernels('gpu' as never)).toThrow(/'prefer' must be 'auto', 'wasm' or 'js'/);
  });
});

// Unconditional: wabt is a devDependency and compiling needs no SIMD at run time, so
// a sparse.wat edited without `npm run build:kernels` fails here on every machine.
describe('embedded kernel bytes', () => {
  it('are the bytes compiled from sparse.wat and sparse_elementwise.wat (run `npm run build:kernels` if this fails)', async () => {
    const wabt = await initWabt();
    const mod = wabt.parseWat('sparse.wat', kernelSource('sparse'), { simd: true });
    const bin = mod.toBinary({ log: false, write_debug_names: false }).buffer;
    mod.destroy();
    expect(bin.length).toBeGreaterThan(100);
    expect(Buffer.from(bin).toString('base64')).toBe(SPARSE_WASM_BASE64);
    expect(Buffer.from(sparseWasmBytes()).toString('base64')).toBe(SPARSE_WASM_BASE64);
  });

  // Listing the exports compiles the modules, which needs WebAssembly SIMD.
  it.runIf(wasmSimdSupported())('come from two files that are each a valid module, spliced into one in order', async () => {
    const wabt = await initWabt();
    const exportsOf = (name: string, text: string) => {
      const mod = wabt.parseWat(name, text, { simd: true });
      try {
        mod.resolveNames();
        mod.validate();
        return WebAssembly.Module.exports(new WebAssembly.Module(new Uint8Array(mod.toBinary({}).buffer))).map((e) => e.name);
      } finally {
        mod.destroy();
      }
    };
    const text = (f: string) => readFileSync(fileURLToPath(new URL(`../src/kernels/${f}`, import.meta.url)), 'utf8');
    const first = exportsOf('sparse.wat', text('sparse.wat'));
    const second = exportsOf('sparse_elementwise.wat', text('sparse_elementwise.wat'));
    expect(first).toEqual(['spmm', 'dotRows', 'axpyRows', 'permuteIn']);
    expect(second).toEqual(['relativeStep', 'addMul', 'andersonDiffs', 'adamUpdate', 'momentumUpdate']);
    expect(exportsOf('sparse (spliced)', kernelSource('sparse'))).toEqual([...first, ...second]);
  });
});
