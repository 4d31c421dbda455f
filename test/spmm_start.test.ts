/**
 * spmm's `start` (src/kernels/catalog.ts): out = start + A·x summed from start's values,
 * and out = A·x from zero (start null), give the bytes of copying start into out (or
 * zero-filling it) and then adding A·x, which is what the host engine did before: for the
 * JS twin, the mul+add kernels, the FMA kernels, and split across two kernel threads.
 * Empty rows get start's row or zeros; bad starts are errors naming 'start'.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arenaBytes, createJsKernels, createWasmKernels, type SparseKernels } from '../src/kernels/index.js';
import { KernelTeam } from '../src/kernels/threads/team.js';
import type { KernelVariant } from '../src/kernels/kernel_variant.js';
import { itForVariant, KERNEL_VARIANTS } from './helpers/variants.js';

/** Seeded LCG in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A random CSR matrix [p, q], 0..maxDeg nonzeros per row, about a quarter of the rows empty. */
function randomCsr(r: () => number, p: number, q: number, maxDeg: number) {
  const ptr = new Int32Array(p + 1);
  const idx: number[] = [];
  const w: number[] = [];
  for (let k = 0; k < p; k++) {
    const deg = r() < 0.25 ? 0 : 1 + Math.floor(r() * maxDeg);
    for (let e = 0; e < deg; e++) {
      idx.push(Math.floor(r() * q));
      w.push(r() * 2 - 1);
    }
    ptr[k + 1] = idx.length;
  }
  return { ptr, idx: Int32Array.from(idx), w: Float32Array.from(w) };
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * For every B and row range: spmm from an array start and from zero, and the same sums
 * done the old way (copy or zero-fill, then accumulate), on kernels `k`; returns the
 * outputs of the new ways and of the old ways.
 */
function compareWays(k: SparseKernels, seed: number, p = 53, q = 41): Array<{ what: string; got: Float32Array; want: Float32Array }> {
  const out: Array<{ what: string; got: Float32Array; want: Float32Array }> = [];
  for (const B of [1, 3, 4, 5, 16, 17, 37, 64]) {
    const r = rng(seed * 100 + B);
    const csr = randomCsr(r, p, q, 9);
    const x0 = Float32Array.from({ length: q * B }, () => r() * 2 - 1);
    // Negative zeros among the starts: a copy keeps them, and so must the start.
    const s0 = Float32Array.from({ length: p * B }, (_, i) => (i % 7 === 0 ? -0 : r() * 2 - 1));
    const junk = Float32Array.from({ length: p * B }, () => r() * 100);
    k.arena.reset(arenaBytes([p + 1, csr.idx.length, csr.w.length, q * B, p * B, p * B, p * B]));
    const ptr = k.arena.i32(p + 1),
      idx = k.arena.i32(csr.idx.length),
      w = k.arena.f32(csr.w.length),
      x = k.arena.f32(q * B),
      start = k.arena.f32(p * B),
      got = k.arena.f32(p * B),
      want = k.arena.f32(p * B);
    ptr.set(csr.ptr);
    idx.set(csr.idx);
    w.set(csr.w);
    x.set(x0);
    start.set(s0);
    for (const [lo, hi] of [
      [0, p],
      [5, p - 22],
    ]) {
      // From start: out holds junk before (it must not be read); rows outside [lo, hi) keep it.
      got.set(junk);
      want.set(junk);
      k.spmm(ptr, idx, w, lo, hi, x, got, B, start);
      want.set(start.subarray(lo * B, hi * B), lo * B);
      k.spmm(ptr, idx, w, lo, hi, x, want, B);
      out.push({ what: `start, B ${B}, rows [${lo}, ${hi})`, got: got.slice(), want: want.slice() });
      // From zero.
      got.set(junk);
      want.set(junk);
      k.spmm(ptr, idx, w, lo, hi, x, got, B, null);
      want.fill(0, lo * B, hi * B);
      k.spmm(ptr, idx, w, lo, hi, x, want, B);
      out.push({ what: `zero, B ${B}, rows [${lo}, ${hi})`, got: got.slice(), want: want.slice() });
      // start = out itself: the sums add to out, as without start.
      got.set(s0);
      want.set(s0);
      k.spmm(ptr, idx, w, lo, hi, x, got, B, got);
      k.spmm(ptr, idx, w, lo, hi, x, want, B);
      out.push({ what: `start = out, B ${B}, rows [${lo}, ${hi})`, got: got.slice(), want: want.slice() });
    }
  }
  return out;
}

describe('spmm from a start array or from zero', () => {
  it('JS twin: the bytes of copy (or zero-fill) then accumulate; empty rows get start or zeros', () => {
    for (const c of compareWays(createJsKernels(), 1)) expect(bytes(c.got).equals(bytes(c.want)), c.what).toBe(true);
  });

  for (const variant of KERNEL_VARIANTS) {
    itForVariant(variant, 'wasm: the bytes of copy (or zero-fill) then accumulate', () => {
      for (const c of compareWays(createWasmKernels({ variant }), 2)) expect(bytes(c.got).equals(bytes(c.want)), c.what).toBe(true);
    });
  }

  it('mul+add wasm and the JS twin give the same bytes', () => {
    const wasm = compareWays(createWasmKernels({ variant: 'muladd' }), 3);
    const js = compareWays(createJsKernels(), 3);
    wasm.forEach((c, i) => expect(bytes(c.got).equals(bytes(js[i].got)), c.what).toBe(true));
  });

  describe('split across two kernel threads', () => {
    let team: KernelTeam;
    beforeAll(async () => {
      team = await KernelTeam.start(2);
    });
    afterAll(() => team.stop());

    const twoThreads = (variant: KernelVariant) => {
      // 600 rows: the larger calls are cut into parts.
      const one = compareWays(createWasmKernels({ variant, team: null }), 4, 600, 500);
      const k = createWasmKernels({ variant, team });
      const total = team.chunksTotal;
      const two = compareWays(k, 4, 600, 500);
      expect(team.chunksTotal, 'calls were split').toBeGreaterThan(total);
      k.release();
      two.forEach((c, i) => expect(bytes(c.got).equals(bytes(one[i].got)), c.what).toBe(true));
    };
    for (const variant of KERNEL_VARIANTS) itForVariant(variant, 'the bytes of one thread', () => twoThreads(variant));
  });

  it("rejects a start that is too short or partly overlaps out, naming 'start'", () => {
    const k = createWasmKernels({ variant: 'muladd' });
    k.arena.reset(arenaBytes([3, 2, 2, 8, 16]));
    const ptr = k.arena.i32(3),
      idx = k.arena.i32(2),
      w = k.arena.f32(2),
      x = k.arena.f32(8),
      big = k.arena.f32(16);
    ptr.set([0, 1, 2]);
    const out = big.subarray(0, 8);
    expect(() => k.spmm(ptr, idx, w, 0, 2, x, out, 4, big.subarray(8, 12))).toThrow(/spmm: 'start' has length 4 but needs at least 8/);
    expect(() => k.spmm(ptr, idx, w, 0, 2, x, out, 4, big.subarray(4, 12))).toThrow(/spmm: 'start' overlaps the part of 'out' this call writes/);
    expect(() => k.spmm(ptr, idx, w, 0, 2, x, out, 4, new Float32Array(8))).toThrow(/spmm: 'start' is not a view of the kernels' wasm memory/);
  });
});
