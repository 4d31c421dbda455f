/**
 * Agreement of two partitions of the same items: the adjusted Rand index (ARI).
 *
 * When to use: to compare learned modules with a known grouping (a planted benchmark),
 * across seeds, or from one epoch to the next (how much a partition still changes; the
 * `decayWhenSettled` option of `nm.callbacks.modulePartition` uses it that way).
 *
 * Caveats: 1 for identical partitions (also two all-singleton ones), about 0 for
 * independent ones, and it can be negative. Labels are compared only for equality, so
 * relabelling either partition does not change the index.
 *
 * @example
 * const labels = (l: nm.layers.NeuralModuleLayer) => nm.analysis.moduleLabels(l.structure().modules);
 * nm.analysis.adjustedRandIndex(labels(a), labels(b)); // 1: the same modules
 *
 * Hubert & Arabie (1985), "Comparing partitions", Journal of Classification 2.
 */
import { fail } from '../utils/errors.js';

/** The adjusted Rand index of two labelings `a` and `b` of the same items (one integer label per item). */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const where = 'adjustedRandIndex';
  if (a == null || typeof a.length !== 'number') fail(where, 'a', a, 'an array of integer labels');
  if (b == null || typeof b.length !== 'number') fail(where, 'b', b, 'an array of integer labels');
  if (a.length !== b.length) fail(where, 'b.length', b.length, `the length of a (${a.length}): two labelings of the same items`);
  const n = a.length;
  const cells = new Map<number, Map<number, number>>();
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (!Number.isInteger(x)) fail(where, `a[${i}]`, x, 'an integer label');
    if (!Number.isInteger(y)) fail(where, `b[${i}]`, y, 'an integer label');
    let row = cells.get(x);
    if (row === undefined) cells.set(x, (row = new Map()));
    row.set(y, (row.get(y) ?? 0) + 1);
    rows.set(x, (rows.get(x) ?? 0) + 1);
    cols.set(y, (cols.get(y) ?? 0) + 1);
  }
  // pair counts are integers below 2^53 for any array that fits in memory: the sums are exact
  const pairs = (c: number) => (c * (c - 1)) / 2;
  let index = 0;
  for (const row of cells.values()) for (const c of row.values()) index += pairs(c);
  let sa = 0;
  for (const c of rows.values()) sa += pairs(c);
  let sb = 0;
  for (const c of cols.values()) sb += pairs(c);
  const expected = n < 2 ? 0 : (sa * sb) / pairs(n);
  const max = (sa + sb) / 2;
  // identical trivial partitions (all one module, or all singletons): max = expected
  return max === expected ? (index === expected ? 1 : 0) : (index - expected) / (max - expected);
}
