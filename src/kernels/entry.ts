/**
 * The shape of one entry of the kernel catalog (src/kernels/catalog.ts): the kernel's
 * public arguments, the WebAssembly exports it calls with their parameter kinds and
 * thread split, its argument checks and how it calls the exports. Everything else (the
 * wasm wrapper, the JS twin's checks, the thread split, the worker protocol, the
 * TypeScript types of the kernels and of the exports) is built from the entries.
 */

/** A public argument of a kernel: its name (in error messages) and whether it is an array that must live in the kernels' memory. */
export interface Arg<T = unknown, Optional extends boolean = boolean> {
  readonly name: string;
  /** True for a typed array (on wasm: checked to be a view of the kernels' memory; null is skipped). */
  readonly array: boolean;
  /** True for a trailing argument callers may leave out. */
  readonly optional: Optional;
  /** The argument's TypeScript type (never set: only its type is read). */
  readonly type?: T;
}

/** The public argument constructors of catalog entries. */
export const arg = {
  f32: (name: string): Arg<Float32Array, false> => ({ name, array: true, optional: false }),
  i32: (name: string): Arg<Int32Array, false> => ({ name, array: true, optional: false }),
  /** An array or null (null: the kernel does without it). */
  f32OrNull: (name: string): Arg<Float32Array | null, false> => ({ name, array: true, optional: false }),
  int: (name: string): Arg<number, false> => ({ name, array: false, optional: false }),
  /** Any other value (coefficients, a sink), passed to the checks and the call as it is. */
  value: <T>(name: string): Arg<T, false> => ({ name, array: false, optional: false }),
  /** A trailing value callers may leave out. */
  optional: <T>(name: string): Arg<T | undefined, true> => ({ name, array: false, optional: true }),
  /** A trailing array or null callers may leave out (what undefined and null mean is the kernel's). */
  optionalF32: (name: string): Arg<Float32Array | null | undefined, true> => ({ name, array: true, optional: true }),
};

/** The TypeScript argument list of a tuple of {@link Arg}s (a trailing optional one becomes optional). */
export type ArgTypes<S extends readonly Arg[]> = S extends readonly [...infer Init extends readonly Arg[], infer Last]
  ? Last extends Arg<infer T, true>
    ? [...ArgTypes<Init>, T?]
    : Last extends Arg<infer T, false>
      ? [...ArgTypes<Init>, T]
      : never
  : [];

/**
 * How the thread split treats a parameter of a wasm export (every parameter is a number):
 * - `ptr`: a byte offset of an array (an 'elements' split moves it by 4 bytes per element of the part's start);
 * - `lo`, `hi`: the row range [lo, hi) the kernel computes (a 'rows' split cuts it);
 * - `len`: the element count an 'elements' split cuts;
 * - `int`: any other integer (sizes, strides, flags), the same in every part;
 * - `f32`: a coefficient (rounded to f32 by the call), the same in every part.
 */
export type ParamKind = 'ptr' | 'lo' | 'hi' | 'len' | 'int' | 'f32';

/** A parameter of a wasm export. */
export interface Param {
  readonly name: string;
  readonly kind: ParamKind;
}

/** The parameter constructors of catalog entries, one per {@link ParamKind}. */
export const param = {
  ptr: (name: string) => ({ name, kind: 'ptr' }) as const,
  lo: (name: string) => ({ name, kind: 'lo' }) as const,
  hi: (name: string) => ({ name, kind: 'hi' }) as const,
  len: (name: string) => ({ name, kind: 'len' }) as const,
  int: (name: string) => ({ name, kind: 'int' }) as const,
  f32: (name: string) => ({ name, kind: 'f32' }) as const,
};

/**
 * How one call of a wasm export is cut into parts for the kernel threads. Every part is
 * computed by the same code in the same order wherever it runs, and parts write disjoint
 * memory, so the result is the same bits for any cut (DESIGN.md, "Kernel threads").
 * - `caller`: never cut (a reduction, or a copy that is not worth it): runs whole on the
 *   calling thread, after the calls of a `together` batch recorded so far.
 * - `elements`: the `len` parameter cut into ranges that start at multiples of `align`;
 *   every `ptr` moves to its range. Work = len × (hi − lo, when the export has a row range).
 * - `rows`: [lo, hi) cut at multiples of `align` from lo. Work = rows × the product of the
 *   `work` parameters; with `balance` (the row pointers of a CSR structure, a `ptr`
 *   parameter) the cuts give each part about the same number of nonzeros, and work =
 *   nonzeros × the `work` parameters.
 */
