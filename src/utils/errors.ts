/**
 * Error types and argument checks shared by every public factory.
 *
 * Every message names *what* was wrong, *where* (the layer, option or function),
 * the value *received*, and what was *expected*, so a user can fix the call
 * without reading the source.
 */

/** A bad argument or configuration value. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A fixed-point solve that did not reach its tolerance within `maxIter` iterations. */
export class NonConvergenceError extends Error {
  constructor(
    message: string,
    /** Relative residual at the last check. */
    readonly residual: number,
    /** Iterations of the solve that missed its tolerance (of a Neural Module layer: the worst condensation level's solve, at most maxIter). */
    readonly iterations: number,
  ) {
    super(message);
    this.name = 'NonConvergenceError';
  }
}

/** NaN or Inf found in an input or in a solve result. */
export class NonFiniteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

/** Stands for a non-finite number inside JSON until {@link show} unquotes it. */
const NON_FINITE = '\u2063nonfinite\u2063';

/**
 * Renders a received value for an error message (short, unambiguous): numbers as
 * JavaScript prints them (NaN, Infinity, -Infinity; also inside objects, where JSON
 * would print null), strings quoted.
 */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  try {
    const json = JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `${NON_FINITE}${v}` : v));
    const s = json.replace(new RegExp(`"${NON_FINITE}([^"]*)"`, 'g'), '$1');
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return String(value);
  }
}

/** Throws a ConfigError: `${where}: ${arg} must be ${expected}; received ${value}.` */
export function fail(where: string, arg: string, value: unknown, expected: string, fix?: string): never {
  throw new ConfigError(`${where}: '${arg}' must be ${expected}; received ${show(value)}.${fix ? ` ${fix}` : ''}`);
}

/** Checks an integer within [min, max]. */
export function checkInt(where: string, arg: string, value: unknown, min: number, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    fail(where, arg, value, range);
  }
  return value;
}

/** Checks a finite number within an interval; `open` selects which ends are excluded. */
export function checkNumber(where: string, arg: string, value: unknown, lo = -Infinity, hi = Infinity, open: { lo?: boolean; hi?: boolean } = {}): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && (open.lo ? value > lo : value >= lo) && (open.hi ? value < hi : value <= hi);
  if (!ok) {
    const l = lo === -Infinity ? '(-inf' : `${open.lo ? '(' : '['}${lo}`;
    const h = hi === Infinity ? 'inf)' : `${hi}${open.hi ? ')' : ']'}`;
    fail(where, arg, value, `a finite number in ${l}, ${h}`);
  }
  return value;
}

/** Checks that a value is one of the allowed strings. */
export function checkOneOf<T extends string>(where: string, arg: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(where, arg, value, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  return value as T;
}

/** Rejects keys that the args interface does not know (catches typos such as `desnity`). */
export function checkKeys(where: string, args: object, known: readonly string[]): void {
  for (const key of Object.keys(args)) {
    if (!known.includes(key)) {
      throw new ConfigError(`${where}: unknown option '${key}'. Known options: ${known.join(', ')}.`);
    }
  }
}
