/**
 * The kernel catalog: one entry per kernel (its public arguments, the WebAssembly
 * exports it calls with their parameter kinds and thread split, its checks, and the
 * call), from which the wasm wrapper (wasm_kernels.ts), the JS twin's checks
 * (js_kernels.ts), the thread split (threads/split.ts), the workers' command table
 * (threads/protocol.ts) and the types {@link SparseKernels} and {@link SparseExports}
 * are built.
 *
 * Adding a kernel: its function in sparse.wat, sparse_elementwise.wat, gemm.wat or gemm_pointwise.wat (then `npm run build:kernels`),
 * its entry here (the optimizer steps' entries are in catalog_optimizers.ts), its JS twin
 * in js_kernels.ts (the types require one per entry).
 *
 * Arrays are node-major (row k of an [n, B] array is `arr[k·B .. k·B+B)`). Both
 * implementations round identically, so they give bit-identical results: spmm and
 * axpyRows round every product and sum to f32 (summing each element's terms in the naive
 * loop order); dotRows multiplies and sums in f64 and rounds once when adding to out. The
 * wasm kernels' 'fma' variant (src/kernels/kernel_variant.ts) fuses each multiply-add of
 * spmm, axpyRows and gemmNT instead (one rounding per term, the same order; no JS twin). The
 * element-wise kernels (tanh, addMul, andersonDiffs) compute in f32 with one fixed
 * operation order; relativeStep in f64 with a fixed summation order.
 *
 * Caveats: arguments are range-checked per call (lo, hi, B, array lengths, ptr[lo] and
 * ptr[hi]), but not element by element: ptr must be non-decreasing and every idx value
 * must be a valid row of x, else the wasm kernels read other arena memory or trap. For
 * 'wasm-simd' every array must be a view of the kernels' arena allocated after its last
 * reset(). Element-wise kernels: an output may be one of the inputs itself (same buffer
 * and offset) but must not partially overlap any input.
 */
import { ConfigError } from '../utils/errors.js';
import { checkAliasOrDisjoint, checkDisjoint, checkGemmArgs, checkLength, checkPermuteArgs, checkRange, checkSameLength, checkWrites } from './checks.js';
import { ELEMENTS, arg, kernel, param, type ArgTypes, type ExportFn, type Exports, type ExportSpec } from './entry.js';
import type { GemmSink } from './gemm.js';
import { ADAM_UPDATE, MOMENTUM_UPDATE } from './catalog_optimizers.js';

export type { AdamCoefficients, MomentumCoefficients } from './catalog_optimizers.js';

const { ptr, lo, hi, len, int } = param;

/** Row ranges cut anywhere (align 1); work = rows × B. */
const ROWS_BY_B = { by: 'rows', align: 1, work: ['B'] } as const;

