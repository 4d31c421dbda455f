import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { arenaBytes, createWasmKernels, sparseWasmBytes, type SparseKernels } from '../src/kernels/index.js';
import { gemmWasmBytes } from '../src/kernels/gemm.js';
import { KernelTeam } from '../src/kernels/threads/team.js';
import { claimable, claimWord, generation, MAX_CHUNKS } from '../src/kernels/threads/protocol.js';
import { splitExports } from '../src/kernels/threads/split.js';
import type { SparseExports } from '../src/kernels/catalog.js';
import { Random } from '../src/utils/random.js';
import { KERNEL_VARIANTS, itForVariant } from './helpers/variants.js';

const rngFrom = (seed: number) => {
  const r = new Random(seed);
  return () => r.next();
};

/** Random CSR of `rows` rows over `cols` columns with `perRow` ± jitter nonzeros per row (some rows empty). */
function randomCsr(rows: number, cols: number, perRow: number, rand: () => number) {
  const ptr = [0];
  const idx: number[] = [];
  const w: number[] = [];
  for (let k = 0; k < rows; k++) {
    const n = k % 7 === 3 ? 0 : Math.floor(perRow * (0.5 + rand()));
    for (let e = 0; e < n; e++) {
      idx.push(Math.floor(rand() * cols));
      w.push(rand() * 2 - 1);
    }
    ptr.push(idx.length);
  }
  return { ptr: Int32Array.from(ptr), idx: Int32Array.from(idx), w: Float32Array.from(w) };
}

/** Runs every kernel on the same inputs with kernels `k`; returns every output array. */
function runAll(k: SparseKernels, rows: number, B: number, seed: number): Float32Array[] {
  const rand = rngFrom(seed);
  const csr = randomCsr(rows, rows, 24, rand);
  const n = rows * B;
  k.arena.reset(arenaBytes([csr.ptr.length, csr.idx.length, csr.w.length, ...new Array<number>(14).fill(n), B, B]));
  const ptr = k.arena.i32(csr.ptr.length);
  ptr.set(csr.ptr);
  const idx = k.arena.i32(csr.idx.length);
  idx.set(csr.idx);
  const w = k.arena.f32(csr.w.length);
  w.set(csr.w);
  const fill = () => {
    const a = k.arena.f32(n);
    for (let i = 0; i < n; i++) a[i] = rand() * 4 - 2;
    return a;
  };
  const [x, out, g, prevG, prevR, r, dG, dR, m, v, wt, t, acc, ws] = Array.from({ length: 14 }, fill);
  const dots = k.arena.f32(B);
  const coef = k.arena.f32(B);
  for (let b = 0; b < B; b++) coef[b] = rand();
  k.spmm(ptr, idx, w, 0, rows, x, out, B);
  k.spmm(ptr, idx, w, 3, rows - 2, out, x, B);
  k.dotRows(out, x, 1, rows, B, dots);
  k.axpyRows(coef, out, 2, rows, B, x);
  k.tanh(x, t);
  k.addMul(t, out, x, t);
  k.andersonDiffs(g, x, prevG, prevR, r, dG, dR);
  k.andersonDiffs(g, t, prevG, prevR, r, null, null);
  for (let i = 0; i < n; i++) m[i] = Math.abs(m[i]) * 1e-3;
  for (let i = 0; i < n; i++) v[i] = Math.abs(v[i]) * 1e-3;
  k.adamUpdate(wt, g, m, v, {
    beta1: 0.9,
    oneMinusBeta1: 0.1,
    beta2: 0.999,
    oneMinusBeta2: 0.001,
    biasCorrection1: 0.19,
    biasCorrection2: 0.002,
    epsilon: 1e-7,
    negLearningRate: -1e-3,
  });
  k.momentumUpdate(ws, g, acc, { momentum: 0.9, negLearningRate: -1e-2, nesterov: false });
  k.momentumUpdate(ws, t, acc, { momentum: 0.9, negLearningRate: -1e-2, nesterov: true });
  return [x, out, t, r, dG, dR, prevG, prevR, m, v, wt, dots, acc, ws].map((a) => a.slice());
}

