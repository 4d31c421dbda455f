import initWabt from 'wabt';
import { kernelSource } from '../scripts/kernel_source.mjs';
import { describe, expect, it } from 'vitest';
import { GEMM_PANEL, createGemmKernel, gemmNTJs, gemmPackedBytes, gemmWasmBytes } from '../src/kernels/gemm.js';
import { GEMM_WASM_BASE64 } from '../src/kernels/gemm_wasm_bytes.js';
import type { KernelVariant } from '../src/kernels/kernel_variant.js';
import { KERNEL_VARIANTS, itForVariant } from './helpers/variants.js';
import { relaxedSimdSupported } from '../src/kernels/relaxed_simd.js';
import { ConfigError } from '../src/utils/errors.js';
import { expectClose } from './helpers/close.js';

/** Seeded LCG in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** n random f32 values in (-2, 2), with some exact zeros and magnitudes spread over a few decades. */
function randomF32(r: () => number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() < 0.05 ? 0 : (r() * 2 - 1) * 2 ** Math.floor(r() * 6 - 4);
  return a;
}

/** Sentinel for entries a call must not write. */
const UNTOUCHED = -12345.5;

/** A wasm memory laid out as [h | v | vp | out], every region at a 4-byte (not 16-byte) aligned offset. */
function setup(p: number, B: number, ldo: number, seed: number, variant: KernelVariant = 'muladd') {
  const r = rng(seed);
  const h = randomF32(r, p * B),
    v = randomF32(r, p * B);
  const hOff = 4,
    vOff = hOff + p * B * 4 + 8,
    vpOff = vOff + p * B * 4 + 4,
    outOff = vpOff + gemmPackedBytes(p, B) + 12;
  const outLen = p * ldo;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((outOff + outLen * 4 + 64) / 65536) });
  const f32 = new Float32Array(memory.buffer);
  f32.set(h, hOff / 4);
  f32.set(v, vOff / 4);
  f32.fill(NaN, vpOff / 4, (vpOff + gemmPackedBytes(p, B)) / 4); // packV must overwrite all of it, padding included
  f32.fill(UNTOUCHED, outOff / 4, outOff / 4 + outLen);
  const kernel = createGemmKernel(memory, variant);
  const out = () => new Float32Array(memory.buffer, outOff, outLen);
  return { h, v, kernel, memory, hOff, vOff, vpOff, outOff, outLen, out };
}

/** Asserts that a and b hold the same f32 bit patterns, naming the first differing entry [j, k] of a row stride ldo. */
function expectSameBits(a: Float32Array, b: Float32Array, ldo: number): void {
  expect(a.length).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length),
    ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const i = ua.findIndex((x, n) => x !== ub[n]);
  if (i >= 0) expect.fail(`out[${Math.floor(i / ldo)}, ${i % ldo}]: wasm ${a[i]}, gemmNTJs ${b[i]} (bits differ)`);
}

/**
 * Float64 G[j,k] and the f32 error bound n·2^-24·Σ|h·v| (plus a tiny floor) of a sequential f32 sum:
 * n = B + 1 with mul+add (B sums and B products rounded), n = B with a fused multiply-add.
 */
function reference64(h: Float32Array, v: Float32Array, j: number, k: number, B: number, n = B + 1): { g: number; tol: number } {
  let g = 0,
    mag = 0;
  for (let b = 0; b < B; b++) {
    g += h[j * B + b] * v[k * B + b];
    mag += Math.abs(h[j * B + b] * v[k * B + b]);
  }
  return { g, tol: 1.01 * n * 2 ** -24 * mag + 1e-30 };
}

// [p, B, jLo, jHi, ldo]: p not a multiple of 4 or 16, odd row counts, jLo > 0, jHi < p, ldo > p.
const SHAPES: [number, number, number, number, number][] = [
  [37, 1, 0, 37, 37],
  [23, 3, 5, 18, 29],
  [50, 5, 1, 50, 53],
  [61, 64, 7, 44, 64],
  [33, 127, 3, 30, 40],
  [130, 128, 0, 129, 131],
  [16, 4, 0, 16, 16],
  [5, 128, 2, 3, 7],
  [19, 128, 18, 19, 19],
  [47, 12, 0, 2, 47],
];

/** Runtimes without WebAssembly SIMD cannot run the kernel (the JS twin and the bytes check still run). */
const simd = WebAssembly.validate(gemmWasmBytes());

