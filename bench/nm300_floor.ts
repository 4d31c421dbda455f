/**
 * The floor under goal R2.2 (an NM(300, ρ 0.05) training step ≤ 1.2× a Dense(300) step,
 * both with the tuned switches): the work a Neural Module layer of 300 nodes must do
 * beyond a dense layer of 300 units, each part timed alone at kernel speed, against the
 * goal's budget, 0.2 × the Dense(300) step measured in the same process.
 *
 *   npx tsx bench/nm300_floor.ts [--rounds 5] [--threads 2]
 *
 * The parts, with nothing but the kernels' own work (no JS bookkeeping, no tfjs op):
 * - the two implicit solves: the iterations the layer itself took in the timed steps
 *   (its solver stats), each at the cost of one sparse product over the kept edges, one
 *   tanh pass and the residual norms (`residualNorms`), the least a fixed-point iteration does;
 * - the dense graph gradient hᵀv, p² = 90 000 entries (docs/DESIGN.md §1: every edge gets
 *   a gradient, kept or not), by the kernels' GEMM;
 * - the fused Adam update of those 90 000 graph weights (the kernels' adamUpdate).
 * The model is bench/round2.ts' R2.2 pair: hidden → Dense(10, softmax), batch 64, 64 features.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from 'tfjs-neural-modules';
import { arenaBytes, sparseKernels } from 'tfjs-neural-modules/internal';
import { softmaxStep } from './classifier_step.js';
import { runtimeLabel } from './runtime.js';
import { median, timeItWarm } from './timing.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const rounds = Number(arg('rounds', '5'));
const threads = Number(arg('threads', '2'));
await tf.setBackend('wasm');
await tf.ready();
await nm.backend.setThreads(threads);
nm.backend.fastTransposedMatMul();

const [P, DENSITY, BATCH, FEATURES, CLASSES] = [300, 0.05, 64, 64, 10];

/** Median step (ms) of hidden → Dense(10, softmax) with nm.optimizers.adam; for NM also the mean solver iterations per step and the kept edges. */
function step(nmLayer: boolean): { ms: number; iterations: number; edges: number } {
  const hidden = nmLayer
    ? nm.layers.neuralModule({
        inputShape: [FEATURES],
        units: P,
        density: DENSITY,
        graphInitializer: new nm.layers.ContractiveGraph({ density: DENSITY, seed: 7 }),
      })
    : tf.layers.dense({ inputShape: [FEATURES], units: P, activation: 'tanh' });
  const m = tf.sequential();
  m.add(hidden);
  m.add(tf.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  const opt = nm.optimizers.adam({ learningRate: 1e-3 });
  const x = tf.randomNormal([BATCH, FEATURES], 0, 1, 'float32', 1);
  const labels = tf.randomUniform([BATCH], 0, CLASSES, 'int32', 2);
  const y = tf.oneHot(labels as tf.Tensor1D, CLASSES);
  const ms = timeItWarm(softmaxStep(m, opt, x, y), 40, 20);
  let iterations = 0,
    edges = 0;
  if (nmLayer) {
    const layer = hidden as nm.layers.NeuralModuleLayer;
    const s = layer.solverStats();
    iterations = s.forward.iterations + s.backward.iterations;
    edges = layer.structure().edges;
  }
  tf.dispose([x, y, labels]);
  m.dispose();
  opt.dispose();
  return { ms, iterations, edges };
}

/** Median µs per call of `fn` over 15 batches of `n` calls, after 3 batches of warm-up. */
function micro(fn: () => void, n: number): number {
  const t: number[] = [];
  for (let r = 0; r < 18; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    if (r >= 3) t.push(((performance.now() - t0) * 1000) / n);
  }
  return median(t);
}

/** Seeded values in [−0.5, 0.5). */
function fill(a: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
}

/** The kernels' parts alone: one solve iteration (µs), the graph-gradient GEMM (µs), Adam on p² weights (µs). */
function parts(edges: number) {
  const k = sparseKernels();
  const n = P * BATCH;
  const perRow = Math.max(1, Math.round(edges / P));
  const nnz = perRow * P;
  const packed = Math.ceil(P / 16) * 16 * BATCH;
  k.arena.reset(arenaBytes([P + 1, nnz, nnz, n, n, n, BATCH, BATCH, n, n, packed, P * P, P * P, P * P, P * P, P * P]));
  const ptr = k.arena.i32(P + 1);
  const idx = k.arena.i32(nnz);
  const w = k.arena.f32(nnz);
  for (let r = 0; r <= P; r++) ptr[r] = r * perRow;
  for (let e = 0; e < nnz; e++) idx[e] = (Math.floor(e / perRow) + 1 + ((e * 7919) % (P - 1))) % P;
  fill(w, 3);
  const [x, fx, f] = [k.arena.f32(n), k.arena.f32(n), k.arena.f32(n)];
  fill(x, 4);
  const [r2, x2] = [k.arena.f32(BATCH), k.arena.f32(BATCH)];
  const iteration = micro(() => {
    k.tanh(x, f);
    k.spmm(ptr, idx, w, 0, P, f, fx, BATCH, x);
    r2.fill(0);
    x2.fill(0);
    k.residualNorms(fx, x, 0, P, BATCH, r2, x2);
  }, 400);
  const [h, v] = [k.arena.f32(n), k.arena.f32(n)];
  fill(h, 5);
  fill(v, 6);
  const vp = k.arena.f32(packed);
  const g = k.arena.f32(P * P);
  const gemm = micro(() => k.gemmNT(h, v, P, BATCH, g, vp), 100);
  const [wt, grad, m1, m2] = [k.arena.f32(P * P), k.arena.f32(P * P), k.arena.f32(P * P), k.arena.f32(P * P)];
  fill(wt, 7);
  fill(grad, 8);
  const c = {
    beta1: 0.9,
    oneMinusBeta1: 1 - 0.9,
    beta2: 0.999,
    oneMinusBeta2: 1 - 0.999,
    biasCorrection1: 0.1,
    biasCorrection2: 0.001,
    epsilon: 1e-7,
    negLearningRate: -1e-3,
  };
  const adam = micro(() => k.adamUpdate(wt, grad, m1, m2, c), 200);
  return { iteration, gemm, adam, perRow };
}

const dense: number[] = [];
const nmSteps: number[] = [];
let iterations = 0,
  edges = 0;
for (let r = 0; r < rounds; r++) {
  for (const isNm of r % 2 ? [true, false] : [false, true]) {
    const s = step(isNm);
    if (isNm) {
      nmSteps.push(s.ms);
      [iterations, edges] = [s.iterations, s.edges];
    } else dense.push(s.ms);
  }
  process.stderr.write(`nm300 floor: round ${r + 1}/${rounds}\n`);
}
const part = parts(edges);
const [d, s] = [median(dense), median(nmSteps)];
const solves = (iterations * part.iteration) / 1000;
const floor = solves + (part.gemm + part.adam) / 1000;
const budget = 0.2 * d;
console.log(`# NM(300) beyond Dense(300): the floor against the R2.2 budget (${runtimeLabel()}, ${sparseKernels().threads} kernel thread(s))`);
console.log(
  `Medians of ${rounds} interleaved rounds (steps: median of 40 after warm-up). Kept edges ${edges} (${part.perRow} per node in the kernels' timing).`,
);
console.log('| what | ms |\n|---|---|');
console.log(`| Dense(300) step, tuned | ${d.toFixed(3)} |`);
console.log(`| NM(300, ρ 0.05) step, tuned | ${s.toFixed(3)} (${(s / d).toFixed(2)}× Dense) |`);
console.log(`| budget: 0.2 × Dense(300) step | ${budget.toFixed(3)} |`);
console.log(
  `| solves: ${iterations} iterations (forward + adjoint, last step) × ${part.iteration.toFixed(1)} µs (spmm + tanh + residual norms alone) | ${solves.toFixed(3)} |`,
);
console.log(`| dense graph gradient hᵀv, 300 × 300 × 64, alone | ${(part.gemm / 1000).toFixed(3)} |`);
console.log(`| Adam on the 90 000 graph weights, alone | ${(part.adam / 1000).toFixed(3)} |`);
console.log(`| floor: the sum | ${floor.toFixed(3)} (${(floor / budget).toFixed(2)}× the budget) |`);
console.log(`| NM's measured extra: NM step − Dense step | ${(s - d).toFixed(3)} |`);
process.exit(0);
