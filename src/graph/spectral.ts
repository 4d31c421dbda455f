/**
 * Spectral norm estimate ‖A‖₂ of a masked graph by power iteration on AᵀA, over the
 * kept edges only (O(iterations·edges)). Used by the contractive initializer and
 * constraint, and reported in the layer's structure as the contraction estimate.
 * The start vector is seeded random (not all ones, which is orthogonal to the top
 * singular vector of, e.g., a graph whose rows sum to zero), so the estimate is
 * reproducible and does not miss the largest singular value.
 */
import { Random } from '../utils/random.js';
import type { EdgeMask } from './mask.js';

/** Largest singular value of A = M∘W (row-major p×p `w`), by power iteration. */
export function spectralNormEstimate(w: ArrayLike<number>, mask: EdgeMask, iterations = 50, seed = 7): number {
  const { p, rowPtr, colIdx } = mask;
  if (mask.edges === 0) return 0;
  const rng = new Random(seed);
  let v = Float64Array.from({ length: p }, () => rng.normal());
  // The kept weights gathered once (as doubles, the values the products used before), and two
  // work vectors reused across iterations.
  const vals = new Float64Array(mask.edges);
  for (let j = 0; j < p; j++) for (let e = rowPtr[j]; e < rowPtr[j + 1]; e++) vals[e] = w[j * p + colIdx[e]];
  const u = new Float64Array(p);
  let next = new Float64Array(p);
  let sigma = 0;
  for (let it = 0; it < iterations; it++) {
    // u = A v (u_j = Σ_k A[j,k] v_k), then v' = Aᵀ u.
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let e = rowPtr[j], end = rowPtr[j + 1]; e < end; e++) s += vals[e] * v[colIdx[e]];
      u[j] = s;
    }
    next.fill(0);
    for (let j = 0; j < p; j++) {
      const uj = u[j];
      for (let e = rowPtr[j], end = rowPtr[j + 1]; e < end; e++) next[colIdx[e]] += vals[e] * uj;
    }
    let n = 0;
    for (let i = 0; i < p; i++) n += next[i] * next[i];
    n = Math.sqrt(n);
    if (n === 0) return 0;
    // The first product is from an unnormalized start: it only normalizes, no estimate yet.
    if (it > 0) sigma = Math.sqrt(n);
    for (let i = 0; i < p; i++) next[i] /= n;
    const t = v;
    v = next;
    next = t;
  }
  return sigma;
}