describe.skipIf(!simd)('gemm wasm kernel', () => {
  it('ships a module under 4 KB that imports env.memory', () => {
    const bytes = gemmWasmBytes();
    expect(bytes.length).toBeLessThan(4096);
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
    expect(imports).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
  });

  it('packV writes 16-node b-major panels with zero padding', () => {
    const p = 19,
      B = 3;
    const s = setup(p, B, p, 1);
    s.kernel.packV(s.vOff, p, B, s.vpOff);
    const vp = new Float32Array(s.memory.buffer, s.vpOff, gemmPackedBytes(p, B) / 4);
    expect(vp.length).toBe(2 * GEMM_PANEL * B);
    for (let q = 0; q < 2; q++)
      for (let b = 0; b < B; b++)
        for (let c = 0; c < GEMM_PANEL; c++) {
          const k = q * GEMM_PANEL + c;
          expect(vp[(q * B + b) * GEMM_PANEL + c]).toBe(k < p ? s.v[k * B + b] : 0);
        }
  });

  for (const [p, B, jLo, jHi, ldo] of SHAPES) {
    it(`p=${p} B=${B} rows [${jLo}, ${jHi}) ldo=${ldo}: bit-identical to gemmNTJs, close to float64, nothing else written`, () => {
      const s = setup(p, B, ldo, 1000 + p * 7 + B, 'muladd');
      s.kernel.packV(s.vOff, p, B, s.vpOff);
      s.kernel.gemmNT(s.hOff, s.vpOff, jLo, jHi, p, B, s.outOff, ldo);
      const got = s.out();

      const twin = new Float32Array(s.outLen).fill(UNTOUCHED);
      gemmNTJs(s.h, s.v, jLo, jHi, p, B, twin, ldo);
      expectSameBits(got, twin, ldo);

      const expected: number[] = [],
        actual: number[] = [],
        twinVals: number[] = [],
        atol: number[] = [];
      for (let j = 0; j < p; j++)
        for (let k = 0; k < ldo; k++) {
          const i = j * ldo + k;
          if (j < jLo || j >= jHi || k >= p) {
            expect(got[i], `out[${j}, ${k}] outside the written block`).toBe(UNTOUCHED);
            continue;
          }
          const { g, tol } = reference64(s.h, s.v, j, k, B);
          expected.push(g);
          actual.push(got[i]);
          twinVals.push(twin[i]);
          atol.push(tol);
        }
      expect(actual.length).toBe((jHi - jLo) * p);
      expectClose(actual, expected, { atol });
      expectClose(twinVals, expected, { atol });
    });
  }

  for (const [p, B, jLo, jHi, ldo] of SHAPES) {
    it.skipIf(!relaxedSimdSupported())(
      `fma: p=${p} B=${B} rows [${jLo}, ${jHi}) ldo=${ldo}: within γ_B·Σ|h·v| of float64, nothing else written (needs relaxed SIMD)`,
      () => {
        const s = setup(p, B, ldo, 1000 + p * 7 + B, 'fma');
        s.kernel.packV(s.vOff, p, B, s.vpOff);
        s.kernel.gemmNT(s.hOff, s.vpOff, jLo, jHi, p, B, s.outOff, ldo);
        const got = s.out();
        const expected: number[] = [],
          actual: number[] = [],
          atol: number[] = [];
        for (let j = 0; j < p; j++)
          for (let k = 0; k < ldo; k++) {
            const i = j * ldo + k;
            if (j < jLo || j >= jHi || k >= p) {
              expect(got[i], `out[${j}, ${k}] outside the written block`).toBe(UNTOUCHED);
              continue;
            }
            const { g, tol } = reference64(s.h, s.v, j, k, B, B);
            expected.push(g);
            actual.push(got[i]);
            atol.push(tol);
          }
        expect(actual.length).toBe((jHi - jLo) * p);
        expectClose(actual, expected, { atol });
      },
    );
  }

  for (const variant of KERNEL_VARIANTS)
    itForVariant(variant, 'two row ranges give the same bits as one call (the two-thread split)', () => {
      const p = 45,
        B = 33;
      const a = setup(p, B, p, 7, variant),
        b = setup(p, B, p, 7, variant);
      a.kernel.packV(a.vOff, p, B, a.vpOff);
      a.kernel.gemmNT(a.hOff, a.vpOff, 0, p, p, B, a.outOff, p);
      b.kernel.packV(b.vOff, p, B, b.vpOff);
      b.kernel.gemmNT(b.hOff, b.vpOff, 17, p, p, B, b.outOff, p);
      b.kernel.gemmNT(b.hOff, b.vpOff, 0, 17, p, B, b.outOff, p);
      expectSameBits(b.out(), a.out(), p);
    });

  it('empty row ranges write nothing; B = 0 writes +0', () => {
    const p = 9;
    const s = setup(p, 4, p, 3);
    s.kernel.packV(s.vOff, p, 4, s.vpOff);
    s.kernel.gemmNT(s.hOff, s.vpOff, 4, 4, p, 4, s.outOff, p);
    expect(s.out().every((x) => x === UNTOUCHED)).toBe(true);
    s.kernel.packV(s.vOff, p, 0, s.vpOff);
    s.kernel.gemmNT(s.hOff, s.vpOff, 2, 5, p, 0, s.outOff, p);
    const got = s.out();
    for (let i = 0; i < got.length; i++) expect(Object.is(got[i], i >= 2 * p && i < 5 * p ? 0 : UNTOUCHED)).toBe(true);
  });

  it('rejects bad offsets, ranges and overlapping output with a ConfigError', () => {
    const p = 20,
      B = 8;
    const s = setup(p, B, p, 5);
    const k = s.kernel;
    expect(() => k.packV(s.vOff + 2, p, B, s.vpOff)).toThrow(ConfigError);
    expect(() => k.packV(s.vOff, p, B, s.vOff + 16)).toThrow(/overlap/);
    expect(() => k.gemmNT(s.hOff, s.vpOff, 0, p + 1, p, B, s.outOff, p)).toThrow(/jHi/);
    expect(() => k.gemmNT(s.hOff, s.vpOff, 3, 2, p, B, s.outOff, p)).toThrow(/jHi/);
    expect(() => k.gemmNT(s.hOff, s.vpOff, 0, p, p, B, s.outOff, p - 1)).toThrow(/ldo/);
    expect(() => k.gemmNT(s.hOff, s.vpOff, 0, p, p, B, s.memory.buffer.byteLength - 16, p)).toThrow(/memory has/);
    expect(() => k.gemmNT(s.hOff, s.vpOff, 0, p, p, B, s.vpOff, p)).toThrow(/overlap/);
    expect(() => k.gemmNT(s.hOff, s.vpOff, 0, p, p, 1.5, s.outOff, p)).toThrow(/'B'/);
    expect(() => k.gemm(s.hOff, s.vpOff, p, p, B, s.vpOff)).toThrow(/gemm gemm: 'out' .* overlap 'vp'/);
    expect(() => k.gemm(s.hOff, s.vpOff, -1, p, B, s.outOff)).toThrow(/gemm gemm: 'm'/);
    expect(() => k.gemm(s.hOff, s.vpOff, p, p, B, s.memory.buffer.byteLength - 16)).toThrow(/memory has/);
    expect(s.out().every((x) => x === UNTOUCHED)).toBe(true);
  });
});

