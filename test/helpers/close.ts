/**
 * One closeness check for all tests: element-wise |actual − expected| ≤ atol + rtol·|expected|
 * (numpy's allclose), reporting the worst element (index, both values, the excess) on failure.
 */
import { assert } from 'vitest';

/** Tolerances: `atol` (a number, or one per element) plus `rtol`·|expected|. Both default to 0. */
export interface Tolerance {
  atol?: number | ArrayLike<number>;
  rtol?: number;
}

/** How close two arrays are. */
export interface Closeness {
  /** max over elements of |a − e| / (atol + rtol·|e|): ≤ 1 means within tolerance (0/0 counts as 0). */
  worstRatio: number;
  /** The element where that maximum is. -1 for empty arrays. */
  worstIndex: number;
  /** max |a − e| over elements. */
  maxAbs: number;
  /** Elements out of tolerance. */
  failures: number;
}

type Values = ArrayLike<number> | { dataSync(): ArrayLike<number> };

const values = (v: Values): ArrayLike<number> => ('dataSync' in v && typeof v.dataSync === 'function' ? v.dataSync() : (v as ArrayLike<number>));

/** Measures closeness without asserting (for "must differ" checks and reports). Same NaN/Inf rules as expectClose. */
export function closeness(actual: Values, expected: Values, tol: Tolerance = {}): Closeness {
  const a = values(actual);
  const e = values(expected);
  if (a.length !== e.length) throw new Error(`closeness: lengths differ: actual ${a.length}, expected ${e.length}`);
  const atol = tol.atol ?? 0;
  const rtol = tol.rtol ?? 0;
  if (typeof atol !== 'number' && atol.length !== e.length) throw new Error(`closeness: ${atol.length} atol values for ${e.length} elements`);
  let worstRatio = 0;
  let worstIndex = e.length > 0 ? 0 : -1;
  let maxAbs = 0;
  let failures = 0;
  for (let i = 0; i < e.length; i++) {
    const x = a[i];
    const y = e[i];
    let ratio: number;
    if (Number.isNaN(x) || Number.isNaN(y)) ratio = Number.isNaN(x) && Number.isNaN(y) ? 0 : Infinity;
    else if (!Number.isFinite(x) || !Number.isFinite(y)) ratio = x === y ? 0 : Infinity;
    else {
      const d = Math.abs(x - y);
      if (d > maxAbs) maxAbs = d;
      const bound = (typeof atol === 'number' ? atol : atol[i]) + rtol * Math.abs(y);
      ratio = d === 0 ? 0 : bound > 0 ? d / bound : Infinity;
    }
    if (ratio > 1) failures++;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = i;
    }
  }
  return { worstRatio, worstIndex, maxAbs, failures };
}

/**
 * Asserts |actual[i] − expected[i]| ≤ atol + rtol·|expected[i]| for every i (NaN matches
 * only NaN, ±Infinity only itself). Accepts arrays, typed arrays or tensors. Returns the
 * measured closeness so a test can also check it is not suspiciously exact.
 */
export function expectClose(actual: Values, expected: Values, tol: Tolerance, label = 'values'): Closeness {
  const a = values(actual);
  const e = values(expected);
  if (a.length !== e.length) assert.fail(`${label}: lengths differ: actual ${a.length}, expected ${e.length}`);
  const c = closeness(a, e, tol);
  if (c.worstRatio > 1) {
    const i = c.worstIndex;
    const atol = tol.atol ?? 0;
    const at = typeof atol === 'number' ? atol : atol[i];
    assert.fail(
      `${label}: ${c.failures} of ${e.length} elements out of tolerance (atol ${at}, rtol ${tol.rtol ?? 0}); ` +
        `worst at [${i}]: actual ${a[i]}, expected ${e[i]}, |diff| ${Math.abs(a[i] - e[i])} = ${c.worstRatio.toPrecision(3)}× the tolerance`,
    );
  }
  return c;
}
