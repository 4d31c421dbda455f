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
  let sigma = 0;
  for (let it = 0; it < iterations; it++) {
    // u = A v (u_j = Σ_k A[j,k] v_k), then v' = Aᵀ u.
    const u = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let e = rowPtr[j]; e < rowPtr[j + 1]; e++) s += w[j * p + colIdx[e]] * v[colIdx[e]];
      u[j] = s;
    }
    const next = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      for (let e = rowPtr[j]; e < rowPtr[j + 1]; e++) next[colIdx[e]] += w[j * p + colIdx[e]] * u[j];
    }
    let n = 0;
    for (let i = 0; i < p; i++) n += next[i] * next[i];
    n = Math.sqrt(n);
    if (n === 0) return 0;
    if (it === 0) {
      // The first product is from an unnormalized start: normalize before estimating.
      for (let i = 0; i < p; i++) next[i] /= n;
      v = next;
      continue;
    }
    sigma = Math.sqrt(n);
    for (let i = 0; i < p; i++) next[i] /= n;
    v = next;
  }
  return sigma;
}
