/**
 * The blocked kernel view: every method, on arrays stored in three column blocks of
 * unequal widths, gives the same bits as the kernel on the plain node-major layout (the
 * reference: each kernel's element rule does not depend on the layout), with both
 * kernel sets; rows of a blocked array are the rows of every block; `index` is where an
 * element is.
 */
import { describe, expect, it } from 'vitest';
import { blocked, columnLayout, type BlockedKernels } from '../src/kernels/blocked.js';
import { arenaBytes, sparseKernels, wasmSimdSupported, type SparseKernels } from '../src/kernels/index.js';
import { Random } from '../src/utils/random.js';

const B = 37;
const LAYOUT = [0, 12, 24, 37];
const p = 20;
const [s, e] = [6, 15];
const n = e - s;

/** The plain node-major copy of blocked `a` ([rows, B]). */
function toPlain(v: BlockedKernels, a: Float32Array): Float32Array {
  const rows = a.length / B;
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let b = 0; b < B; b++) out[r * B + b] = a[v.index(rows, r, b)];
  return out;
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

describe.each(wasmSimdSupported() ? (['js', 'wasm'] as const) : (['js'] as const))('blocked kernel view (%s)', (kind) => {
  const k: SparseKernels = sparseKernels(kind);
  const v = blocked(k, B, p, LAYOUT);
  const rand = new Random(11);
  /** A random [rows, B] array in the arena, and its plain twin (also in the arena). */
  const pair = (rows: number) => {
    const blockedArray = k.arena.f32(rows * B);
    const plain = k.arena.f32(rows * B);
    for (let r = 0; r < rows; r++) {
      for (let b = 0; b < B; b++) plain[r * B + b] = blockedArray[v.index(rows, r, b)] = rand.next() * 2 - 1;
    }
    return [blockedArray, plain] as const;
  };
  const reset = () => k.arena.reset(arenaBytes([...new Array<number>(24).fill(p * B), p + 1, p * 3, p * 3, B, B, B, B, p]));
  /** A CSR of p rows over p columns, 0–3 nonzeros a row. */
  const csr = () => {
    const ptr = k.arena.i32(p + 1);
    const idx = k.arena.i32(p * 3);
    const w = k.arena.f32(p * 3);
    for (let r = 0; r < p; r++) {
      const deg = r % 4;
      for (let d = 0; d < deg; d++) [idx[ptr[r] + d], w[ptr[r] + d]] = [Math.floor(rand.next() * p), rand.next() * 2 - 1];
      ptr[r + 1] = ptr[r] + deg;
    }
    return { ptr, idx, w };
  };

  it('index places every element exactly once, block by block', () => {
    const seen = new Set<number>();
    for (let r = 0; r < n; r++) for (let b = 0; b < B; b++) seen.add(v.index(n, r, b));
    expect(seen.size).toBe(n * B);
    expect([v.index(n, 0, 0), v.index(n, 1, 0), v.index(n, 0, 12), v.index(n, 2, 25)]).toEqual([0, 12, n * 12, n * 24 + 2 * 13 + 1]);
    expect(columnLayout(130, 2, 3000)).toEqual([0, 64, 130]);
    expect(columnLayout(130, 1, 3000)).toEqual([0, 130]);
  });

  it('spmm into rows of a whole array and into a step array, axpyRows, addMul on rows, andersonDiffs, apply, copy: the bits of the plain layout', () => {
    reset();
    const { ptr, idx, w } = csr();
    const [F, Fp] = pair(p);
    const [X, Xp] = pair(p);
    v.spmm(ptr.subarray(s), idx, w, F, v.rows(X, s, e));
    k.spmm(ptr, idx, w, s, e, Fp, Xp, B);
    expect(bits(toPlain(v, X))).toEqual(bits(Xp));

    const [t, tp] = pair(n);
    v.spmm(ptr.subarray(s), idx, w, F, t);
    k.spmm(ptr.subarray(s), idx, w, 0, n, Fp, tp, B);
    expect(bits(toPlain(v, t))).toEqual(bits(tp));

    const [g, a] = [k.arena.f32(B), pair(n)];
    for (let b = 0; b < B; b++) g[b] = rand.next();
    v.axpyRows(g, a[0], t);
    k.axpyRows(g, a[1], 0, n, B, tp);
    expect(bits(toPlain(v, t))).toEqual(bits(tp));

    const [D, Dp] = pair(p);
    const xs = v.rows(X, s, e);
    v.addMul(xs, v.rows(D, s, e), t, xs);
    const xps = Xp.subarray(s * B, e * B);
    k.addMul(xps, Dp.subarray(s * B, e * B), tp, xps);
    expect(bits(toPlain(v, X))).toEqual(bits(Xp));

    const tanh = { hostApply: (x: Float32Array, o: Float32Array, kk: SparseKernels) => kk.tanh(x, o) };
    v.apply(tanh, t, v.rows(F, s, e));
    k.tanh(tp, Fp.subarray(s * B, e * B));
    expect(bits(toPlain(v, F))).toEqual(bits(Fp));

    const arrays = Array.from({ length: 7 }, () => pair(n));
    const [bl, pl] = [arrays.map((x) => x[0]), arrays.map((x) => x[1])];
    v.andersonDiffs(bl[0], bl[1], bl[2], bl[3], bl[4], bl[5], bl[6]);
    k.andersonDiffs(pl[0], pl[1], pl[2], pl[3], pl[4], pl[5], pl[6]);
    v.andersonDiffs(bl[1], bl[0], bl[2], bl[3], bl[4], null, null);
    k.andersonDiffs(pl[1], pl[0], pl[2], pl[3], pl[4], null, null);
    for (let i = 2; i < 7; i++) expect(bits(toPlain(v, bl[i])), `array ${i}`).toEqual(bits(pl[i]));

    v.copy(v.rows(X, s, e), t);
    expect(bits(toPlain(v, t))).toEqual(bits(xps));
    v.copy(bl[0], v.rows(F, s, e));
    expect(bits(toPlain(v, F).subarray(s * B, e * B))).toEqual(bits(pl[0]));
  });

  it('permuteIn (with and without scale) and permuteOut, and the queued dot products: the bits of the plain layout', () => {
    reset();
    const perm = k.arena.i32(p);
    perm.set(Array.from({ length: p }, (_, i) => (i * 7) % p));
    const src = k.arena.f32(p * B);
    for (let i = 0; i < p * B; i++) src[i] = rand.next() * 2 - 1;
    const [scale, scalePlain] = pair(p);
    const [out, outPlain] = pair(p);
    for (const sc of [null, [scale, scalePlain]] as const) {
      v.permuteIn(src, perm, out, sc && sc[0]);
      k.permuteIn(src, perm, B, outPlain, sc && sc[1]);
      expect(bits(toPlain(v, out))).toEqual(bits(outPlain));
    }
    const back = [k.arena.f32(p * B), k.arena.f32(p * B)];
    v.permuteOut(out, perm, back[0]);
    k.permuteOut(outPlain, perm, B, back[1]);
    expect(bits(back[0])).toEqual(bits(back[1]));

    const [a, ap] = pair(n);
    const [c, cp] = pair(n);
    const dots = [k.arena.f32(B), k.arena.f32(B)];
    const ref = [k.arena.f32(B), k.arena.f32(B)];
    v.queueDotRows(a, c, dots[0]);
    v.queueDotRows(a, a, dots[1]);
    v.runDotRows();
    k.dotRows(ap, cp, 0, n, B, ref[0]);
    k.dotRows(ap, ap, 0, n, B, ref[1]);
    expect([bits(dots[0]), bits(dots[1])]).toEqual([bits(ref[0]), bits(ref[1])]);
  });
});