describe('kernel threads', () => {
  let team: KernelTeam;
  beforeAll(async () => {
    team = await KernelTeam.start(2);
  });
  afterAll(() => team.stop());

  for (const variant of KERNEL_VARIANTS)
    itForVariant(variant, 'a team of 2 splits every large kernel call and gives the same bits as one thread', () => {
      const one = createWasmKernels({ team: null, variant });
      const two = createWasmKernels({ team, variant });
      expect([one.variant, two.variant]).toEqual([variant, variant]);
      expect(one.threads).toBe(1);
      expect(two.threads).toBe(2);
      // Sizes with odd tails: B not a multiple of 4 or 8, rows·B above and below the split threshold.
      for (const [rows, B, seed] of [
        [1500, 131, 1],
        [700, 64, 2],
        [41, 3, 3],
        [2000, 1, 4],
      ] as const) {
        const a = runAll(one, rows, B, seed);
        const b = runAll(two, rows, B, seed);
        a.forEach((arr, i) => expect(Buffer.from(b[i].buffer).equals(Buffer.from(arr.buffer)), `output ${i} at rows ${rows}, B ${B}`).toBe(true));
      }
    });

  it('a chunk that traps in a worker is re-run on the caller, which throws; the team keeps working', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const module = new WebAssembly.Module(sparseWasmBytes('shared'));
    const gemm = new WebAssembly.Module(gemmWasmBytes('shared'));
    // tanh lives in the gemm module (room in sparse.wat).
    const local = new WebAssembly.Instance(gemm, { env: { memory } }).exports as unknown as { tanh(x: number, o: number, n: number): void };
    const id = team.attach(memory, [module, gemm]);
    const run = (a: number[]) => local.tanh(a[0], a[1], a[2]);
    // Chunk 1 reads past the end of the 64 KiB memory.
    const chunks = [
      [0, 1024, 64],
      [65536 - 64, 2048, 64],
    ];
    expect(() => team.run(id, 'tanh', chunks, run)).toThrow(/memory access out of bounds/);
    const before = team.chunksTotal;
    team.run(
      id,
      'tanh',
      [
        [0, 1024, 64],
        [256, 2048, 64],
      ],
      run,
    );
    expect(team.chunksTotal).toBe(before + 2);
  });

  it("run's collect sees every chunk a worker finished exactly once, never the caller's or a trapped one", () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 4, shared: true });
    const module = new WebAssembly.Module(sparseWasmBytes('shared'));
    const gemm = new WebAssembly.Module(gemmWasmBytes('shared'));
    const local = new WebAssembly.Instance(gemm, { env: { memory } }).exports as unknown as { tanh(x: number, o: number, n: number): void };
    const id = team.attach(memory, [module, gemm]);
    const n = 24;
    const chunks = Array.from({ length: n }, (_, c) => [0, 65536 + c * 2048, 512]);
    /** The caller's chunks take ≥ 0.2 ms, so a worker (waking in ~0.3 ms, even on a busy machine) gets a share. */
    const slow = (run: () => void) => {
      const t0 = performance.now();
      run();
      while (performance.now() - t0 < 0.2);
    };
    let byWorker = 0;
    for (let round = 0; round < 6 || (byWorker === 0 && round < 300); round++) {
      const ranHere: number[] = [];
      const collected: number[] = [];
      const [total0, caller0] = [team.chunksTotal, team.chunksByCaller];
      team.run(
        id,
        'tanh',
        chunks,
        (a) =>
          slow(() => {
            ranHere.push((a[1] - 65536) / 2048);
            local.tanh(a[0], a[1], a[2]);
          }),
        (c) => collected.push(c),
      );
      const workers = team.chunksTotal - total0 - (team.chunksByCaller - caller0);
      byWorker += workers;
      expect(collected.length).toBe(workers);
      expect(new Set([...ranHere, ...collected]).size).toBe(n);
      expect(ranHere.length + collected.length).toBe(n);
    }
    expect(byWorker).toBeGreaterThan(0);
    // Chunk BAD traps in a worker (it reads past the end of the memory); on the caller it
    // is a no-op. When a worker took it, the caller re-runs it after the claims (one call
    // more than it claimed) and must not have collected it.
    const BAD = 12;
    const bad = chunks.map((c, i) => (i === BAD ? [4 * 65536 - 64, 2048, 64] : c));
    let trappedInWorker = 0;
    for (let round = 0; round < 300 && trappedInWorker < 3; round++) {
      const collected: number[] = [];
      let calls = 0;
      const caller0 = team.chunksByCaller;
      team.run(
        id,
        'tanh',
        bad,
        (a) =>
          slow(() => {
            calls++;
            if (a[0] !== bad[BAD][0]) local.tanh(a[0], a[1], a[2]);
          }),
        (c) => collected.push(c),
      );
      if (calls > team.chunksByCaller - caller0) {
        trappedInWorker++;
        expect(collected).not.toContain(BAD);
      }
    }
    expect(trappedInWorker, 'rounds in which a worker trapped on the bad chunk').toBeGreaterThan(0);
  });

  for (const variant of KERNEL_VARIANTS)
    itForVariant(variant, 'the worker really takes chunks (counted by the team), and the results stay the same bits', () => {
      const two = createWasmKernels({ team, variant });
      const alone = createWasmKernels({ team: null, variant });
      const [total0, caller0] = [team.chunksTotal, team.chunksByCaller];
      // Which thread claims a chunk is up to the scheduler (the tests run two processes on two
      // cores): keep going, within a bound, until the worker has taken at least one.
      const byWorker = () => team.chunksTotal - total0 - (team.chunksByCaller - caller0);
      for (let seed = 5; seed < 9 || (byWorker() === 0 && seed < 200); seed++) {
        const got = runAll(two, 900, 96, seed);
        const ref = runAll(alone, 900, 96, seed);
        ref.forEach((arr, i) => expect(Buffer.from(got[i].buffer).equals(Buffer.from(arr.buffer))).toBe(true));
      }
      expect(team.chunksTotal - total0).toBeGreaterThan(0);
      expect(byWorker()).toBeGreaterThan(0);
    });
});

