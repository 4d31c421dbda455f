/**
 * Microbenchmark of the sparse kernels, js vs wasm SIMD: GFLOP/s per kernel and
 * shape (best of several timed batches, after warm-up), then GB/s of the
 * element-wise kernels (tanh, relativeStep, addMul, andersonDiffs), each with a
 * bit-identity check of the two implementations' outputs. The wasm kernels are the
 * default variant (the header says which): with 'fma' (relaxed SIMD, Node ≥ 22) spmm and
 * axpyRows are not bit-identical to js by design ('fma' in the last column);
 * `NM_KERNELS=muladd` checks the mul+add variant. bench/fma.ts times the two variants.
 *
 * Run: npx tsx bench/kernels.ts
 */
import { sparseKernels, arenaBytes, type SparseKernels } from 'tfjs-neural-modules/internal';
import { runtimeLabel } from './runtime.js';

/** Seeded LCG in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Problem {
  p: number;
  B: number;
  ptr: Int32Array;
  idx: Int32Array;
  w: Float32Array;
  x: Float32Array;
}

function problem(p: number, deg: number, B: number, seed = 1): Problem {
  const r = rng(seed);
  const ptr = new Int32Array(p + 1);
  const idx = new Int32Array(p * deg);
  const w = new Float32Array(p * deg);
  for (let k = 0; k < p; k++) {
    ptr[k + 1] = ptr[k] + deg;
    for (let e = k * deg; e < (k + 1) * deg; e++) {
      idx[e] = Math.floor(r() * p);
      w[e] = r() - 0.5;
    }
  }
  const x = new Float32Array(p * B);
  for (let i = 0; i < x.length; i++) x[i] = r() - 0.5;
  return { p, B, ptr, idx, w, x };
}

/** Best seconds per call over 5 batches of calls (each batch ≥ ~40 ms), after ~100 ms of warm-up. */
function time(fn: () => void): number {
  let reps = 1;
  const warmEnd = performance.now() + 100;
  while (performance.now() < warmEnd) fn();
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    if (performance.now() - t0 > 40) break;
    reps *= 2;
  }
  let best = Infinity;
  for (let batch = 0; batch < 5; batch++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  return best / 1000;
}

interface Result {
  seconds: number;
  out: Float32Array;
}

type Kernel = 'spmm' | 'dotRows' | 'axpyRows';

/** Copies the problem into `k`'s arena, times one kernel, returns the time and a copy of one fresh call's output. */
function run(k: SparseKernels, kernel: Kernel, pr: Problem): Result {
  const { p, B } = pr;
  const nnz = pr.ptr[p];
  k.arena.reset(arenaBytes([p + 1, nnz, nnz, p * B, p * B, B]));
  const ptr = k.arena.i32(p + 1),
    idx = k.arena.i32(nnz),
    w = k.arena.f32(nnz);
  const x = k.arena.f32(p * B),
    out = k.arena.f32(p * B),
    small = k.arena.f32(B);
  ptr.set(pr.ptr);
  idx.set(pr.idx);
  w.set(pr.w);
  x.set(pr.x);
  for (let b = 0; b < B; b++) small[b] = 1e-3 * (b + 1);
  const call =
    kernel === 'spmm'
      ? () => k.spmm(ptr, idx, w, 0, p, x, out, B)
      : kernel === 'dotRows'
        ? () => k.dotRows(x, x, 0, p, B, small)
        : () => k.axpyRows(small, x, 0, p, B, out);
  const seconds = time(call);
  // One call from a known state, for the bit-identity check.
  out.fill(0);
  small.fill(0.5);
  call();
  return { seconds, out: Float32Array.from(kernel === 'dotRows' ? small : out) };
}

