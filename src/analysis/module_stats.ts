/**
 * Summary statistics of a module partition: how many modules, how large the largest
 * is, and how balanced the sizes are (the quantities NM regularization acts on;
 * neural-modules-v3 §3.5 and §4.3: "the overall efficiency is determined by the size
 * of the largest neural module").
 *
 * Balance is reported two ways:
 * - `balance = largest / mean size` (≥ 1; 1 when all modules have the same size). It
 *   reads directly as "how many times the average module the solve cost is set by".
 * - `gini` = the Gini coefficient of the module sizes,
 *   `Σ_a Σ_b |s_a − s_b| / (2·M²·mean)` over the M modules (0 when all sizes are equal,
 *   tending to 1 when one module holds every node and the rest are singletons).
 * Singletons count as modules of size 1 in both.
 *
 * Caveat: read both together with `largest`. A single module holding every node is
 * "perfectly balanced" (balance 1, Gini 0), and peeling singletons off one giant
 * module raises `balance` (the mean size drops faster than the largest) even though
 * the solve gets cheaper; the Gini coefficient falls in that case.
 *
 * When to use: on `layer.structure().moduleSizes` to compare regularizers or log
 * training (the `structureLogger` callback does).
 *
 * Input: module sizes, each an integer >= 1 (as `structure().moduleSizes`); anything
 * else (NaN, 0, 1.5, a non-array) throws a ConfigError naming the first bad index.
 *
 * @example moduleStats([3, 1, 1, 2]) // { modules: 4, largest: 3, meanSize: 1.75, balance: 1.714…, gini: 0.25, … }
 */

import { checkInt, fail } from '../utils/errors.js';

/** Statistics of a list of module sizes. */
export interface ModuleStats {
  /** Number of modules (singletons included). */
  modules: number;
  /** Size of the largest module. */
  largest: number;
  /** Mean module size (nodes / modules). */
  meanSize: number;
  /** largest / meanSize (1 = perfectly balanced). */
  balance: number;
  /** Gini coefficient of the sizes (0 = perfectly balanced). */
  gini: number;
  /** Modules with at least 2 nodes (those that need an iterative solve). */
  cyclicModules: number;
  /** Nodes that belong to modules of at least 2 nodes. */
  cyclicNodes: number;
}

/** Statistics of module sizes (see the file comment for the definitions). */
export function moduleStats(sizes: ArrayLike<number>): ModuleStats {
  const where = 'moduleStats';
  if (sizes == null || typeof sizes !== 'object' || !Number.isInteger(sizes.length)) {
    fail(where, 'sizes', sizes, 'an array of module sizes (integers >= 1), e.g. layer.structure().moduleSizes');
  }
  const m = sizes.length;
  for (let i = 0; i < m; i++) checkInt(where, `sizes[${i}]`, sizes[i], 1);
  if (m === 0) return { modules: 0, largest: 0, meanSize: 0, balance: 0, gini: 0, cyclicModules: 0, cyclicNodes: 0 };
  const s = Array.from(sizes).sort((a, b) => a - b);
  const total = s.reduce((a, b) => a + b, 0);
  const mean = total / m;
  const largest = s[m - 1];
  // Σ_a Σ_b |s_a − s_b| = 2·Σ_i (2i − m + 1)·s_i for ascending s (i from 0).
  let acc = 0;
  for (let i = 0; i < m; i++) acc += (2 * i - m + 1) * s[i];
  const gini = total > 0 ? acc / (m * total) : 0;
  let cyclicModules = 0;
  let cyclicNodes = 0;
  for (const v of s) {
    if (v >= 2) {
      cyclicModules++;
      cyclicNodes += v;
    }
  }
  return { modules: m, largest, meanSize: mean, balance: mean > 0 ? largest / mean : 0, gini, cyclicModules, cyclicNodes };
}