describe('claim word', () => {
  it('a thread that saw an earlier command never claims a chunk of it once all are taken, whatever the next command sets up', () => {
    // The worker read SEQ = s; the caller then ran every chunk of s itself and is writing
    // command s + 1 (its chunk count goes to NCHUNKS before its claim word is published).
    // The count must come from the claim word of s, so nothing is left to claim.
    const s = 41;
    const all = claimWord(s, 2) + 2;
    expect(claimable(all, generation(s))).toBe(-1);
    expect(claimable(claimWord(s, 2), generation(s))).toBe(0);
    expect(claimable(claimWord(s, 2) + 1, generation(s))).toBe(1);
    expect(claimable(claimWord(s + 1, 5), generation(s))).toBe(-1);
    expect(claimable(claimWord(s, 0), generation(s))).toBe(-1);
    expect(claimable(claimWord(0x7ffff, MAX_CHUNKS) + MAX_CHUNKS - 1, generation(0x7ffff))).toBe(MAX_CHUNKS - 1);
    expect(claimWord(0x7ffff, MAX_CHUNKS) + MAX_CHUNKS).toBeLessThan(2 ** 31);
  });
});

/**
 * The kernels over `memory`, split for a team of `size` as the split sees it: the team records
 * how many chunks each call is cut into (`counts`) and runs them on this thread.
 */
function countingSplit(size: number, memory: WebAssembly.Memory) {
  const counts: number[] = [];
  const team = {
    size,
    run(_id: number, _fn: string, chunks: number[][], local: (a: number[]) => void, _collect?: unknown, count = chunks.length) {
      counts.push(count);
      for (let c = 0; c < count; c++) local(chunks[c]);
    },
  } as unknown as KernelTeam;
  const exports: Record<string, unknown> = {};
  for (const bytes of [sparseWasmBytes(), gemmWasmBytes()])
    Object.assign(exports, new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports);
  const local = exports as unknown as SparseExports;
  return { split: splitExports(local, team, 0, memory), local, counts };
}

describe('thread split', () => {
  it('cuts no call into more than the protocol carries (32 chunks), however many threads; the parts give the same bits', () => {
    const rows = 4096,
      B = 256,
      n = rows * B;
    const memory = new WebAssembly.Memory({ initial: Math.ceil((4 * 4 * n) / 65536) + 1 });
    const { split, local, counts } = countingSplit(16, memory);
    const f = new Float32Array(memory.buffer);
    const rand = rngFrom(17);
    for (let i = 0; i < 2 * n; i++) f[i] = rand() * 4 - 2;
    const [x, g, out, ref] = [0, 4 * n, 8 * n, 12 * n];
    split.tanh(x, out, n);
    local.tanh(x, ref, n);
    split.axpyRows(g, x, 0, rows, B, out);
    local.axpyRows(g, x, 0, rows, B, ref);
    expect(counts).toEqual([MAX_CHUNKS, MAX_CHUNKS]);
    expect(Buffer.from(f.buffer, out, 4 * n).equals(Buffer.from(f.buffer, ref, 4 * n))).toBe(true);
  });
});

