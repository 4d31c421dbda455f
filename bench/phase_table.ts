/**
 * Where one training step of NM(p, ρ) goes (profile before optimizing). Each phase of the
 * step is timed alone, with the shapes and the values of a real step (the engine's own
 * forward and adjoint, the op's graph gradient, the optimizer on the same variables, the
 * output layer), medians of repeated runs; the whole step is timed too, so the sum can be
 * compared with it. Used by `npm run bench:phases` and `npm run bench:perf`.
 */
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';
import { graphGradient, hostEngine, matMulT, nodeActivation, Partition } from 'tfjs-neural-modules/internal';
import { softmaxStep } from './classifier_step.js';
import { timeIt, timeItWarm } from './timing.js';

/** What to measure; every field has the letter-step default. */
export interface PhaseOptions {
  p?: number;
  density?: number;
  batch?: number;
  features?: number;
  classes?: number;
  reps?: number;
  /** A key of {@link PHASE_OPTIMIZERS}. Default 'nm'. */
  optimizer?: PhaseOptimizer;
}

/** The optimizers a phase table can time: Adam fused or tfjs', SGD with momentum 0.9 fused or tfjs'. */
export const PHASE_OPTIMIZERS = {
  nm: { name: 'nm.optimizers.adam', make: (): tf.Optimizer => nm.optimizers.adam({ learningRate: 1e-3 }) },
  tf: { name: 'tf.train.adam', make: (): tf.Optimizer => tf.train.adam(1e-3) },
  'nm-sgd': { name: 'nm.optimizers.sgd (momentum 0.9)', make: (): tf.Optimizer => nm.optimizers.sgd({ learningRate: 1e-2, momentum: 0.9 }) },
  'tf-sgd': { name: 'tf.train.momentum (0.9)', make: (): tf.Optimizer => tf.train.momentum(1e-2, 0.9) },
} as const;
export type PhaseOptimizer = keyof typeof PHASE_OPTIMIZERS;

/** One row: phase name and median ms; `part` rows are parts of the row before them, not counted in the sum. */
export interface PhaseRow {
  name: string;
  ms: number;
  part?: boolean;
}

/**
 * Waits for `t`. On cpu and wasm every op has finished when it returns, so nothing is
 * read back (a dataSync of the 36 MB graph gradient costs 10–20 ms, which no training
 * step pays); elsewhere each tensor is read.
 */
const sync = (t: tf.Tensor | tf.Tensor[]) => {
  if (tf.getBackend() === 'cpu' || tf.getBackend() === 'wasm') return;
  (Array.isArray(t) ? t : [t]).forEach((x) => x.dataSync());
};

/**
 * Times the phases of one NM training step with the current backend, threads and
 * kernel registrations (set them before calling).
 *
 * @example
 * const { rows, whole } = measurePhases({ p: 3000, density: 0.01 });
 */
