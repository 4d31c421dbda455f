/**
 * An independent float64 reference for small convex QPs
 *   min ½ zᵀQz + qᵀz  s.t.  Az = b, Gz ≤ h   (Q positive definite)
 * by brute-force enumeration of active sets: for every subset S of the inequalities,
 * solve the equality-constrained KKT system with A and G_S by Gauss–Jordan
 * elimination, and keep the (unique) subset whose solution is primal feasible with
 * λ_S ≥ 0. Exponential in m: meant for m ≤ 10. Shares no code with src/.
 */

export interface RefQP {
  n: number;
  m: number;
  p: number;
  Q: number[];
  q: number[];
  G: number[];
  h: number[];
  A: number[];
  b: number[];
}

export interface RefSolution {
  z: number[];
  lam: number[];
  nu: number[];
  /** Indices of the active inequalities. */
  active: number[];
}

/** Solves the dense system M x = r (size k) by Gauss–Jordan with partial pivoting; null when singular. */
function gaussSolve(M: number[][], r: number[]): number[] | null {
  const k = r.length;
  const a = M.map((row, i) => [...row, r[i]]);
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let i = c + 1; i < k; i++) if (Math.abs(a[i][c]) > Math.abs(a[piv][c])) piv = i;
    if (Math.abs(a[piv][c]) < 1e-13) return null;
    [a[c], a[piv]] = [a[piv], a[c]];
    for (let i = 0; i < k; i++) {
      if (i === c) continue;
      const f = a[i][c] / a[c][c];
      if (f !== 0) for (let j = c; j <= k; j++) a[i][j] -= f * a[c][j];
    }
  }
  return a.map((row, i) => row[k] / row[i]);
}

/** The QP's solution, or null when no active set is consistent (the QP is infeasible). */
export function referenceQP(qp: RefQP, feasTol = 1e-10): RefSolution | null {
  const { n, m, p, Q, q, G, h, A, b } = qp;
  let best: RefSolution | null = null;
  let bestObj = Infinity;
  for (let mask = 0; mask < 1 << m; mask++) {
    const act: number[] = [];
    for (let i = 0; i < m; i++) if (mask & (1 << i)) act.push(i);
    if (act.length + p > n) continue;
    const k = n + p + act.length;
    const M: number[][] = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    const r = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) M[i][j] = Q[i * n + j];
      r[i] = -q[i];
    }
    for (let e = 0; e < p; e++) {
      for (let j = 0; j < n; j++) {
        M[n + e][j] = A[e * n + j];
        M[j][n + e] = A[e * n + j];
      }
      r[n + e] = b[e];
    }
    act.forEach((i, t) => {
      for (let j = 0; j < n; j++) {
        M[n + p + t][j] = G[i * n + j];
        M[j][n + p + t] = G[i * n + j];
      }
      r[n + p + t] = h[i];
    });
    const x = gaussSolve(M, r);
    if (x == null) continue;
    const z = x.slice(0, n);
    const nu = x.slice(n, n + p);
    const lam = new Array<number>(m).fill(0);
    act.forEach((i, t) => (lam[i] = x[n + p + t]));
    if (lam.some((l) => l < -feasTol)) continue;
    let ok = true;
    for (let i = 0; i < m && ok; i++) {
      let g = 0;
      for (let j = 0; j < n; j++) g += G[i * n + j] * z[j];
      if (g > h[i] + feasTol * (1 + Math.abs(h[i]))) ok = false;
    }
    if (!ok) continue;
    let obj = 0;
    for (let i = 0; i < n; i++) {
      obj += q[i] * z[i];
      for (let j = 0; j < n; j++) obj += 0.5 * z[i] * Q[i * n + j] * z[j];
    }
    if (obj < bestObj) {
      bestObj = obj;
      best = { z, lam, nu, active: act };
    }
  }
  return best;
}
