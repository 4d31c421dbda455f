/**
 * The dense graph-gradient product G = H·Vᵀ (G[j,k] = Σ_b h[j,b]·v[k,b], 2·p²·B
 * flops), single-threaded: the gemm wasm SIMD kernel (src/kernels/gemm.ts, the default
 * variant: FMA on Node ≥ 22, see the header) vs tfjs-backend-wasm's matMul (XNNPACK), on
 * the wasm tfjs backend.
 *
 * Columns, median ms of ≥ 15 interleaved reps after warm-up, and GFLOP/s:
 *   (a) kernel: packV + gemmNT on h, v already in the kernel's memory;
 *   (b) tf.matMul(tf.transpose(h), v) for [B, p] tensors h, v, plus dataSync();
 *   (c) (a) plus copying the [p, p] result out into a new Float32Array (about what
 *       an upload of G to tfjs would cost on top of (a)).
 * Also prints the packV share of (a) and the largest |G_kernel − G_tfjs| relative
 * to max |G| as a sanity check.
 *
 * Run: npx tsx bench/gemm.ts   (under ~15 s; use `nice -n 10` on a shared machine)
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { createGemmKernel, gemmPackedBytes } from 'tfjs-neural-modules/internal';
import { runtimeLabel } from './runtime.js';

/** Seeded LCG in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Row {
  p: number;
  B: number;
  reps: number;
  a: number;
  b: number;
  c: number;
  pack: number;
  relDiff: number;
}

function run(p: number, B: number, reps: number, warm = 3): Row {
  const r = rng(p * 31 + B);
  // Node-major h, v [p, B] in the kernel's memory: [h | v | vp | out].
  const hOff = 0,
    vOff = p * B * 4,
    vpOff = 2 * p * B * 4,
    outOff = vpOff + gemmPackedBytes(p, B);
  const memory = new WebAssembly.Memory({ initial: Math.ceil((outOff + p * p * 4) / 65536) });
  const kernel = createGemmKernel(memory);
  const hv = new Float32Array(memory.buffer, 0, 2 * p * B);
  for (let i = 0; i < hv.length; i++) hv[i] = r() * 2 - 1;
  // The same values as b-major [B, p] tensors for tfjs.
  const hT = new Float32Array(p * B),
    vT = new Float32Array(p * B);
  for (let k = 0; k < p; k++)
    for (let b = 0; b < B; b++) {
      hT[b * p + k] = hv[k * B + b];
      vT[b * p + k] = hv[p * B + k * B + b];
    }
  const h = tf.tensor2d(hT, [B, p]),
    v = tf.tensor2d(vT, [B, p]);

  const kernelOnly = () => {
    kernel.packV(vOff, p, B, vpOff);
    kernel.gemmNT(hOff, vpOff, 0, p, p, B, outOff, p);
  };
  const tfjs = (): Float32Array => {
    const g = tf.tidy(() => tf.matMul(tf.transpose(h), v));
    const data = g.dataSync() as Float32Array;
    g.dispose();
    return data;
  };
  const withCopy = (): Float32Array => {
    kernelOnly();
    return new Float32Array(memory.buffer, outOff, p * p).slice();
  };

  const ta: number[] = [],
    tb: number[] = [],
    tc: number[] = [],
    tp: number[] = [];
  let gK: Float32Array = new Float32Array(0),
    gT: Float32Array = new Float32Array(0);
  for (let i = 0; i < warm + reps; i++) {
    let t0 = performance.now();
    kernelOnly();
    const a = performance.now() - t0;
    t0 = performance.now();
    gT = tfjs();
    const b = performance.now() - t0;
    t0 = performance.now();
    gK = withCopy();
    const c = performance.now() - t0;
    t0 = performance.now();
    kernel.packV(vOff, p, B, vpOff);
    const pk = performance.now() - t0;
    if (i >= warm) {
      ta.push(a);
      tb.push(b);
      tc.push(c);
      tp.push(pk);
    }
  }
  let maxG = 0,
    maxD = 0;
  for (let i = 0; i < p * p; i++) {
    maxG = Math.max(maxG, Math.abs(gT[i]));
    maxD = Math.max(maxD, Math.abs(gK[i] - gT[i]));
  }
  h.dispose();
  v.dispose();
  return { p, B, reps, a: median(ta), b: median(tb), c: median(tc), pack: median(tp), relDiff: maxD / maxG };
}

await tf.setBackend('wasm');
await tf.ready();
const rows = [run(3000, 128, 15), run(1000, 128, 31), run(300, 64, 101)];
const gf = (row: Row, ms: number) => ((2 * row.p * row.p * row.B) / (ms * 1e6)).toFixed(1);
console.log(`tfjs ${tf.version_core}, backend ${tf.getBackend()}, ${runtimeLabel()}; median ms (GFLOP/s), 2·p²·B flops\n`);
console.log('| p | B | reps | (a) kernel | (b) tf.matMul + dataSync | (c) kernel + copy out | packV (in a) | max rel. diff a vs b |');
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(
    `| ${row.p} | ${row.B} | ${row.reps} | ${row.a.toFixed(2)} (${gf(row, row.a)}) | ${row.b.toFixed(2)} (${gf(row, row.b)}) | ` +
      `${row.c.toFixed(2)} (${gf(row, row.c)}) | ${row.pack.toFixed(3)} | ${row.relDiff.toExponential(1)} |`,
  );
}