export function measurePhases(o: PhaseOptions = {}): { rows: PhaseRow[]; whole: number; sum: number } {
  const { p = 3000, density = 0.01, batch = 128, features = 16, classes = 26, reps = 15, optimizer = 'nm' } = o;
  const time = (fn: () => void) => timeIt(fn, reps, 3);
  const model = tf.sequential();
  const layer = nm.layers.neuralModule({ inputShape: [features], units: p, density, graphInitializer: new nm.layers.ContractiveGraph({ density, seed: 7 }) });
  model.add(layer);
  model.add(tf.layers.dense({ units: classes, activation: 'softmax' }));
  const opt = PHASE_OPTIMIZERS[optimizer].make();
  const x = tf.randomNormal([batch, features], 0, 1, 'float32', 1) as tf.Tensor2D;
  const y = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32', 2), classes);
  const rows: PhaseRow[] = [];
  const whole = timeItWarm(softmaxStep(model, opt, x, y), reps, 20);

  const [U, W] = layer.getWeights() as tf.Tensor2D[];
  const partition = new Partition(layer.edges());
  const ctx = { partition, act: nodeActivation('tanh'), solver: layer.options.solver, backwardSolver: layer.options.backwardSolver, where: 'bench' };
  const diagIndex = tf.tensor1d(
    Int32Array.from({ length: p }, (_, j) => j * (p + 1)),
    'int32',
  );
  const consts = { diagIndex, eye: tf.eye(p) as tf.Tensor2D, upper: null, topology: 'graph' as const };
  const z = tf.tidy(() => tf.add(tf.matMul(x, U), tf.gather(tf.reshape(W, [-1]), diagIndex)) as tf.Tensor2D);
  const fwd = hostEngine.forward(z, W, ctx);
  const dy = tf.randomNormal([batch, p], 0, 1e-3, 'float32', 3) as tf.Tensor2D;
  const adj = hostEngine.adjoint(dy, [], fwd.state, ctx);

  rows.push({
    name: 'input product z = x·U + diag(W)',
    ms: time(() => tf.tidy(() => sync(tf.add(tf.matMul(x, U), tf.gather(tf.reshape(W, [-1]), diagIndex))))),
  });
  rows.push({
    name: `engine forward (kept-weight read, solve: ${fwd.stats.iterations} iterations, upload of h)`,
    ms: time(() => hostEngine.forward(z, W, ctx).h.dispose()),
  });
  rows.push({
    name: `engine adjoint (solve: ${adj.stats.iterations} iterations, upload of v)`,
    ms: time(() => hostEngine.adjoint(dy, [], fwd.state, ctx).v.dispose()),
  });
  rows.push({
    name: 'graph gradient hᵀv with the bias diagonal (as the op computes it), into a new tensor',
    ms: time(() => tf.tidy(() => sync(graphGradient(fwd.h, adj.v, consts)))),
  });
  rows.push({ name: 'input gradients v·Uᵀ and xᵀ·v', ms: time(() => tf.tidy(() => sync([matMulT(adj.v, U, false, true), matMulT(x, adj.v, true, false)]))) });
  {
    const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const grads = Object.fromEntries(vars.map((v) => [v.name, tf.mul(tf.onesLike(v), 1e-6)]));
    const o2 = PHASE_OPTIMIZERS[optimizer].make();
    const name = `${PHASE_OPTIMIZERS[optimizer].name} on the layer's ${(vars.reduce((s, v) => s + v.size, 0) / 1e6).toFixed(2)} M weights`;
    rows.push({ name, ms: time(() => tf.tidy(() => (o2.applyGradients(grads), sync(vars[1])))) });
    o2.dispose();
    tf.dispose(Object.values(grads));
  }
  {
    const out = model.layers[1];
    rows.push({
      name: 'output layer forward + backward (dense p→classes, softmax CE)',
      ms: time(() =>
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, out.apply(fwd.h) as tf.Tensor) as tf.Scalar);
          sync([value, ...Object.values(grads)]);
        }),
      ),
    });
  }
  tf.dispose([x, y, z, dy, fwd.h, adj.v, diagIndex, consts.eye]);
  partition.dispose();
  model.dispose();
  opt.dispose();
  const sum = rows.filter((r) => !r.part).reduce((s, r) => s + r.ms, 0);
  return { rows, whole, sum };
}

/**
 * The phase table as markdown.
 *
 * @example
 * console.log(phaseMarkdown(measurePhases()));
 */
export function phaseMarkdown({ rows, whole, sum }: { rows: PhaseRow[]; whole: number; sum: number }): string {
  const lines = ['| phase | ms | share of the step |', '|---|---|---|', `| whole training step | ${whole.toFixed(1)} | 100 % |`];
  for (const r of rows) lines.push(`| ${r.name} | ${r.ms.toFixed(1)} | ${((100 * r.ms) / whole).toFixed(0)} % |`);
  lines.push(`| sum of the phases, each timed alone | ${sum.toFixed(1)} | ${((100 * sum) / whole).toFixed(0)} % |`);
  return lines.join('\n');
}