export const CATALOG = {
  /**
   * out[k·B+b] = start[k·B+b] + Σ_{e=ptr[k]}^{ptr[k+1]−1} w[e]·x[idx[e]·B+b], for k in [lo, hi),
   * b in [0, B), each sum in order from start's element: `start` left out adds to out
   * itself, null starts from +0, an array (out's length at least, disjoint from out's rows)
   * is read instead of out, so no copy into out is needed first (an empty row gets
   * start's row, or zeros). ptr is indexed by absolute row k; out's rows must not overlap x.
   */
  spmm: kernel({
    args: [arg.i32('ptr'), arg.i32('idx'), arg.f32('w'), arg.int('lo'), arg.int('hi'), arg.f32('x'), arg.f32('out'), arg.int('B'), arg.optionalF32('start')],
    exports: {
      /** start: a byte offset, −1 for zeros (out's own offset adds to out). */
      spmm: {
        params: [ptr('ptr'), ptr('idx'), ptr('w'), lo('lo'), hi('hi'), ptr('x'), ptr('start'), ptr('out'), int('B')],
        split: { by: 'rows', align: 1, work: ['B'], balance: 'ptr' },
      },
    },
    check(ptrs, idx, w, rLo, rHi, x, out, B, start) {
      const where = 'spmm';
      checkRange(where, rLo, rHi, B);
      if (rLo === rHi) return;
      checkLength(where, 'ptr', ptrs, rHi + 1, 'hi + 1 row pointers');
      const first = ptrs[rLo],
        last = ptrs[rHi];
      if (first < 0) throw new ConfigError(`${where}: ptr[lo] = ptr[${rLo}] is ${first}; row pointers must be >= 0.`);
      checkLength(where, 'idx', idx, last, `ptr[hi] = ptr[${rHi}] nonzeros`);
      checkLength(where, 'w', w, last, `ptr[hi] = ptr[${rHi}] nonzeros`);
      checkLength(where, 'out', out, rHi * B, 'hi·B');
      checkDisjoint(where, 'x', x, 0, x.length, 'out', out, rLo * B, rHi * B);
      if (start != null && !(start.buffer === out.buffer && start.byteOffset === out.byteOffset)) {
        checkLength(where, 'start', start, rHi * B, 'hi·B');
        checkDisjoint(where, 'start', start, rLo * B, rHi * B, 'out', out, rLo * B, rHi * B);
      }
    },
    call: (k, ptrs, idx, w, rLo, rHi, x, out, B, start) =>
      k.spmm(
        ptrs.byteOffset,
        idx.byteOffset,
        w.byteOffset,
        rLo,
        rHi,
        x.byteOffset,
        start === undefined ? out.byteOffset : start === null ? -1 : start.byteOffset,
        out.byteOffset,
        B,
      ),
  }),

  /** out[b] += Σ_{k=lo}^{hi−1} a[k·B+b]·c[k·B+b] (per-sample dot products over rows; out has length B). */
  dotRows: kernel({
    args: [arg.f32('a'), arg.f32('c'), arg.int('lo'), arg.int('hi'), arg.int('B'), arg.f32('out')],
    exports: {
      /** Columns [0, nb) of rows [lo, hi); B is the row stride (nb ≤ B). */
      dotRows: { params: [ptr('a'), ptr('c'), lo('lo'), hi('hi'), int('B'), ptr('out'), len('nb')], split: { by: 'elements', align: 8 } },
    },
    check(a, c, rLo, rHi, B, out) {
      const where = 'dotRows';
      checkRange(where, rLo, rHi, B);
      checkLength(where, 'out', out, B, 'B');
      if (rLo === rHi) return;
      checkLength(where, 'a', a, rHi * B, 'hi·B');
      checkLength(where, 'c', c, rHi * B, 'hi·B');
      checkDisjoint(where, 'a', a, rLo * B, rHi * B, 'out', out, 0, B);
      checkDisjoint(where, 'c', c, rLo * B, rHi * B, 'out', out, 0, B);
    },
    call: (k, a, c, rLo, rHi, B, out) => k.dotRows(a.byteOffset, c.byteOffset, rLo, rHi, B, out.byteOffset, B),
  }),

  /**
   * The two squared norms of a fixed-point residual per sample, in one pass: with
   * d = fl(a − c) in f32, `r2[b] += Σ_k d[k,b]²` and `c2[b] += Σ_k c[k,b]²` over rows
   * [lo, hi) (r2 and c2 have length B), with {@link CATALOG.dotRows}' arithmetic: the same
   * bits as addMul(a, −1s, c) into r, then dotRows(r, r) and dotRows(c, c), without the
   * difference array.
   */
  residualNorms: kernel({
    args: [arg.f32('a'), arg.f32('c'), arg.int('lo'), arg.int('hi'), arg.int('B'), arg.f32('r2'), arg.f32('c2')],
    exports: {
      /** Columns [0, nb) of rows [lo, hi); B is the row stride (nb ≤ B). */
      residualNorms: {
        params: [ptr('a'), ptr('c'), lo('lo'), hi('hi'), int('B'), ptr('r2'), ptr('c2'), len('nb')],
        split: { by: 'elements', align: 8 },
      },
    },
    check(a, c, rLo, rHi, B, r2, c2) {
      const where = 'residualNorms';
      checkRange(where, rLo, rHi, B);
      checkLength(where, 'r2', r2, B, 'B');
      checkLength(where, 'c2', c2, B, 'B');
      checkDisjoint(where, 'r2', r2, 0, B, 'c2', c2, 0, B);
      if (rLo === rHi) return;
      checkLength(where, 'a', a, rHi * B, 'hi·B');
      checkLength(where, 'c', c, rHi * B, 'hi·B');
      for (const [name, out] of [
        ['r2', r2],
        ['c2', c2],
      ] as const) {
        checkDisjoint(where, 'a', a, rLo * B, rHi * B, name, out, 0, B);
        checkDisjoint(where, 'c', c, rLo * B, rHi * B, name, out, 0, B);
      }
    },
    call: (k, a, c, rLo, rHi, B, r2, c2) => k.residualNorms(a.byteOffset, c.byteOffset, rLo, rHi, B, r2.byteOffset, c2.byteOffset, B),
  }),

  /** out[k·B+b] += g[b]·a[k·B+b] for k in [lo, hi) (per-sample axpy; g has length B; a may be out itself). */
  axpyRows: kernel({
    args: [arg.f32('g'), arg.f32('a'), arg.int('lo'), arg.int('hi'), arg.int('B'), arg.f32('out')],
    exports: { axpyRows: { params: [ptr('g'), ptr('a'), lo('lo'), hi('hi'), int('B'), ptr('out')], split: ROWS_BY_B } },
    check(g, a, rLo, rHi, B, out) {
      const where = 'axpyRows';
      checkRange(where, rLo, rHi, B);
      checkLength(where, 'g', g, B, 'B');
      if (rLo === rHi) return;
      checkLength(where, 'a', a, rHi * B, 'hi·B');
      checkLength(where, 'out', out, rHi * B, 'hi·B');
      checkDisjoint(where, 'g', g, 0, B, 'out', out, rLo * B, rHi * B);
      if (!(a.buffer === out.buffer && a.byteOffset === out.byteOffset)) checkDisjoint(where, 'a', a, rLo * B, rHi * B, 'out', out, rLo * B, rHi * B);
    },
    call: (k, g, a, rLo, rHi, B, out) => k.axpyRows(g.byteOffset, a.byteOffset, rLo, rHi, B, out.byteOffset),
  }),

  /**
   * out[i] = tanh(x[i]) for i < x.length (out.length must equal x.length; out may be x).
   * Eigen's float rational approximation, evaluated in f32 without FMA: |error| ≤ 4.1e-7
   * (about 7 ulp of 1, worst near |x| = 5.83); |x| ≥ 7.9988 and ±Infinity → ±(1 − 1.8e-7),
   * NaN → NaN, ±0 → ±0. Odd: tanh(−x) = −tanh(x) exactly.
   */
  tanh: kernel({
    args: [arg.f32('x'), arg.f32('out')],
    exports: { tanh: { params: [ptr('x'), ptr('out'), len('n')], split: ELEMENTS } },
    check(x, out) {
      checkSameLength('tanh', 'x', x, 'out', out);
      checkAliasOrDisjoint('tanh', 'x', x, 'out', out);
    },
    call: (k, x, out) => k.tanh(x.byteOffset, out.byteOffset, x.length),
  }),

  /**
   * out[i] = 1 − fx[i]², tanh's derivative from its value (out.length must equal
   * fx.length; out may be fx): the square and the difference in f64, rounded once to f32,
   * as JavaScript's `1 - fx * fx` on f32 values.
   */
  tanhDerivative: kernel({
    args: [arg.f32('fx'), arg.f32('out')],
    exports: { tanhDerivative: { params: [ptr('fx'), ptr('out'), len('n')], split: ELEMENTS } },
    check(fx, out) {
      checkSameLength('tanhDerivative', 'fx', fx, 'out', out);
      checkAliasOrDisjoint('tanhDerivative', 'fx', fx, 'out', out);
    },
    call: (k, fx, out) => k.tanhDerivative(fx.byteOffset, out.byteOffset, fx.length),
  }),

  /**
   * out[i] = src[idx[i]] for i < idx.length (out.length must equal idx.length): a pure
   * copy in index order. Caveat: the indices are not checked one by one (O(n)); each must
   * be an element of src, else the wasm kernel reads other arena memory or traps.
   */
  gather: kernel({
    args: [arg.f32('src'), arg.i32('idx'), arg.f32('out')],
    exports: { gather: { params: [int('src'), ptr('idx'), len('n'), ptr('out')], split: ELEMENTS } },
    check(src, idx, out) {
      checkSameLength('gather', 'idx', idx, 'out', out);
      checkDisjoint('gather', 'src', src, 0, src.length, 'out', out, 0, out.length);
      checkDisjoint('gather', 'idx', idx, 0, idx.length, 'out', out, 0, out.length);
    },
    call: (k, src, idx, out) => k.gather(src.byteOffset, idx.byteOffset, idx.length, out.byteOffset),
  }),

  /**
   * sqrt(Σ(a_i − b_i)²) / (sqrt(Σ b_i²) + 1e-8) over i < a.length (b.length must equal
   * a.length), differences, squares and sums in f64 (four partial sums, element i into
   * sum i mod 4). NaN or ±Infinity in → non-finite out; empty arrays → 0.
   */
  relativeStep: kernel({
    args: [arg.f32('a'), arg.f32('b')],
    exports: { relativeStep: { params: [ptr('a'), ptr('b'), len('n')], split: { by: 'caller' }, returnsF64: true } },
    check: (a, b) => checkSameLength('relativeStep', 'a', a, 'b', b),
    call: (k, a, b) => k.relativeStep(a.byteOffset, b.byteOffset, a.length),
  }),

  /** out[i] = a[i] + d[i]·t[i] for i < out.length (all the same length; f32 product and sum; out may be a, d or t). */
  addMul: kernel({
    args: [arg.f32('a'), arg.f32('d'), arg.f32('t'), arg.f32('out')],
    exports: { addMul: { params: [ptr('a'), ptr('d'), ptr('t'), ptr('out'), len('n')], split: ELEMENTS } },
    check(a, d, t, out) {
      const where = 'addMul';
      checkSameLength(where, 'out', out, 'a', a);
      checkSameLength(where, 'out', out, 'd', d);
      checkSameLength(where, 'out', out, 't', t);
      checkAliasOrDisjoint(where, 'a', a, 'out', out);
      checkAliasOrDisjoint(where, 'd', d, 'out', out);
      checkAliasOrDisjoint(where, 't', t, 'out', out);
    },
    call: (k, a, d, t, out) => k.addMul(a.byteOffset, d.byteOffset, t.byteOffset, out.byteOffset, out.length),
  }),

  /**
   * The Anderson bookkeeping in one pass, for i < g.length (all the same length, f32):
   *   r_i = g_i − x_i; if dG: dG_i = g_i − prevG_i and dR_i = r_i − prevR_i; then prevG_i = g_i, prevR_i = r_i.
   * dG and dR are both null (first iteration: only r and the prev copies) or both arrays.
   * The written arrays (r, prevG, prevR, dG, dR) must not overlap each other, g or x.
   */
  andersonDiffs: kernel({
    args: [arg.f32('g'), arg.f32('x'), arg.f32('prevG'), arg.f32('prevR'), arg.f32('r'), arg.f32OrNull('dG'), arg.f32OrNull('dR')],
    exports: {
      /** diffs: 1 to write dG and dR, 0 to leave them (any offset) untouched. */
      andersonDiffs: {
        params: [ptr('g'), ptr('x'), ptr('prevG'), ptr('prevR'), ptr('r'), ptr('dG'), ptr('dR'), int('diffs'), len('n')],
        split: ELEMENTS,
      },
    },
    check(g, x, prevG, prevR, r, dG, dR) {
      const where = 'andersonDiffs';
      if ((dG === null) !== (dR === null)) {
        throw new ConfigError(
          `${where}: 'dG' and 'dR' must both be null (first iteration) or both be arrays; received ${dG === null ? 'null' : 'an array'} and ${dR === null ? 'null' : 'an array'}.`,
        );
      }
      checkWrites(where, { g, x }, dG !== null && dR !== null ? { prevG, prevR, r, dG, dR } : { prevG, prevR, r });
    },
    // Without the differences (diffs 0) the kernel leaves dG and dR alone: any offset does.
    call: (k, g, x, prevG, prevR, r, dG, dR) =>
      k.andersonDiffs(
        g.byteOffset,
        x.byteOffset,
        prevG.byteOffset,
        prevR.byteOffset,
        r.byteOffset,
        dG?.byteOffset ?? 0,
        dR?.byteOffset ?? 0,
        dG && dR ? 1 : 0,
        g.length,
      ),
  }),

  adamUpdate: ADAM_UPDATE,

  /**
   * out[j·p + k] = Σ_b h[j·B+b]·v[k·B+b] for j, k < p: the dense product H·Vᵀ of two
   * node-major [p, B] blocks (the graph gradient), each entry summed in f32 over b in
   * order from +0, each product rounded (fused with its sum in the 'fma' variant;
   * src/kernels/gemm.ts). `packed` is scratch of
   * at least `gemmPackedBytes(p, B) / 4` floats (the wasm kernel packs v there). out
   * must not overlap h, v or packed.
   *
   * With a `sink`, G goes there instead (every row exactly once, the same bits): rows the
   * caller's thread computes through `sink.rows`, rows a kernel thread computed into
   * `out` through `sink.take` (run on the caller while the other rows are still being
   * computed). Without threads, `sink.rows(0, p)` does all of it.
   */
  gemmNT: kernel({
    args: [arg.f32('h'), arg.f32('v'), arg.int('p'), arg.int('B'), arg.f32('out'), arg.f32('packed'), arg.optional<GemmSink>('sink')],
    exports: {
      /** v (node-major [p, B]) into panels of 16 nodes at vp (src/kernels/gemm.ts). */
      packV: { params: [ptr('v'), int('p'), int('B'), ptr('vp')], split: { by: 'caller' } },
      /** Rows [jLo, jHi) of G from h and the packed v, row j at out + 4·j·ldo. */
      gemmNT: {
        params: [ptr('h'), ptr('vp'), lo('jLo'), hi('jHi'), int('p'), int('B'), ptr('out'), int('ldo')],
        split: { by: 'rows', align: 2, work: ['p', 'B'] },
      },
    },
    check: (h, v, p, B, out, packed) => checkGemmArgs(h, v, p, B, out, packed),
    call(k, h, v, p, B, out, packed, sink) {
      k.packV(v.byteOffset, p, B, packed.byteOffset);
      if (sink === undefined) return k.gemmNT(h.byteOffset, packed.byteOffset, 0, p, p, B, out.byteOffset, p);
      sink.begin();
      k.deliver('gemmNT', sink, h.byteOffset, packed.byteOffset, 0, p, p, B, out.byteOffset, p);
    },
  }),

  /**
   * From the tensors' row-major `[B, p]` to the solve's node-major `[p, B]`:
   * out[q·B+b] = src[b·p + perm[q]] (times scale[q·B+b] when scale is given), p =
   * perm.length. A pure copy (one f32 product with scale); out must not overlap src or scale.
   */
  permuteIn: kernel({
    args: [arg.f32('src'), arg.i32('perm'), arg.int('B'), arg.f32('out'), arg.f32OrNull('scale')],
    exports: {
      /** Node-major rows [lo, hi); scale 0: none. */
      permuteIn: { params: [ptr('src'), ptr('perm'), lo('lo'), hi('hi'), int('p'), int('B'), ptr('out'), ptr('scale')], split: ROWS_BY_B },
    },
    check: (src, perm, B, out, scale) => checkPermuteArgs('permuteIn', src, perm, B, out, scale),
    call(k, src, perm, B, out, scale) {
      const p = perm.length;
      if (p > 0 && B > 0) k.permuteIn(src.byteOffset, perm.byteOffset, 0, p, p, B, out.byteOffset, scale?.byteOffset ?? 0);
    },
  }),

  /** The inverse of {@link SparseKernels.permuteIn} (without scale): out[b·p + perm[q]] = src[q·B+b]; out must not overlap src. */
  permuteOut: kernel({
    args: [arg.f32('src'), arg.i32('perm'), arg.int('B'), arg.f32('out')],
    exports: {
      /** Node-major rows [lo, hi). */
      permuteOut: { params: [ptr('src'), ptr('perm'), lo('lo'), hi('hi'), int('p'), int('B'), ptr('out')], split: ROWS_BY_B },
    },
    check: (src, perm, B, out) => checkPermuteArgs('permuteOut', src, perm, B, out, null),
    call(k, src, perm, B, out) {
      const p = perm.length;
      if (p > 0 && B > 0) k.permuteOut(src.byteOffset, perm.byteOffset, 0, p, p, B, out.byteOffset);
    },
  }),

  momentumUpdate: MOMENTUM_UPDATE,
};

