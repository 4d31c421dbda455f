/**
 * Plain-JS sparse kernels (the fallback when WebAssembly SIMD is unavailable): the JS
 * twin of every kernel of the catalog (src/kernels/catalog.ts), which runs the entry's
 * checks first.
 *
 * The loops round exactly like src/kernels/sparse.wat (Math.fround on every f32
 * product and sum; f64 sums in dotRows), so the two give bit-identical results.
 */
import { TypedArena } from './arena.js';
import type { AdamCoefficients, KernelArgs, KernelName, KernelResult, MomentumCoefficients } from './catalog.js';
import { gemmNTJs, type GemmSink } from './gemm.js';
import { kernelMethods, type Forward, type SparseKernels } from './sparse_kernels.js';

const fround = Math.fround;

/** permuteIn without checks, tiled over 16 columns like the wasm kernel. */
function permuteIn(src: Float32Array, perm: Int32Array, B: number, out: Float32Array, scale: Float32Array | null): void {
  const p = perm.length;
  for (let b0 = 0; b0 < B; b0 += 16) {
    const b1 = Math.min(B, b0 + 16);
    for (let q = 0; q < p; q++) {
      const node = perm[q],
        o = q * B;
      if (scale === null) for (let b = b0; b < b1; b++) out[o + b] = src[b * p + node];
      else for (let b = b0; b < b1; b++) out[o + b] = fround(src[b * p + node] * scale[o + b]);
    }
  }
}

/** permuteOut without checks. */
function permuteOut(src: Float32Array, perm: Int32Array, B: number, out: Float32Array): void {
  const p = perm.length;
  for (let b0 = 0; b0 < B; b0 += 16) {
    const b1 = Math.min(B, b0 + 16);
    for (let q = 0; q < p; q++) {
      const node = perm[q],
        o = q * B;
      for (let b = b0; b < b1; b++) out[b * p + node] = src[o + b];
    }
  }
}

/** adamUpdate without checks: every operation rounded to f32 in sparse_elementwise.wat's (and tfjs') order. */
function adamUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamCoefficients): void {
  const b1 = fround(c.beta1),
    c1 = fround(c.oneMinusBeta1),
    b2 = fround(c.beta2),
    c2 = fround(c.oneMinusBeta2),
    d1 = fround(c.biasCorrection1),
    d2 = fround(c.biasCorrection2),
    eps = fround(c.epsilon),
    nlr = fround(c.negLearningRate);
  const n = w.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    // f64 +, ·, / and sqrt of f32 operands, rounded once to f32, equal the f32 operations.
    const mi = fround(fround(m[i] * b1) + fround(gi * c1));
    const vi = fround(fround(v[i] * b2) + fround(fround(gi * gi) * c2));
    m[i] = mi;
    v[i] = vi;
    const den = fround(fround(Math.sqrt(fround(vi / d2))) + eps);
    w[i] = fround(fround(fround(mi / d1) / den) * nlr) + w[i];
  }
}

/** momentumUpdate without checks: every operation rounded to f32 in sparse_elementwise.wat's (and tfjs') order. */
function momentumUpdate(w: Float32Array, g: Float32Array, a: Float32Array, c: MomentumCoefficients): void {
  const mom = fround(c.momentum),
    nlr = fround(c.negLearningRate);
  const n = w.length;
  for (let i = 0; i < n; i++) {
    const ai = fround(fround(a[i] * mom) + g[i]);
    a[i] = ai;
    const step = c.nesterov ? fround(g[i] + fround(ai * mom)) : ai;
    w[i] = fround(step * nlr) + w[i];
  }
}

/**
 * spmm without checks: 4 columns at a time in f32-rounded locals, then the B % 4 tail.
 * Each sum starts from `start`'s element (undefined: out's own, null: +0); an empty row
 * gets start's row (zeros for null), or is left as it is when start is out.
 */
function spmm(
  ptr: Int32Array,
  idx: Int32Array,
  w: Float32Array,
  lo: number,
  hi: number,
  x: Float32Array,
  out: Float32Array,
  B: number,
  start?: Float32Array | null,
): void {
  const from = start === undefined ? out : start;
  const B4 = B & ~3;
  for (let k = lo; k < hi; k++) {
    const o = k * B,
      e0 = ptr[k],
      e1 = ptr[k + 1];
    if (e0 >= e1) {
      if (from !== out) for (let b = 0; b < B; b++) out[o + b] = from === null ? 0 : from[o + b];
      continue;
    }
    let b = 0;
    for (; b < B4; b += 4) {
      let s0 = from === null ? 0 : from[o + b],
        s1 = from === null ? 0 : from[o + b + 1],
        s2 = from === null ? 0 : from[o + b + 2],
        s3 = from === null ? 0 : from[o + b + 3];
      for (let e = e0; e < e1; e++) {
        const a = w[e],
          s = idx[e] * B + b;
        s0 = fround(s0 + fround(a * x[s]));
        s1 = fround(s1 + fround(a * x[s + 1]));
        s2 = fround(s2 + fround(a * x[s + 2]));
        s3 = fround(s3 + fround(a * x[s + 3]));
      }
      out[o + b] = s0;
      out[o + b + 1] = s1;
      out[o + b + 2] = s2;
      out[o + b + 3] = s3;
    }
    for (; b < B; b++) {
      let s0 = from === null ? 0 : from[o + b];
      for (let e = e0; e < e1; e++) s0 = fround(s0 + fround(w[e] * x[idx[e] * B + b]));
      out[o + b] = s0;
    }
  }
}

