/**
 * Independent float64 reference of the Neural Module layer (DESIGN.md §1), written
 * without any of the package's code: magnitude mask by full sort, monolithic Newton
 * solve of x = z + f(x)·A per sample, and brute-force SCCs by reachability.
 */
export type Act = 'tanh' | 'sigmoid' | 'relu' | 'softplus' | 'linear';

export const f64 = {
  tanh: (x: number) => Math.tanh(x),
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  relu: (x: number) => Math.max(0, x),
  softplus: (x: number) => Math.log1p(Math.exp(x)),
  linear: (x: number) => x,
};
export const df64 = {
  tanh: (x: number) => 1 - Math.tanh(x) ** 2,
  sigmoid: (x: number) => f64.sigmoid(x) * (1 - f64.sigmoid(x)),
  relu: (x: number) => (x > 0 ? 1 : 0),
  softplus: (x: number) => f64.sigmoid(x),
  linear: () => 1,
};

/** Reference mask: keep the K largest candidate magnitudes (ties kept), never zeros. */
export function refMask(w: ArrayLike<number>, p: number, density: number, topology: 'graph' | 'dag'): Uint8Array {
  const cand: number[] = [];
  for (let j = 0; j < p; j++) for (let k = 0; k < p; k++) if (j !== k && (topology === 'graph' || k > j)) cand.push(Math.abs(w[j * p + k]));
  cand.sort((a, b) => b - a);
  const K = Math.min(cand.length, Math.ceil(density * cand.length - 1e-9));
  const gamma = K > 0 ? cand[K - 1] : Infinity;
  const m = new Uint8Array(p * p);
  for (let j = 0; j < p; j++) {
    for (let k = 0; k < p; k++) {
      if (j !== k && (topology === 'graph' || k > j) && w[j * p + k] !== 0 && Math.abs(w[j * p + k]) >= gamma) m[j * p + k] = 1;
    }
  }
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
export function refForward(u: number[][], kernel: ArrayLike<number>, w: ArrayLike<number>, mask: Uint8Array, p: number, act: Act, aOverride?: Float64Array): number[][] {
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
