/**
 * Independent float64 reference of the Neural Module layer (DESIGN.md §1), written
 * without any of the package's code: magnitude mask by full sort, monolithic Newton
 * solve of x = z + f(x)·A per sample, and brute-force SCCs by reachability.
 */
export type Act =
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'softplus'
  | 'linear'
  | 'elu'
  | 'selu'
  | 'swish'
  | 'gelu'
  | 'gelu_new'
  | 'mish'
  | 'softsign'
  | 'relu6'
  | 'hardSigmoid'
  | 'leakyRelu';

/**
 * erf in float64, independent of the package's (Cody) one: the Maclaurin series
 * below |x| = 3 (terms summed until below 1e-17 of the sum; error ≲ 1e-13 there),
 * the erfc continued fraction (modified Lentz) above.
 */
export function erfRef(x: number): number {
  const ax = Math.abs(x);
  if (ax !== ax) return x;
  if (ax < 3) {
    let sum = 0;
    let t = x;
    for (let n = 0; n < 200; n++) {
      const term = t / (2 * n + 1);
      sum += term;
      if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
      t *= (-x * x) / (n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  return Math.sign(x) * (1 - erfcCf(ax));
}
/** erfc(x) for x ≥ 3 by the continued fraction erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))). */
export function erfcCf(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

const SELU_L = 1.0507009873554804934193349852946;
const SELU_A = 1.6732632423543772848170429916717;
const GC = Math.sqrt(2 / Math.PI);
const sig = (x: number) => 1 / (1 + Math.exp(-x));
const splus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const npdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
const ncdf = (x: number) => (x < -3 * Math.SQRT2 ? 0.5 * erfcCf(-x / Math.SQRT2) : 0.5 * (1 + erfRef(x / Math.SQRT2)));

export const f64: Record<Act, (x: number) => number> = {
  tanh: (x) => Math.tanh(x),
  sigmoid: sig,
  relu: (x) => Math.max(0, x),
  softplus: splus,
  linear: (x) => x,
  elu: (x) => (x > 0 ? x : Math.expm1(x)),
  selu: (x) => SELU_L * (x > 0 ? x : SELU_A * Math.expm1(x)),
  swish: (x) => x * sig(x),
  gelu: (x) => x * ncdf(x),
  gelu_new: (x) => 0.5 * x * (1 + Math.tanh(GC * (x + 0.044715 * x ** 3))),
  mish: (x) => x * Math.tanh(splus(x)),
  softsign: (x) => x / (1 + Math.abs(x)),
  relu6: (x) => Math.min(6, Math.max(0, x)),
  hardSigmoid: (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)),
  leakyRelu: (x) => (x > 0 ? x : 0.2 * x),
};
export const df64: Record<Act, (x: number) => number> = {
  tanh: (x) => 1 - Math.tanh(x) ** 2,
  sigmoid: (x) => f64.sigmoid(x) * (1 - f64.sigmoid(x)),
  relu: (x) => (x > 0 ? 1 : 0),
  softplus: (x) => f64.sigmoid(x),
  linear: () => 1,
  elu: (x) => (x > 0 ? 1 : Math.exp(x)),
  selu: (x) => (x > 0 ? SELU_L : SELU_L * SELU_A * Math.exp(x)),
  swish: (x) => sig(x) * (1 + x * (1 - sig(x))),
  gelu: (x) => ncdf(x) + x * npdf(x),
  gelu_new: (x) => {
    const t = Math.tanh(GC * (x + 0.044715 * x ** 3));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GC * (1 + 3 * 0.044715 * x * x);
  },
  mish: (x) => {
    const t = Math.tanh(splus(x));
    return t + x * (1 - t * t) * sig(x);
  },
  softsign: (x) => 1 / (1 + Math.abs(x)) ** 2,
  relu6: (x) => (x > 0 && x < 6 ? 1 : 0),
  hardSigmoid: (x) => (x > -2.5 && x < 2.5 ? 0.2 : 0),
  leakyRelu: (x) => (x > 0 ? 1 : 0.2),
};

/** Reference mask: keep the K largest candidate magnitudes (exactly K: ties at γ in row-major order), never zeros. */
export function refMask(w: ArrayLike<number>, p: number, density: number, topology: 'graph' | 'dag'): Uint8Array {
  const cand: Array<{ i: number; m: number }> = [];
  for (let j = 0; j < p; j++)
    for (let k = 0; k < p; k++) if (j !== k && (topology === 'graph' || k > j)) cand.push({ i: j * p + k, m: Math.fround(Math.abs(w[j * p + k])) });
  const K = Math.min(cand.length, Math.ceil(density * cand.length - 1e-9));
  // Full sort by magnitude, descending, then by index: the first K non-zero candidates.
  cand.sort((a, b) => b.m - a.m || a.i - b.i);
  const m = new Uint8Array(p * p);
  for (const c of cand.slice(0, K)) if (c.m !== 0) m[c.i] = 1;
  return m;
}

/** Dense Gaussian elimination with partial pivoting (float64). */
function solveDense(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[piv][c])) piv = r;
    [m[c], m[piv]] = [m[piv], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

/**
 * Solves x = z + f(x)·A for one sample by Newton in float64 (A: p×p row-major,
 * A[j][k] is the edge j→k). Throws if it does not reach 1e-13.
 */
export function refSolveSample(z: number[], a: ArrayLike<number>, p: number, act: Act): number[] {
  let x = z.slice();
  for (let it = 0; it < 100; it++) {
    const fx = x.map(f64[act]);
    const r = z.map((zk, k) => {
      let s = zk;
      for (let j = 0; j < p; j++) s += fx[j] * a[j * p + k];
      return s - x[k];
    });
    // (I − J)ᵀ δ = r with J[j][k] = f'(x_j) A[j][k]  →  M[k][j] = δ_kj − f'(x_j) A[j][k].
    const d = x.map(df64[act]);
    const m = Array.from({ length: p }, (_, k) => Array.from({ length: p }, (_, j) => (k === j ? 1 : 0) - d[j] * a[j * p + k]));
    const delta = solveDense(m, r);
    x = x.map((v, i) => v + delta[i]);
    if (Math.sqrt(delta.reduce((s, v) => s + v * v, 0)) < 1e-13) return x;
  }
  throw new Error('reference Newton solve did not converge');
}

/** Reference layer output h = f(x*) for a batch (u: batch×n, U: n×p, W: p×p, mask). */
export function refForward(
  u: number[][],
  kernel: ArrayLike<number>,
  w: ArrayLike<number>,
  mask: Uint8Array,
  p: number,
  act: Act,
  aOverride?: Float64Array,
): number[][] {
  const n = u[0].length;
  const a = aOverride ?? Float64Array.from(w, (v, i) => (mask[i] ? v : 0));
  return u.map((row) => {
    const z = Array.from({ length: p }, (_, k) => {
      let s = w[k * p + k];
      for (let i = 0; i < n; i++) s += row[i] * kernel[i * p + k];
      return s;
    });
    return refSolveSample(z, a, p, act).map(f64[act]);
  });
}

/** Modules by brute-force mutual reachability (transitive closure). */
export function bruteForceSccs(mask: Uint8Array, p: number): { sets: string[]; reach: Uint8Array } {
  const reach = new Uint8Array(p * p);
  for (let i = 0; i < p; i++) reach[i * p + i] = 1;
  for (let i = 0; i < p * p; i++) if (mask[i]) reach[i] = 1;
  for (let k = 0; k < p; k++) for (let i = 0; i < p; i++) if (reach[i * p + k]) for (let j = 0; j < p; j++) if (reach[k * p + j]) reach[i * p + j] = 1;
  const seen = new Set<string>();
  for (let i = 0; i < p; i++) {
    const comp: number[] = [];
    for (let j = 0; j < p; j++) if (reach[i * p + j] && reach[j * p + i]) comp.push(j);
    seen.add(comp.join(','));
  }
  return { sets: Array.from(seen).sort(), reach };
}
