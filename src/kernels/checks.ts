/**
 * The argument checks both kernel implementations share (js_kernels.ts, wasm_kernels.ts):
 * O(1) or O(p) per call, a ConfigError naming the function, the argument and what was expected.
 */
import { ConfigError } from '../utils/errors.js';
import type { AdamCoefficients, MomentumCoefficients } from './arena.js';
import { gemmPackedBytes } from './gemm.js';

type Typed = Float32Array | Int32Array;

function checkInt(where: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 0x7fffffff) {
    throw new ConfigError(`${where}: '${name}' must be an integer in [${min}, 2^31); received ${String(v)}.`);
  }
}

function checkLength(where: string, name: string, a: Typed, need: number, what: string): void {
  if (a.length < need) {
    throw new ConfigError(`${where}: '${name}' has length ${a.length} but needs at least ${need} (${what}).`);
  }
}

/** Throws unless elements [aFrom, aTo) of `a` and [bFrom, bTo) of `b` occupy disjoint bytes. */
function checkDisjoint(where: string, aName: string, a: Typed, aFrom: number, aTo: number, bName: string, b: Typed, bFrom: number, bTo: number): void {
  if (a.buffer !== b.buffer || aFrom >= aTo || bFrom >= bTo) return;
  const a0 = a.byteOffset + aFrom * 4,
    a1 = a.byteOffset + aTo * 4;
  const b0 = b.byteOffset + bFrom * 4,
    b1 = b.byteOffset + bTo * 4;
  if (a0 < b1 && b0 < a1) {
    throw new ConfigError(`${where}: '${aName}' overlaps the part of '${bName}' this call writes; pass separate arrays.`);
  }
}

/** Checks lo, hi and B: integers with 0 ≤ lo ≤ hi and B ≥ 1. */
function checkRange(where: string, lo: number, hi: number, B: number): void {
  checkInt(where, 'B', B, 1);
  checkInt(where, 'lo', lo, 0);
  checkInt(where, 'hi', hi, lo);
  if (hi * B > 0x7fffffff) throw new ConfigError(`${where}: hi·B = ${hi * B} elements is too large.`);
}

/**
 * Range checks of {@link SparseKernels.spmm} (O(1): lo, hi, B, lengths, ptr[lo],
 * ptr[hi], x/out overlap). Throws a ConfigError naming the argument.
 * Caveat: does not check ptr monotonicity or idx values.
 *
 * @example
 * checkSpmmArgs(ptr, idx, w, 0, p, x, out, B);
 */
export function checkSpmmArgs(ptr: Int32Array, idx: Int32Array, w: Float32Array, lo: number, hi: number, x: Float32Array, out: Float32Array, B: number): void {
  const where = 'spmm';
  checkRange(where, lo, hi, B);
  if (lo === hi) return;
  checkLength(where, 'ptr', ptr, hi + 1, 'hi + 1 row pointers');
  const first = ptr[lo],
    last = ptr[hi];
  if (first < 0) throw new ConfigError(`${where}: ptr[lo] = ptr[${lo}] is ${first}; row pointers must be >= 0.`);
  checkLength(where, 'idx', idx, last, `ptr[hi] = ptr[${hi}] nonzeros`);
  checkLength(where, 'w', w, last, `ptr[hi] = ptr[${hi}] nonzeros`);
  checkLength(where, 'out', out, hi * B, 'hi·B');
  checkDisjoint(where, 'x', x, 0, x.length, 'out', out, lo * B, hi * B);
}

/**
 * Range checks of {@link SparseKernels.dotRows} (O(1)). Throws a ConfigError naming the argument.
 *
 * @example
 * checkDotRowsArgs(a, c, 0, n, B, out);
 */
export function checkDotRowsArgs(a: Float32Array, c: Float32Array, lo: number, hi: number, B: number, out: Float32Array): void {
  const where = 'dotRows';
  checkRange(where, lo, hi, B);
  checkLength(where, 'out', out, B, 'B');
  if (lo === hi) return;
  checkLength(where, 'a', a, hi * B, 'hi·B');
  checkLength(where, 'c', c, hi * B, 'hi·B');
  checkDisjoint(where, 'a', a, lo * B, hi * B, 'out', out, 0, B);
  checkDisjoint(where, 'c', c, lo * B, hi * B, 'out', out, 0, B);
}

/**
 * Range checks of {@link SparseKernels.axpyRows} (O(1)); `a` may be `out` itself
 * but not a shifted view of it. Throws a ConfigError naming the argument.
 *
 * @example
 * checkAxpyRowsArgs(g, a, 0, n, B, out);
 */
