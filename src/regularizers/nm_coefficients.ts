/**
 * Per-edge coefficients of the NM regularizer, computed once per partition (not per
 * batch) from the modules and the kept edges of a Neural Module layer
 * (shared/DESIGN.md §2; neural-modules-v3 eq. 6; neural-modules-v4 §3.5, eqs. 7–10).
 *
 * The penalty is `Σ_{j≠k} C[j,k]·norm(W[j,k])` with `C = α·B∘μ`, where B is the
 * form's base matrix and μ the per-edge multiplier from the per-node α multipliers:
 * - size form (v3 eq. 6): `B[j,k] = z_k`, the size of node k's module; μ = m_k
 *   (eq. 6 is written per node k over its incoming edges).
 * - repulsion form (v4, our reconstruction in DESIGN §2): `B[j,k] = z_j·z_k/(D[k→j]+1)`,
 *   where `D[k→j]` is the hop distance from k to j in the masked graph (B = 0 when k
 *   cannot reach j: such an edge cannot close a cycle), scaled to mean 1 over its
 *   non-zero entries; μ = max(m_j, m_k) (an edge that would join or grow a module is
 *   penalised at the stronger of its two ends).
 * - excess form (ours, docs/STRUCTURE.md): `B[j,k] = max(0, s[j,k] − t)` for an edge
 *   that lies on a cycle or would close one (k reaches j in the masked graph), 0 for a
 *   feed-forward edge; `s[j,k]` = the size of the module the edge sits in (`z_k`, same
 *   module) or would at least create (`z_j + z_k`, different modules), t the target
 *   module size. Modules up to t nodes are free; only the excess is penalised, so the
 *   pressure falls on the oversized (core) module and not on small ones. μ = max(m_j, m_k).
 * The diagonal (the nodes' biases) is never penalised: `C[k,k] = 0`.
 *
 * When to use: directly only to inspect or test the coefficients; the
 * {@link NMRegularizer} calls it on every re-partition.
 *
 * @example
 * const c = nmCoefficients('size', { p: 2, rowPtr, colIdx, modules: [[0, 1]] }, 0.1, null);
 */
import { hopDistances, UNREACHABLE } from '../graph/hop_distance.js';
import { componentReachability } from '../graph/reachability.js';
import { moduleLabels } from '../graph/schedule.js';
import { ConfigError } from '../utils/errors.js';

export const NM_FORMS = ['size', 'repulsion', 'excess'] as const;
/** The form of the NM penalty: v3's module-size weights, v4's repulsion matrix, or the module-size excess over a target. */
export type NMForm = (typeof NM_FORMS)[number];

/** A partition of a p-node graph: the kept edges (CSR) and the modules. */
export interface NMPartition {
  /** Number of nodes. */
  p: number;
  /** CSR row pointers (length p + 1) of the kept edges, grouped by source node. */
  rowPtr: Int32Array;
  /** CSR target node of each kept edge. */
  colIdx: Int32Array;
  /** Node ids per module; every node in exactly one module. */
  modules: number[][];
}

/** Module size z_k of every node; throws when `modules` is not a partition of 0…p−1. */
export function moduleSizeOfNodes(p: number, modules: number[][]): Int32Array {
  const z = new Int32Array(p);
  for (const m of modules) {
    for (const node of m) {
      if (!Number.isInteger(node) || node < 0 || node >= p || z[node] !== 0) {
        throw new ConfigError(`nm regularizer: 'modules' must partition the nodes 0…${p - 1}; node ${node} is out of range or listed twice.`);
      }
      z[node] = m.length;
    }
  }
  const missing = z.indexOf(0);
  if (missing >= 0) throw new ConfigError(`nm regularizer: 'modules' must partition the nodes 0…${p - 1}; node ${missing} is in no module.`);
  return z;
}

/** The default target module size of the excess form: ⌈√p⌉. */
export function defaultTargetSize(p: number): number {
  return Math.ceil(Math.sqrt(p));
}

/**
 * The base matrix B of a form (row-major p×p, zero diagonal), without α or multipliers.
 * The repulsion form runs a BFS from every node (O(p·(p + E))); the excess form needs
 * only reachability, from the condensation (O(p² + E·C/32) for C components).
 * `targetSize` (excess form only) defaults to ⌈√p⌉.
 */
export function nmBaseMatrix(form: NMForm, part: NMPartition, targetSize: number | null = null): Float32Array {
  const { p } = part;
  const z = moduleSizeOfNodes(p, part.modules);
  const b = new Float32Array(p * p);
  if (form === 'size') {
    for (let j = 0; j < p; j++) {
      const row = j * p;
      for (let k = 0; k < p; k++) if (k !== j) b[row + k] = z[k];
    }
    return b;
  }
  if (form === 'excess') {
    // Only whether k reaches j matters here, not how far: the condensation answers that.
    const { componentOf, words, bits } = componentReachability(p, part.rowPtr, part.colIdx);
    const t = targetSize ?? defaultTargetSize(p);
    const mod = moduleLabels(part.modules);
    for (let j = 0; j < p; j++) {
      const row = j * p;
      const cj = componentOf[j];
      const word = cj >>> 5;
      const shift = cj & 31;
      for (let k = 0; k < p; k++) {
        if (k === j || ((bits[componentOf[k] * words + word] >>> shift) & 1) === 0) continue;
        const s = mod[j] === mod[k] ? z[k] : z[j] + z[k];
        if (s > t) b[row + k] = s - t;
      }
    }
    return b;
  }
  const d = hopDistances(p, part.rowPtr, part.colIdx);
  let sum = 0;
  let count = 0;
  for (let j = 0; j < p; j++) {
    const row = j * p;
    for (let k = 0; k < p; k++) {
      if (k === j) continue;
      const dkj = d[k * p + j];
      if (dkj === UNREACHABLE) continue;
      const r = (z[j] * z[k]) / (dkj + 1);
      b[row + k] = r;
      sum += r;
      count++;
    }
  }
  if (count > 0) {
    const scale = count / sum;
    for (let i = 0; i < b.length; i++) b[i] *= scale;
  }
  return b;
}

/**
 * The coefficient matrix `C = α·B∘μ` (row-major p×p, zero diagonal), with μ built
 * from the per-node multipliers `m` (all 1 when null) as described above.
 */
export function nmCoefficients(form: NMForm, base: Float32Array, p: number, alpha: number, m: Float32Array | null): Float32Array {
  const c = new Float32Array(p * p);
  if (m == null) {
    // Without multipliers (μ = 1) C is α·B: the loop the structure recipe runs at every re-partition.
    for (let i = 0; i < c.length; i++) {
      const b = base[i];
      if (b !== 0) c[i] = alpha * b;
    }
    return c;
  }
  for (let j = 0; j < p; j++) {
    const row = j * p;
    const mj = m[j];
    for (let k = 0; k < p; k++) {
      const b = base[row + k];
      if (b === 0) continue;
      const mu = form === 'size' ? m[k] : Math.max(mj, m[k]);
      c[row + k] = alpha * b * mu;
    }
  }
  return c;
}