describe('thread split of the sparse product', () => {
  it('keeps a product whose output is under two column blocks whole, and splits a larger one; same bits', () => {
    const memory = new WebAssembly.Memory({ initial: 400 });
    const { split, local, counts } = countingSplit(2, memory);
    const rand = rngFrom(5);
    // p nodes, 15 edges each, B columns: 300 × 64 = 19 200 output elements (whole), 600 × 64 = 38 400 (split).
    for (const [p, B, whole] of [
      [300, 64, true],
      [600, 64, false],
    ] as const) {
      const nnz = 15 * p;
      const ints = new Int32Array(memory.buffer);
      const f = new Float32Array(memory.buffer);
      const [ptr, idx, w, x, out, ref] = [
        0,
        4 * (p + 1),
        4 * (p + 1 + nnz),
        4 * (p + 1 + 2 * nnz),
        4 * (p + 1 + 2 * nnz + p * B),
        4 * (p + 1 + 2 * nnz + 2 * p * B),
      ];
      for (let k = 0; k <= p; k++) ints[ptr / 4 + k] = 15 * k;
      for (let e = 0; e < nnz; e++) {
        ints[idx / 4 + e] = Math.floor(rand() * p);
        f[w / 4 + e] = rand() - 0.5;
      }
      for (let i = 0; i < p * B; i++) f[x / 4 + i] = rand() - 0.5;
      counts.length = 0;
      split.spmm(ptr, idx, w, 0, p, x, -1, out, B);
      local.spmm(ptr, idx, w, 0, p, x, -1, ref, B);
      if (whole) expect(counts, `p ${p}`).toEqual([]);
      else expect(counts[0], `p ${p}`).toBeGreaterThan(1);
      expect(Buffer.from(f.buffer, out, 4 * p * B).equals(Buffer.from(f.buffer, ref, 4 * p * B)), `p ${p}`).toBe(true);
    }
  });
});

describe('nm.backend.setThreads', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await nm.backend.setThreads(1);
  });

  it('rejects a bad count naming the argument', async () => {
    await expect(nm.backend.setThreads(0)).rejects.toThrow(/'count' must be 'auto' or an integer in \[1, 64\]; received 0/);
    await expect(nm.backend.setThreads(2.5)).rejects.toThrow(/received 2.5/);
    await expect(nm.backend.setThreads('all' as never)).rejects.toThrow(/received "all"/);
  });

  it.each([
    ['auto', 96],
    ['anderson', 90],
  ] as const)('a layer trained with 2 threads gives the same loss and weights, bit for bit, as with 1 (solver %s, batch %i)', async (method, batchSize) => {
    // 400 nodes: batch 96 and 90 are solved in two column blocks on 2 threads (48 + 48, 44 + 46); 90's last batch of 12 in one.
    const train = async (threads: number) => {
      expect(await nm.backend.setThreads(threads)).toBe(threads);
      expect(nm.backend.threads()).toBe(threads);
      const model = tf.sequential();
      model.add(
        nm.layers.neuralModule({
          inputShape: [6],
          units: 400,
          density: 0.05,
          graphInitializer: new nm.layers.ContractiveGraph({ density: 0.05, seed: 3 }),
          inputInitializer: tf.initializers.glorotUniform({ seed: 4 }),
          solver: { method },
        }),
      );
      model.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }));
      model.compile({ optimizer: nm.optimizers.adam({ learningRate: 0.01 }), loss: 'meanSquaredError' });
      const x = tf.randomNormal([192, 6], 0, 1, 'float32', 6);
      const y = tf.randomNormal([192, 3], 0, 1, 'float32', 7);
      const h = await model.fit(x, y, { epochs: 2, batchSize, shuffle: false, verbose: 0 });
      const weights = model.getWeights().map((t) => t.dataSync().slice());
      tf.dispose([x, y]);
      model.dispose();
      return { loss: h.history.loss as number[], weights };
    };
    const one = await train(1);
    const two = await train(2);
    expect(two.loss).toEqual(one.loss);
    one.weights.forEach((w, i) => expect(Buffer.from(two.weights[i].buffer).equals(Buffer.from(w.buffer)), `weight ${i}`).toBe(true));
  });
});