export function checkAxpyRowsArgs(g: Float32Array, a: Float32Array, lo: number, hi: number, B: number, out: Float32Array): void {
  const where = 'axpyRows';
  checkRange(where, lo, hi, B);
  checkLength(where, 'g', g, B, 'B');
  if (lo === hi) return;
  checkLength(where, 'a', a, hi * B, 'hi·B');
  checkLength(where, 'out', out, hi * B, 'hi·B');
  checkDisjoint(where, 'g', g, 0, B, 'out', out, lo * B, hi * B);
  if (!(a.buffer === out.buffer && a.byteOffset === out.byteOffset)) checkDisjoint(where, 'a', a, lo * B, hi * B, 'out', out, lo * B, hi * B);
}

/** Throws unless `b` has the same length as `a`. */
function checkSameLength(where: string, aName: string, a: Float32Array, bName: string, b: Float32Array): void {
  if (b.length !== a.length) {
    throw new ConfigError(`${where}: '${bName}' has length ${b.length} but must have the length of '${aName}', ${a.length}.`);
  }
}

/** Throws if `out` partially overlaps `input` (being the very same array is fine for the element-wise kernels). */
function checkAliasOrDisjoint(where: string, inName: string, input: Float32Array, outName: string, out: Float32Array): void {
  if (input.buffer === out.buffer && input.byteOffset === out.byteOffset && input.length === out.length) return;
  checkDisjoint(where, inName, input, 0, input.length, outName, out, 0, out.length);
}

/**
 * Checks of {@link SparseKernels.tanh}: equal lengths; out is x or disjoint from it.
 * Throws a ConfigError naming the argument.
 *
 * @example
 * checkTanhArgs(x, x); // in place
 */
export function checkTanhArgs(x: Float32Array, out: Float32Array): void {
  checkSameLength('tanh', 'x', x, 'out', out);
  checkAliasOrDisjoint('tanh', 'x', x, 'out', out);
}

/**
 * Checks of {@link SparseKernels.gemmNT}: h and v hold p·B floats, out p·p, packed
 * gemmPackedBytes(p, B)/4; out disjoint from the others. Throws a ConfigError naming the argument.
 *
 * @example
 * checkGemmArgs(h, v, p, B, out, packed);
 */
export function checkGemmArgs(h: Float32Array, v: Float32Array, p: number, B: number, out: Float32Array, packed: Float32Array): void {
  const where = 'gemmNT';
  checkInt(where, 'p', p, 0);
  checkInt(where, 'B', B, 0);
  for (const [name, a, n] of [
    ['h', h, p * B],
    ['v', v, p * B],
    ['out', out, p * p],
    ['packed', packed, gemmPackedBytes(p, B) / 4],
  ] as const) {
    if (a.length < n) throw new ConfigError(`${where}: '${name}' has length ${a.length} but needs at least ${n} (p = ${p}, B = ${B}).`);
  }
  checkDisjoint(where, 'h', h, 0, p * B, 'out', out, 0, p * p);
  checkDisjoint(where, 'v', v, 0, p * B, 'out', out, 0, p * p);
  checkDisjoint(where, 'packed', packed, 0, gemmPackedBytes(p, B) / 4, 'out', out, 0, p * p);
  checkDisjoint(where, 'v', v, 0, p * B, 'packed', packed, 0, gemmPackedBytes(p, B) / 4);
}

/**
 * Checks of {@link SparseKernels.permuteIn} and `permuteOut`: lengths p·B, perm a
 * list of node indices in [0, p) (O(p)), out disjoint from the inputs. Throws a
 * ConfigError naming the argument.
 *
 * @example
 * checkPermuteArgs('permuteIn', src, perm, B, out, null);
 */
export function checkPermuteArgs(where: string, src: Float32Array, perm: Int32Array, B: number, out: Float32Array, scale: Float32Array | null): void {
  const p = perm.length;
  checkInt(where, 'B', B, 0);
  for (const [name, a] of [
    ['src', src],
    ['out', out],
    ['scale', scale],
  ] as const) {
    if (a !== null && a.length < p * B) throw new ConfigError(`${where}: '${name}' has length ${a.length} but needs p·B = ${p * B}.`);
  }
  for (let q = 0; q < p; q++) {
    if (!(perm[q] >= 0 && perm[q] < p)) throw new ConfigError(`${where}: 'perm[${q}]' is ${perm[q]}, not a node index in [0, ${p}).`);
  }
  checkDisjoint(where, 'src', src, 0, p * B, 'out', out, 0, p * B);
  if (scale !== null) checkDisjoint(where, 'scale', scale, 0, p * B, 'out', out, 0, p * B);
}

/**
 * Checks of {@link SparseKernels.relativeStep}: equal lengths. Throws a ConfigError naming the argument.
 *
 * @example
 * checkRelativeStepArgs(next, x);
 */
export function checkRelativeStepArgs(a: Float32Array, b: Float32Array): void {
  checkSameLength('relativeStep', 'a', a, 'b', b);
}

/**
 * Checks of {@link SparseKernels.addMul}: equal lengths; out is each input or
 * disjoint from it. Throws a ConfigError naming the argument.
 *
 * @example
 * checkAddMulArgs(a, d, t, a); // a += d·t
 */