// Unconditional: a gemm.wat edited without `npm run build:kernels` fails here on every machine.
describe('embedded gemm bytes', () => {
  it('are the bytes compiled from gemm.wat (run `npm run build:kernels` if this fails)', async () => {
    const wabt = await initWabt();
    const mod = wabt.parseWat('gemm.wat', kernelSource('gemm'), { simd: true });
    mod.resolveNames();
    mod.validate();
    const bin = mod.toBinary({ log: false, write_debug_names: false }).buffer;
    mod.destroy();
    expect(bin.length).toBeGreaterThan(100);
    expect(Buffer.from(bin).toString('base64')).toBe(GEMM_WASM_BASE64);
    expect(Buffer.from(gemmWasmBytes()).toString('base64')).toBe(GEMM_WASM_BASE64);
  });
});

describe('gemmNTJs', () => {
  it.skipIf(!simd)('sums in b order from +0 in f32, like the kernel (order-sensitive case)', () => {
    // h·v products 2^24, 1, 1, -2^24: sequential f32 gives (2^24 + 1) → 2^24, + 1 → 2^24, − 2^24 = 0.
    const h = new Float32Array([2 ** 24, 1, 1, -(2 ** 24)]),
      v = new Float32Array([1, 1, 1, 1]);
    const out = new Float32Array(1);
    gemmNTJs(h, v, 0, 1, 1, 4, out, 1);
    expect(out[0]).toBe(0);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const f32 = new Float32Array(memory.buffer);
    f32.set(h, 0);
    f32.set(v, 4);
    const k = createGemmKernel(memory, 'muladd');
    k.packV(16, 1, 4, 64);
    k.gemmNT(0, 64, 0, 1, 1, 4, 1024, 1);
    expect(f32[256]).toBe(0);
  });
});
