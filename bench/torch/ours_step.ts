/**
 * One configuration's training-step time with this package, for bench/torch/compare.ts
 * (same shapes and settings as bench/torch/nm_step.py). Prints one JSON line.
 *
 *   npx tsx bench/torch/ours_step.ts --p 300 --density 0.05 --batch 64 --features 64 --classes 10
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from '../../src/index.js';
import { timeIt } from '../timing.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
await tf.setBackend(arg('backend', 'wasm'));
await tf.ready();
const [p, density, batch, features, classes, reps, warmup] = ['p', 'density', 'batch', 'features', 'classes', 'reps', 'warmup'].map((k, i) =>
  Number(arg(k, ['300', '0.05', '64', '64', '10', '20', '10'][i])),
);
const method = arg('method', 'anderson') as 'anderson' | 'picard';
const m = tf.sequential();
m.add(
  nm.layers.neuralModule({
    inputShape: [features],
    units: p,
    density,
    solver: { method, tol: 1e-4, maxIter: 50 },
    graphInitializer: new nm.layers.ContractiveGraph({ density, seed: 7 }),
  }),
);
m.add(tf.layers.dense({ units: classes, activation: 'softmax' }));
const opt = tf.train.adam(1e-3);
const x = tf.randomNormal([batch, features], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32', 2), classes);
const step = () => {
  const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x) as tf.Tensor) as tf.Scalar, true);
  cost?.dataSync();
  cost?.dispose();
};
const ms = timeIt(step, reps, warmup);
const layer = m.layers[0] as nm.layers.NeuralModuleLayer;
console.log(
  JSON.stringify({
    ms,
    p,
    batch,
    keptEdges: layer.structure().edges,
    engine: layer.activeEngine(),
    fwdIters: layer.solverStats().forward.iterations,
  }),
);