export function checkAddMulArgs(a: Float32Array, d: Float32Array, t: Float32Array, out: Float32Array): void {
  const where = 'addMul';
  checkSameLength(where, 'out', out, 'a', a);
  checkSameLength(where, 'out', out, 'd', d);
  checkSameLength(where, 'out', out, 't', t);
  checkAliasOrDisjoint(where, 'a', a, 'out', out);
  checkAliasOrDisjoint(where, 'd', d, 'out', out);
  checkAliasOrDisjoint(where, 't', t, 'out', out);
}

/**
 * Checks of {@link SparseKernels.andersonDiffs}: equal lengths; dG and dR both
 * null or both arrays; the written arrays (r, prevG, prevR, dG, dR) disjoint from
 * each other and from g and x. Throws a ConfigError naming the argument.
 *
 * @example
 * checkAndersonDiffsArgs(g, x, prevG, prevR, r, null, null);
 */
export function checkAndersonDiffsArgs(
  g: Float32Array,
  x: Float32Array,
  prevG: Float32Array,
  prevR: Float32Array,
  r: Float32Array,
  dG: Float32Array | null,
  dR: Float32Array | null,
): void {
  const where = 'andersonDiffs';
  if ((dG === null) !== (dR === null)) {
    throw new ConfigError(
      `${where}: 'dG' and 'dR' must both be null (first iteration) or both be arrays; received ${dG === null ? 'null' : 'an array'} and ${dR === null ? 'null' : 'an array'}.`,
    );
  }
  const inputs: Array<[string, Float32Array]> = [
    ['g', g],
    ['x', x],
  ];
  const outputs: Array<[string, Float32Array]> = [
    ['prevG', prevG],
    ['prevR', prevR],
    ['r', r],
  ];
  if (dG !== null && dR !== null) outputs.push(['dG', dG], ['dR', dR]);
  for (const [name, a] of [...inputs.slice(1), ...outputs]) checkSameLength(where, 'g', g, name, a);
  outputs.forEach(([oName, o], i) => {
    for (const [name, a] of [...inputs, ...outputs.slice(0, i)]) checkDisjoint(where, name, a, 0, a.length, oName, o, 0, o.length);
  });
}

/** An optimizer kernel's arrays (`w` among them): all of w's length and pairwise disjoint. */
function checkUpdateArrays(where: string, w: Float32Array, arrays: Array<[string, Float32Array]>): void {
  for (const [name, a] of arrays) if (a !== w) checkSameLength(where, 'w', w, name, a);
  for (let i = 1; i < arrays.length; i++) {
    for (let j = 0; j < i; j++) checkDisjoint(where, arrays[j][0], arrays[j][1], 0, arrays[j][1].length, arrays[i][0], arrays[i][1], 0, arrays[i][1].length);
  }
}

/** An optimizer kernel's coefficients: an object whose `keys` are finite numbers. */
function checkCoefficients<C extends object>(where: string, c: C, what: string, keys: ReadonlyArray<keyof C & string>): void {
  if (c == null || typeof c !== 'object') throw new ConfigError(`${where}: 'c' must be an object of ${what} coefficients; received ${String(c)}.`);
  for (const key of keys) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ConfigError(`${where}: coefficient '${key}' must be a finite number; received ${String(v)}.`);
    }
  }
}

/**
 * Checks of {@link SparseKernels.adamUpdate}: g, m, v have the length of w; w, m
 * and v disjoint from each other and from g; finite coefficients. Throws a
 * ConfigError naming the argument.
 *
 * @example
 * checkAdamUpdateArgs(w, g, m, v, coefficients);
 */
export function checkAdamUpdateArgs(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamCoefficients): void {
  const where = 'adamUpdate';
  checkUpdateArrays(where, w, [
    ['g', g],
    ['w', w],
    ['m', m],
    ['v', v],
  ]);
  checkCoefficients(where, c, 'Adam', ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'biasCorrection1', 'biasCorrection2', 'epsilon', 'negLearningRate']);
}

/**
 * Checks of {@link SparseKernels.momentumUpdate}: g and a have the length of w; w, g
 * and a pairwise disjoint; finite coefficients and a boolean `nesterov`. Throws a
 * ConfigError naming the argument.
 *
 * @example
 * checkMomentumUpdateArgs(w, g, a, { momentum: 0.9, negLearningRate: -0.01, nesterov: false });
 */
export function checkMomentumUpdateArgs(w: Float32Array, g: Float32Array, a: Float32Array, c: MomentumCoefficients): void {
  const where = 'momentumUpdate';
  checkUpdateArrays(where, w, [
    ['g', g],
    ['w', w],
    ['a', a],
  ]);
  checkCoefficients(where, c, 'momentum', ['momentum', 'negLearningRate']);
  if (typeof c.nesterov !== 'boolean') throw new ConfigError(`${where}: coefficient 'nesterov' must be a boolean; received ${String(c.nesterov)}.`);
}