function identical(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

const js = sparseKernels('js');
const wasm = sparseKernels('auto');
if (wasm.name !== 'wasm-simd') console.log('WARNING: WebAssembly SIMD unavailable; "wasm" column is js.');

const cases: Array<{ kernel: Kernel; p: number; deg: number; B: number }> = [
  { kernel: 'spmm', p: 300, deg: 15, B: 64 },
  { kernel: 'spmm', p: 3000, deg: 30, B: 128 },
  { kernel: 'spmm', p: 3000, deg: 30, B: 32 },
  { kernel: 'spmm', p: 3000, deg: 30, B: 130 },
  { kernel: 'spmm', p: 3000, deg: 30, B: 7 },
  { kernel: 'dotRows', p: 300, deg: 1, B: 64 },
  { kernel: 'dotRows', p: 3000, deg: 1, B: 128 },
  { kernel: 'axpyRows', p: 300, deg: 1, B: 64 },
  { kernel: 'axpyRows', p: 3000, deg: 1, B: 128 },
];

console.log(`${runtimeLabel()}; best of 5 batches; GFLOP/s = 2·(multiply-adds) / time`);
console.log('kernel    shape                         js ms  js GF/s   wasm ms  wasm GF/s  speed-up  identical');
for (const c of cases) {
  const pr = problem(c.p, c.deg, c.B);
  const flops = c.kernel === 'spmm' ? 2 * pr.ptr[c.p] * c.B : 2 * c.p * c.B;
  const a = run(js, c.kernel, pr);
  const b = run(wasm, c.kernel, pr);
  const shape = c.kernel === 'spmm' ? `p=${c.p} nnz/row=${c.deg} B=${c.B}` : `p=${c.p} B=${c.B}`;
  console.log(
    [
      c.kernel.padEnd(9),
      shape.padEnd(28),
      (a.seconds * 1e3).toFixed(3).padStart(7),
      (flops / a.seconds / 1e9).toFixed(2).padStart(8),
      (b.seconds * 1e3).toFixed(3).padStart(9),
      (flops / b.seconds / 1e9).toFixed(2).padStart(10),
      `${(a.seconds / b.seconds).toFixed(1)}×`.padStart(9),
      (identical(a.out, b.out) ? 'yes' : wasm.variant === 'fma' && c.kernel !== 'dotRows' ? 'fma' : 'NO').padStart(10),
    ].join(' '),
  );
}

// ---- Element-wise kernels: GB/s = bytes read + written per call / time.

type Elementwise = 'tanh' | 'relativeStep' | 'addMul' | 'andersonDiffs (first)' | 'andersonDiffs';
/** Bytes read + written per element. */
const ewBytes: Record<Elementwise, number> = {
  tanh: 8,
  relativeStep: 8,
  addMul: 16,
  'andersonDiffs (first)': 20, // reads g, x; writes r, prevG, prevR
  andersonDiffs: 36, // also reads prevG, prevR and writes dG, dR
};

/** Times one element-wise kernel on n elements in `k`'s arena; returns the time and one fresh call's outputs. */
function runElementwise(k: SparseKernels, kernel: Elementwise, n: number): Result & { scalar: number } {
  const r = rng(3);
  k.arena.reset(arenaBytes(new Array<number>(7).fill(n)));
  const [a, b, c, d, e, f, g] = Array.from({ length: 7 }, () => k.arena.f32(n));
  const fill = () => {
    for (const v of [a, b, c, d, e, f, g]) for (let i = 0; i < n; i++) v[i] = 4 * r() - 2;
  };
  fill();
  let scalar = 0;
  const call: () => void = {
    tanh: () => k.tanh(a, b),
    relativeStep: () => {
      scalar = k.relativeStep(a, b);
    },
    addMul: () => k.addMul(a, b, c, d),
    'andersonDiffs (first)': () => k.andersonDiffs(a, b, c, d, e, null, null),
    andersonDiffs: () => k.andersonDiffs(a, b, c, d, e, f, g),
  }[kernel];
  const seconds = time(call);
  fill();
  call();
  const outs = { tanh: [b], relativeStep: [], addMul: [d], 'andersonDiffs (first)': [c, d, e], andersonDiffs: [c, d, e, f, g] }[kernel];
  const out = new Float32Array(outs.length * n);
  outs.forEach((v, i) => out.set(v, i * n));
  return { seconds, out, scalar };
}

console.log('');
console.log('kernel                   n          js ms  js GB/s   wasm ms  wasm GB/s  speed-up  identical');
for (const n of [64 * 300, 128 * 3000]) {
  for (const kernel of ['tanh', 'relativeStep', 'addMul', 'andersonDiffs (first)', 'andersonDiffs'] as const) {
    const a = runElementwise(js, kernel, n);
    const b = runElementwise(wasm, kernel, n);
    const gb = (ewBytes[kernel] * n) / 1e9;
    const same = identical(a.out, b.out) && Object.is(a.scalar, b.scalar);
    console.log(
      [
        kernel.padEnd(24),
        String(n).padEnd(9),
        (a.seconds * 1e3).toFixed(4).padStart(8),
        (gb / a.seconds).toFixed(2).padStart(8),
        (b.seconds * 1e3).toFixed(4).padStart(9),
        (gb / b.seconds).toFixed(2).padStart(10),
        `${(a.seconds / b.seconds).toFixed(1)}×`.padStart(9),
        (same ? 'yes' : 'NO').padStart(10),
      ].join(' '),
    );
  }
}