let sums = new Float64Array(128);

/** dotRows without checks: exact f64 products, f64 sums over rows in order, one rounding into out. */
function dotRows(a: Float32Array, c: Float32Array, lo: number, hi: number, B: number, out: Float32Array): void {
  if (lo >= hi) return;
  if (sums.length < B) sums = new Float64Array(B);
  const s = sums;
  s.fill(0, 0, B);
  for (let k = lo; k < hi; k++) {
    const o = k * B;
    for (let b = 0; b < B; b++) s[b] += a[o + b] * c[o + b];
  }
  for (let b = 0; b < B; b++) out[b] += s[b];
}

let sums2 = new Float64Array(128);

/**
 * residualNorms without checks: d = fl(a − c) in f32, then exact f64 squares of d and of c
 * summed in f64 over rows in order, one rounding into each out (dotRows' arithmetic).
 */
function residualNorms(a: Float32Array, c: Float32Array, lo: number, hi: number, B: number, r2: Float32Array, c2: Float32Array): void {
  if (lo >= hi) return;
  if (sums.length < B) sums = new Float64Array(B);
  if (sums2.length < B) sums2 = new Float64Array(B);
  const [s, t] = [sums, sums2];
  s.fill(0, 0, B);
  t.fill(0, 0, B);
  for (let k = lo; k < hi; k++) {
    const o = k * B;
    for (let b = 0; b < B; b++) {
      const cv = c[o + b];
      const d = fround(a[o + b] - cv);
      s[b] += d * d;
      t[b] += cv * cv;
    }
  }
  for (let b = 0; b < B; b++) {
    r2[b] += s[b];
    c2[b] += t[b];
  }
}

/** axpyRows without checks: f32 product and sum. */
function axpyRows(g: Float32Array, a: Float32Array, lo: number, hi: number, B: number, out: Float32Array): void {
  for (let k = lo; k < hi; k++) {
    const o = k * B;
    for (let b = 0; b < B; b++) out[o + b] += fround(g[b] * a[o + b]);
  }
}

// Eigen's float tanh (a [13/6] rational), the constants rounded to f32; gemm_pointwise.wat
// has the same values as hex floats.
const TANH_CLAMP = fround(7.99881172180175781);
const A1 = fround(4.89352455891786e-3);
const A3 = fround(6.37261928875436e-4);
const A5 = fround(1.48572235717979e-5);
const A7 = fround(5.12229709037114e-8);
const A9 = fround(-8.60467152213735e-11);
const A11 = fround(2.00018790482477e-13);
const A13 = fround(-2.76076847742355e-16);
const B0 = fround(4.89352518554385e-3);
const B2 = fround(2.268434632439e-3);
const B4 = fround(1.18534705686654e-4);
const B6 = fround(1.19825839466702e-6);

/** tanh without checks: every operation rounded to f32, in gemm_pointwise.wat's order. */
function tanh(x: Float32Array, out: Float32Array): void {
  const T = TANH_CLAMP;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    // Written so that NaN falls through (both comparisons are false), like f32x4.min/max.
    const c = v < -T ? -T : v > T ? T : v;
    const c2 = fround(c * c);
    let p = fround(A11 + fround(c2 * A13));
    p = fround(A9 + fround(c2 * p));
    p = fround(A7 + fround(c2 * p));
    p = fround(A5 + fround(c2 * p));
    p = fround(A3 + fround(c2 * p));
    p = fround(A1 + fround(c2 * p));
    p = fround(c * p);
    let q = fround(B4 + fround(c2 * B6));
    q = fround(B2 + fround(c2 * q));
    q = fround(B0 + fround(c2 * q));
    out[i] = p / q; // f64 quotient of f32 values, rounded once more to f32: the f32 quotient
  }
}

