/**
 * Where one training step of NM(p, ρ) goes (issue "performance, round two": profile
 * first). Each phase of the step is timed alone, with the shapes and the values of a
 * real step (the engine's own forward and adjoint, the op's dense products, Adam on the
 * same variables, the output layer), medians of repeated runs; the whole step is timed
 * too, so the sum can be compared with it.
 *
 *   npm run bench:phases -- [--p 3000] [--density 0.01] [--batch 128] [--features 16] [--classes 26] [--reps 15]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from '../src/index.js';
import { hostEngine } from '../src/engine/host_engine.js';
import { graphGradient } from '../src/engine/op.js';
import { Partition } from '../src/engine/partition.js';
import { nodeActivation } from '../src/layers/node_activation.js';
import { matMulT } from '../src/utils/matmul.js';
import { FusedAdamOptimizer } from '../src/optimizers/fused_adam.js';
import { timeIt as timeAlone } from './timing.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
await tf.setBackend(arg('backend', 'wasm'));
await tf.ready();
const p = Number(arg('p', '3000'));
const density = Number(arg('density', '0.01'));
const batch = Number(arg('batch', '128'));
const features = Number(arg('features', '16'));
const classes = Number(arg('classes', '26'));
const reps = Number(arg('reps', '15'));
const timeIt = (fn: () => void, n = reps, warm = 3) => timeAlone(fn, n, warm);
const sync = (t: tf.Tensor | tf.Tensor[]) => (Array.isArray(t) ? t : [t]).forEach((x) => x.dataSync());

const model = tf.sequential();
const layer = nm.layers.neuralModule({
  inputShape: [features],
  units: p,
  density,
  solver: { method: 'anderson', tol: 1e-4 },
  graphInitializer: new nm.layers.ContractiveGraph({ density, seed: 7 }),
});
model.add(layer);
model.add(tf.layers.dense({ units: classes, activation: 'softmax' }));
const opt = tf.train.adam(1e-3);
const x = tf.randomNormal([batch, features], 0, 1, 'float32', 1) as tf.Tensor2D;
const y = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32', 2), classes);
const step = () => {
  const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, true);
  cost?.dataSync();
  cost?.dispose();
};
const rows: Array<[string, number]> = [];
rows.push(['whole training step (engine ' + layer.activeEngine() + ')', timeIt(step)]);
const fusedOpt = nm.optimizers.adam({ learningRate: 1e-3 });
const fusedStep = () => {
  const cost = fusedOpt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, true);
  cost?.dataSync();
  cost?.dispose();
};
/** Rows not part of the step's disjoint phases (alternatives, whole steps). */
const extra = new Set<string>();
const fusedStepRow = `whole training step with nm.optimizers.adam (${fusedOpt.getClassName()})`;
rows.push([fusedStepRow, timeIt(fusedStep)]);
extra.add(fusedStepRow);

// The tensors of a real step.
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

rows.push(['input product z = x·U + diag(W)', timeIt(() => tf.tidy(() => sync(tf.add(tf.matMul(x, U), tf.gather(tf.reshape(W, [-1]), diagIndex)))))]);
rows.push(['kept-weight gather + read-back', timeIt(() => tf.tidy(() => void tf.gather(tf.reshape(W, [-1]), partition.host().gatherIndex).dataSync()))]);
rows.push([
  `engine forward (gather, solve: ${fwd.stats.iterations} iterations, upload of h)`,
  timeIt(() => {
    const f = hostEngine.forward(z, W, ctx);
    f.h.dispose();
  }),
]);
rows.push([
  `engine adjoint (solve: ${adj.stats.iterations} iterations, upload of v)`,
  timeIt(() => {
    const a = hostEngine.adjoint(dy, [], fwd.state, ctx);
    a.v.dispose();
  }),
]);
rows.push(['graph gradient hᵀv (dense p×p matMul)', timeIt(() => tf.tidy(() => sync(matMulT(fwd.h, adj.v, true, false))))]);
rows.push(['graph gradient, matMul + diagonal correction', timeIt(() => tf.tidy(() => sync(graphGradient(fwd.h, adj.v, consts))))]);
rows.push(['input gradients v·Uᵀ and xᵀ·v', timeIt(() => tf.tidy(() => sync([matMulT(adj.v, U, false, true), matMulT(x, adj.v, true, false)])))]);
{
  const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const grads = Object.fromEntries(vars.map((v) => [v.name, tf.mul(tf.onesLike(v), 1e-6)]));
  const adam = tf.train.adam(1e-3);
  rows.push([
    `Adam on the layer's ${(vars.reduce((s, v) => s + v.size, 0) / 1e6).toFixed(2)} M weights`,
    timeIt(() =>
      tf.tidy(() => {
        adam.applyGradients(grads);
        sync(vars[1]);
      }),
    ),
  ]);
  // The same update fused (nm.optimizers.adam), with each kernel of its fused path.
  for (const kernels of ['wasm', 'js'] as const) {
    const fused = new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-7, kernels);
    const name = `fused Adam on the same weights (${kernels} kernel)`;
    rows.push([
      name,
      timeIt(() =>
        tf.tidy(() => {
          fused.applyGradients(grads);
          sync(vars[1]);
        }),
      ),
    ]);
    extra.add(name);
    fused.dispose();
  }
}
{
  const out = model.layers[1];
  const h = fwd.h;
  rows.push([
    'output layer forward + backward (dense p→classes, softmax CE)',
    timeIt(() =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, out.apply(h) as tf.Tensor) as tf.Scalar);
        sync([value, ...Object.values(grads)]);
      }),
    ),
  ]);
}
const total = rows[0][1];
const sum = rows.slice(1).reduce((s, [name, t]) => (name.startsWith('graph gradient hᵀv') || name.startsWith('kept-weight') || extra.has(name) ? s : s + t), 0);
console.log(
  `\nNM(p=${p}, ρ ${density}) training step phases, batch ${batch}, ${features} features, ${classes} classes, ${tf.getBackend()}; medians of ${reps}.\n`,
);
console.log('| phase | ms | share of the step |\n|---|---|---|');
for (const [name, t] of rows) console.log(`| ${name} | ${t.toFixed(1)} | ${((100 * t) / total).toFixed(0)} % |`);
console.log(
  `\nSum of the disjoint phases, each timed alone with its own read-back (the rows "kept-weight gather" and "hᵀv" are parts of the rows after them; the fused-Adam rows are alternatives, not counted): ${sum.toFixed(1)} ms, against ${total.toFixed(1)} ms for the whole step.`,
);