export type Split =
  | { readonly by: 'caller' }
  | { readonly by: 'elements'; readonly align: number }
  | { readonly by: 'rows'; readonly align: number; readonly work: readonly string[]; readonly balance?: string };

/** A wasm export a kernel calls: its parameters in order, how a call is cut for the threads, and whether it returns an f64. */
export interface ExportSpec<P extends readonly Param[] = readonly Param[]> {
  readonly params: P;
  readonly split: Split;
  /** True when the export returns an f64 (else nothing). Default: false. */
  readonly returnsF64?: boolean;
}

/** A number for every element of tuple `P`. */
type Numbers<P extends readonly unknown[]> = { -readonly [K in keyof P]: number };

/** The JavaScript type of a wasm export with spec `S`. */
export type ExportFn<S extends ExportSpec> = (...args: Numbers<S['params']>) => S['returnsF64'] extends true ? number : void;

/** Where the caller's share of a row-split export's rows goes when only the caller can write the destination (see {@link Exports.deliver}). */
export interface RowSink {
  /** Computes rows [lo, hi) where they belong, on the calling thread. */
  rows(lo: number, hi: number): void;
  /** Takes rows [lo, hi) that another thread computed into the export's own output. */
  take(lo: number, hi: number): void;
}

/** What an entry's `call` gets: its exports, direct or split across the kernel threads. */
export type Exports<X extends Record<string, ExportSpec>> = { [E in keyof X]: ExportFn<X[E]> } & {
  /**
   * Runs the row-split export `name` over its [lo, hi) with the rows delivered to `sink`:
   * rows the calling thread takes go to `sink.rows` (not to the export), rows a kernel
   * thread computed into the export's output go to `sink.take` as soon as that thread is
   * done. Without threads: `sink.rows(lo, hi)`.
   */
  deliver(name: keyof X & string, sink: RowSink, ...args: number[]): void;
};

/** One kernel of the catalog. `A`: its public arguments; `X`: the exports it calls; `R`: what it returns. */
export interface KernelEntry<A extends readonly Arg[] = readonly Arg[], X extends Record<string, ExportSpec> = Record<string, ExportSpec>, R = unknown> {
  /** The public arguments, in order. */
  readonly args: A;
  /** The wasm exports the kernel calls, by export name (unique across the catalog). */
  readonly exports: X;
  /** The argument checks both implementations run first (a ConfigError naming the kernel and the argument). */
  readonly check: (...args: ArgTypes<A>) => void;
  /** Calls the exports with the byte offsets and sizes of checked arguments. */
  readonly call: (x: Exports<X>, ...args: ArgTypes<A>) => R;
}

/**
 * Types an entry (the identity at run time): infers the arguments and exports, so that
 * `check` and `call` are checked against them.
 *
 * @example
 * const tanh = kernel({ args: [arg.f32('x'), arg.f32('out')], exports: { tanh: { params: [...], split } }, check, call });
 */
export function kernel<const A extends readonly Arg[], const X extends Record<string, ExportSpec>, R>(entry: {
  args: A;
  exports: X;
  check: (...args: ArgTypes<A>) => void;
  call: (x: Exports<X>, ...args: ArgTypes<A>) => R;
}): KernelEntry<A, X, R> {
  return entry;
}

/** Where an export's parameters sit, by kind (−1: the export has none of that kind). */
export interface ParamLayout {
  /** Positions of the `ptr` parameters. */
  readonly ptrs: readonly number[];
  readonly lo: number;
  readonly hi: number;
  readonly len: number;
  /** Position of each parameter by name. */
  readonly at: Readonly<Record<string, number>>;
}

/**
 * The positions of `spec`'s parameters by kind and name (computed once per export, so a
 * split reads arguments by position).
 *
 * @example
 * paramLayout(CATALOG.tanh.exports.tanh); // { ptrs: [0, 1], lo: -1, hi: -1, len: 2, at: { x: 0, out: 1, n: 2 } }
 */
export function paramLayout(spec: ExportSpec): ParamLayout {
  const kinds = spec.params.map((q) => q.kind);
  const ptrs = kinds.flatMap((k, i) => (k === 'ptr' ? [i] : []));
  return { ptrs, lo: kinds.indexOf('lo'), hi: kinds.indexOf('hi'), len: kinds.indexOf('len'), at: Object.fromEntries(spec.params.map((q, i) => [q.name, i])) };
}

/** The one-pass element-wise kernels: `len` cut at multiples of 16 (the SIMD chunk). */
export const ELEMENTS = { by: 'elements', align: 16 } as const;