/** relativeStep without checks: f64, four partial sums (element i into sum i % 4), then the tail, like sparse_elementwise.wat. */
function relativeStep(a: Float32Array, b: Float32Array): number {
  const n = a.length,
    n4 = n & ~3;
  let d0 = 0,
    d1 = 0,
    d2 = 0,
    d3 = 0,
    s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  for (let i = 0; i < n4; i += 4) {
    const b0 = b[i],
      b1 = b[i + 1],
      b2 = b[i + 2],
      b3 = b[i + 3];
    const t0 = a[i] - b0,
      t1 = a[i + 1] - b1,
      t2 = a[i + 2] - b2,
      t3 = a[i + 3] - b3;
    d0 += t0 * t0;
    d1 += t1 * t1;
    d2 += t2 * t2;
    d3 += t3 * t3;
    s0 += b0 * b0;
    s1 += b1 * b1;
    s2 += b2 * b2;
    s3 += b3 * b3;
  }
  let sd = d0 + d2 + (d1 + d3),
    sb = s0 + s2 + (s1 + s3);
  for (let i = n4; i < n; i++) {
    const bi = b[i],
      t = a[i] - bi;
    sd += t * t;
    sb += bi * bi;
  }
  return Math.sqrt(sd) / (Math.sqrt(sb) + 1e-8);
}

/** addMul without checks: f32 product and sum. */
function addMul(a: Float32Array, d: Float32Array, t: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + fround(d[i] * t[i]);
}

/** andersonDiffs without checks (f32 differences). */
function andersonDiffs(
  g: Float32Array,
  x: Float32Array,
  prevG: Float32Array,
  prevR: Float32Array,
  r: Float32Array,
  dG: Float32Array | null,
  dR: Float32Array | null,
): void {
  const n = g.length;
  if (dG !== null && dR !== null) {
    for (let i = 0; i < n; i++) {
      const gi = g[i],
        ri = fround(gi - x[i]);
      dG[i] = gi - prevG[i];
      dR[i] = ri - prevR[i];
      prevG[i] = gi;
      prevR[i] = ri;
      r[i] = ri;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const gi = g[i],
        ri = fround(gi - x[i]);
      prevG[i] = gi;
      prevR[i] = ri;
      r[i] = ri;
    }
  }
}

/** tanhDerivative without checks: `1 - fx * fx` in f64, stored as f32. */
function tanhDerivative(fx: Float32Array, out: Float32Array): void {
  for (let i = 0; i < fx.length; i++) out[i] = 1 - fx[i] * fx[i];
}

/** gather without checks. */
function gather(src: Float32Array, idx: Int32Array, out: Float32Array): void {
  for (let i = 0; i < idx.length; i++) out[i] = src[idx[i]];
}

/** gemmNT without checks: the f32 twin of gemm.wat; a sink takes every row from out. */
function gemmNT(h: Float32Array, v: Float32Array, p: number, B: number, out: Float32Array, _packed: Float32Array, sink?: GemmSink): void {
  gemmNTJs(h, v, 0, p, p, B, out, p);
  if (sink !== undefined) {
    sink.begin();
    sink.take(0, p);
  }
}

/** The JS twin of every kernel (unchecked: the wrapper runs the catalog entry's checks first). */
const TWINS: { [K in KernelName]: (...args: KernelArgs<K>) => KernelResult<K> } = {
  spmm,
  dotRows,
  residualNorms,
  axpyRows,
  tanh,
  tanhDerivative,
  gather,
  relativeStep,
  addMul,
  andersonDiffs,
  adamUpdate,
  gemmNT,
  permuteIn,
  permuteOut,
  momentumUpdate,
};

/**
 * The plain-JS {@link SparseKernels}, with a plain ArrayBuffer-backed arena.
 * Any typed arrays work (arena views or not). Prefer `sparseKernels('js')`,
 * which caches one instance.
 *
 * Caveat: about 10× slower than the wasm SIMD kernels (Node 20, x64: ~1.6 vs ~18 GFLOP/s on spmm).
 *
 * @example
 * const k = createJsKernels();
 * k.spmm(ptr, idx, w, 0, p, x, out, B);
 */
export function createJsKernels(): SparseKernels {
  const methods = kernelMethods((name, entry) => {
    const check = entry.check as Forward;
    const twin = TWINS[name] as Forward;
    return (a0, a1, a2, a3, a4, a5, a6, a7, a8) => {
      check(a0, a1, a2, a3, a4, a5, a6, a7, a8);
      return twin(a0, a1, a2, a3, a4, a5, a6, a7, a8);
    };
  });
  return {
    name: 'js',
    variant: 'muladd',
    threads: 1,
    together: (calls) => calls(),
    // Plain arrays: nothing outside this object refers to them.
    release: () => {},
    arena: TypedArena.plain(),
    ...methods,
  };
}
