/**
 * The building blocks of the kernels' argument checks (the catalog's entries,
 * src/kernels/catalog.ts, run them in both implementations): O(1) or O(p) per call, a
 * ConfigError naming the function, the argument and what was expected.
 */
import { ConfigError } from '../utils/errors.js';
import { gemmPackedBytes } from './gemm.js';

type Typed = Float32Array | Int32Array;

/** Throws unless `v` is an integer in [min, 2^31). */
export function checkInt(where: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 0x7fffffff) {
    throw new ConfigError(`${where}: '${name}' must be an integer in [${min}, 2^31); received ${String(v)}.`);
  }
}

/** Throws unless `a` holds at least `need` elements (`what` says why). */
export function checkLength(where: string, name: string, a: Typed, need: number, what: string): void {
  if (a.length < need) {
    throw new ConfigError(`${where}: '${name}' has length ${a.length} but needs at least ${need} (${what}).`);
  }
}

/** Throws unless elements [aFrom, aTo) of `a` and [bFrom, bTo) of `b` occupy disjoint bytes. */
export function checkDisjoint(where: string, aName: string, a: Typed, aFrom: number, aTo: number, bName: string, b: Typed, bFrom: number, bTo: number): void {
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
export function checkRange(where: string, lo: number, hi: number, B: number): void {
  checkInt(where, 'B', B, 1);
  checkInt(where, 'lo', lo, 0);
  checkInt(where, 'hi', hi, lo);
  if (hi * B > 0x7fffffff) throw new ConfigError(`${where}: hi·B = ${hi * B} elements is too large.`);
}

/** Throws unless `b` has the same length as `a`. */
export function checkSameLength(where: string, aName: string, a: Typed, bName: string, b: Typed): void {
  if (b.length !== a.length) {
    throw new ConfigError(`${where}: '${bName}' has length ${b.length} but must have the length of '${aName}', ${a.length}.`);
  }
}

/** Throws if `out` partially overlaps `input` (being the very same array is fine for the element-wise kernels). */
export function checkAliasOrDisjoint(where: string, inName: string, input: Float32Array, outName: string, out: Float32Array): void {
  if (input.buffer === out.buffer && input.byteOffset === out.byteOffset && input.length === out.length) return;
  checkDisjoint(where, inName, input, 0, input.length, outName, out, 0, out.length);
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

/** An optimizer kernel's arrays by name (`w` among them): all of w's length and pairwise disjoint. */
export function checkUpdateArrays(where: string, w: Float32Array, named: Record<string, Float32Array>): void {
  const arrays = Object.entries(named);
  for (const [name, a] of arrays) if (a !== w) checkSameLength(where, 'w', w, name, a);
  for (let i = 1; i < arrays.length; i++) {
    for (let j = 0; j < i; j++) checkDisjoint(where, arrays[j][0], arrays[j][1], 0, arrays[j][1].length, arrays[i][0], arrays[i][1], 0, arrays[i][1].length);
  }
}

/** An optimizer kernel's coefficients: an object whose `keys` are finite numbers. */
export function checkCoefficients<C extends object>(where: string, c: C, what: string, keys: ReadonlyArray<keyof C & string>): void {
  if (c == null || typeof c !== 'object') throw new ConfigError(`${where}: 'c' must be an object of ${what} coefficients; received ${String(c)}.`);
  for (const key of keys) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ConfigError(`${where}: coefficient '${key}' must be a finite number; received ${String(v)}.`);
    }
  }
}

/**
 * An element-wise kernel's arrays, by name: the inputs and outputs all of the first
 * input's length; each output disjoint from the inputs and the outputs before it.
 */
export function checkWrites(where: string, inputs: Record<string, Float32Array>, outputs: Record<string, Float32Array>): void {
  const before = Object.entries(inputs);
  const [firstName, first] = before[0];
  for (const [name, a] of [...before.slice(1), ...Object.entries(outputs)]) checkSameLength(where, firstName, first, name, a);
  for (const [oName, o] of Object.entries(outputs)) {
    for (const [name, a] of before) checkDisjoint(where, name, a, 0, a.length, oName, o, 0, o.length);
    before.push([oName, o]);
  }
}
