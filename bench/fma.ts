/**
 * A/B of the kernels' two arithmetics (src/kernels/kernel_variant.ts) on one thread: the
 * fused multiply-add products ('fma', f32x4.relaxed_madd) against 'muladd', the shipped
 * kernels switched with the internal `useKernelVariant` (no module built here). Kernels:
 * the dense-gradient GEMM (`p × p` from `[p, B]` twice: 2·p²·B flops), spmm (`deg`
 * nonzeros per row, B and B/2 columns: the 1- and 2-thread column blocks; 2·nnz·B flops)
 * and axpyRows (2·p·B flops). Every round times each kernel once per variant, the order
 * of the two flipped every round (A B, B A, …); the figures are the medians over the
 * rounds, with the load average before and after (the machine may be shared).
 *
 *   npx tsx bench/fma.ts [--p 3000] [--B 128] [--deg 30] [--rounds 9] [--warmup 2 (seconds per kernel)]
 *
 * Needs WebAssembly relaxed SIMD (Node ≥ 22); elsewhere it says so and times mul+add alone.
 */
import { loadavg } from 'node:os';
import {
  arenaBytes,
  gemmPackedBytes,
  relaxedSimdSupported,
  sparseKernels,
  useKernelVariant,
  type KernelVariant,
  type SparseKernels,
} from 'tfjs-neural-modules/internal';
import { flag } from './flags.js';
import { runtimeLabel } from './runtime.js';

const [p, B, deg, rounds] = [Number(flag('p', '3000')), Number(flag('B', '128')), Number(flag('deg', '30')), Number(flag('rounds', '9'))];
const nnz = p * deg;
const packed = gemmPackedBytes(p, B) / 4;

/** Seeded LCG in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** One variant's kernels with every array of the benchmark in their arena, filled with the same seeded data. */
function setup(variant: KernelVariant) {
  useKernelVariant(variant);
  const k: SparseKernels = sparseKernels('wasm');
  if (k.variant !== variant) throw new Error(`fma bench: asked for ${variant}, got ${k.variant}`);
  k.arena.reset(arenaBytes([p * B, p * B, packed, p * p, p + 1, nnz, nnz, p * B, p * B, B]));
  const [H, V, P, G] = [k.arena.f32(p * B), k.arena.f32(p * B), k.arena.f32(packed), k.arena.f32(p * p)];
  const [ptr, idx, w] = [k.arena.i32(p + 1), k.arena.i32(nnz), k.arena.f32(nnz)];
  const [x, out, g] = [k.arena.f32(p * B), k.arena.f32(p * B), k.arena.f32(B)];
  const r = rng(1);
  for (const a of [H, V, x, g]) for (let i = 0; i < a.length; i++) a[i] = r() - 0.5;
  for (let row = 0; row < p; row++) ptr[row + 1] = (row + 1) * deg;
  for (let e = 0; e < nnz; e++) [idx[e], w[e]] = [Math.floor(r() * p), (r() - 0.5) / deg];
  const half = Math.max(4, (B >> 3) << 2);
  const xh = x.subarray(0, p * half),
    oh = out.subarray(0, p * half);
  const calls: Record<string, () => void> = {
    [`gemmNT p=${p} B=${B}`]: () => k.gemmNT(H, V, p, B, G, P),
    [`spmm p=${p} nnz/row=${deg} B=${B}`]: () => k.spmm(ptr, idx, w, 0, p, x, out, B),
    [`spmm p=${p} nnz/row=${deg} B=${half}`]: () => k.spmm(ptr, idx, w, 0, p, xh, oh, half),
    [`axpyRows p=${p} B=${B}`]: () => k.axpyRows(g, x, 0, p, B, out),
  };
  return { k, calls, G };
}

const flops: Record<string, number> = {};
const variants: KernelVariant[] = relaxedSimdSupported() ? ['muladd', 'fma'] : ['muladd'];
if (variants.length === 1) console.log('This runtime has no WebAssembly relaxed SIMD (Node 20): timing mul+add alone.');
const sides = Object.fromEntries(variants.map((v) => [v, setup(v)])) as Record<KernelVariant, ReturnType<typeof setup>>;
useKernelVariant('auto');
const names = Object.keys(sides.muladd.calls);
names.forEach((n, i) => (flops[n] = i === 0 ? 2 * p * p * B : i === 1 ? 2 * nnz * B : i === 2 ? 2 * nnz * Math.max(4, (B >> 3) << 2) : 2 * p * B));

// Warm-up: both variants in turn for `--warmup` seconds per kernel, so that V8 has tiered
// every function up (its optimizing compiler runs in the background, slower on a busy
// machine); then calls per sample: enough for ~20 ms (from the mul+add side).
const warmupMs = 1000 * Number(flag('warmup', '2'));
const reps: Record<string, number> = {};
for (const n of names) {
  const t0 = performance.now();
  let calls = 0;
  while (performance.now() - t0 < warmupMs || calls < 5) {
    for (const v of variants) sides[v].calls[n]();
    calls++;
  }
  const t1 = performance.now();
  sides.muladd.calls[n]();
  reps[n] = Math.max(1, Math.ceil(20 / Math.max(1e-3, performance.now() - t1)));
}

const load0 = loadavg()[0];
const times: Record<string, Record<string, number[]>> = Object.fromEntries(names.map((n) => [n, { muladd: [], fma: [] }]));
for (let r = 0; r < rounds; r++) {
  for (const n of names) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const call = sides[v].calls[n];
      const t0 = performance.now();
      for (let i = 0; i < reps[n]; i++) call();
      times[n][v].push((performance.now() - t0) / reps[n]);
    }
  }
}
const load1 = loadavg()[0];

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `Kernel products, FMA vs mul+add, one thread: median ms per call over ${rounds} interleaved rounds (order flipped every round); ` +
    `${runtimeLabel().replace(/, kernels \w+$/, '')}; load average ${load0.toFixed(2)} before, ${load1.toFixed(2)} after.`,
);
console.log('| kernel | calls/sample | mul+add ms | GFLOP/s | FMA ms | GFLOP/s | FMA/mul+add |\n|---|---|---|---|---|---|---|');
for (const n of names) {
  const a = median(times[n].muladd);
  const b = variants.length > 1 ? median(times[n].fma) : NaN;
  const gf = (ms: number) => (flops[n] / ms / 1e6).toFixed(1);
  console.log(`| ${n} | ${reps[n]} | ${a.toFixed(3)} | ${gf(a)} | ${b.toFixed(3)} | ${gf(b)} | ${(b / a).toFixed(3)} |`);
}
for (const n of names) {
  console.log(`raw ${n}: mul+add ${times[n].muladd.map((t) => t.toFixed(3)).join(' ')}; fma ${times[n].fma.map((t) => t.toFixed(3)).join(' ')}`);
}
if (variants.length > 1) {
  // The two GEMMs agree to a few ulps of the summed magnitude (different rounding, same order).
  const [a, b] = [sides.muladd.G, sides.fma.G];
  let worst = 0,
    scale = 0;
  for (let i = 0; i < a.length; i++) [worst, scale] = [Math.max(worst, Math.abs(a[i] - b[i])), Math.max(scale, Math.abs(a[i]))];
  console.log(`gemmNT: max |fma − muladd| = ${worst.toExponential(2)} (max |G| ${scale.toFixed(2)})`);
}