type Catalog = typeof CATALOG;

/** The name of a kernel. */
export type KernelName = keyof Catalog;

/** The arguments of kernel `K`. */
export type KernelArgs<K extends KernelName> = ArgTypes<Catalog[K]['args']>;

/** What kernel `K` returns. */
export type KernelResult<K extends KernelName> = ReturnType<Catalog[K]['call']>;

/** The kernels as functions of their public arguments (the methods of {@link SparseKernels}). */
export type KernelMethods = { [K in KernelName]: (...args: KernelArgs<K>) => KernelResult<K> };

type AllExports = { [K in KernelName]: Catalog[K]['exports'] }[KernelName];
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
type ExportSpecs = UnionToIntersection<AllExports>;

/** The exports of both kernel modules (sparse.wat with sparse_elementwise.wat, gemm.wat with gemm_pointwise.wat); every pointer is a byte offset into `env.memory`. */
export type SparseExports = { [E in keyof ExportSpecs]: ExportSpecs[E] extends infer S extends ExportSpec ? ExportFn<S> : never };

/** The name of a wasm export. */
export type ExportName = keyof SparseExports & string;

/** Every export as the entries' calls get them: direct, or split across the kernel threads (see {@link Exports}). */
export type ExportsDispatch = SparseExports & Pick<Exports<Record<ExportName, ExportSpec>>, 'deliver'>;

/**
 * Every wasm export of the catalog with its spec, in catalog order: the order is the
 * kernel threads' command table (src/kernels/threads/protocol.ts).
 */
export const EXPORT_SPECS: ReadonlyArray<readonly [ExportName, ExportSpec]> = Object.values(CATALOG).flatMap(
  (entry) => Object.entries(entry.exports) as Array<[ExportName, ExportSpec]>,
);
