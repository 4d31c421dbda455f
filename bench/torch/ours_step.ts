/**
 * One configuration's training-step time with this package, for bench/torch/compare.ts
 * (same shapes and settings as bench/torch/nm_step.py). Prints one JSON line.
 *
 * Defaults to the package's default solver ('auto': Picard, then Anderson when the
 * contraction is slow; tol 1e-4, maxIter 50) on the wasm backend. Its fastest
 * configuration is `--threads 2 --optimizer nm --fast-matmul` (what compare.ts runs):
 *   --threads N       nm.backend.setThreads(N) before the model is built (default 1)
 *   --optimizer nm|tf nm.optimizers.adam({ learningRate: 1e-3 }) (fused; default) or tf.train.adam(1e-3)
 *   --fast-matmul     nm.backend.fastTransposedMatMul() (transpose-first wasm matMul)
 *   --method M        force a solver ('auto' | 'picard' | 'anderson'); default: the layer's
 *
 *   npx tsx bench/torch/ours_step.ts --p 300 --density 0.05 --batch 64 --features 64 --classes 10 \
 *     [--threads 2] [--optimizer nm] [--fast-matmul] [--method anderson] [--backend wasm]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from 'tfjs-neural-modules';
import { softmaxStep } from '../classifier_step.js';
import { timeItWarm } from '../timing.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
await tf.setBackend(arg('backend', 'wasm'));
await tf.ready();
const threads = await nm.backend.setThreads(Number(arg('threads', '1')));
const fastMatMul = process.argv.includes('--fast-matmul') && nm.backend.fastTransposedMatMul();
const optimizer = arg('optimizer', 'nm');
if (optimizer !== 'nm' && optimizer !== 'tf') throw new Error(`--optimizer must be nm or tf; received ${optimizer}`);
const [p, density, batch, features, classes, reps, warmup] = ['p', 'density', 'batch', 'features', 'classes', 'reps', 'warmup'].map((k, i) =>
  Number(arg(k, ['300', '0.05', '64', '64', '10', '20', '10'][i])),
);
const method = arg('method', '') as '' | 'auto' | 'picard' | 'anderson';
const m = tf.sequential();
m.add(
  nm.layers.neuralModule({
    inputShape: [features],
    units: p,
    density,
    ...(method ? { solver: { method, tol: 1e-4, maxIter: 50 } } : {}),
    graphInitializer: new nm.layers.ContractiveGraph({ density, seed: 7 }),
  }),
);
m.add(tf.layers.dense({ units: classes, activation: 'softmax' }));
const opt = optimizer === 'nm' ? nm.optimizers.adam({ learningRate: 1e-3 }) : tf.train.adam(1e-3);
const x = tf.randomNormal([batch, features], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32', 2), classes);
const ms = timeItWarm(softmaxStep(m, opt, x, y), reps, warmup);
const layer = m.layers[0] as nm.layers.NeuralModuleLayer;
console.log(
  JSON.stringify({
    ms,
    p,
    batch,
    keptEdges: layer.structure().edges,
    engine: layer.activeEngine(),
    solver: method || 'default',
    threads,
    optimizer,
    fastMatMul,
    fwdIters: layer.solverStats().forward.iterations,
  }),
);
await nm.backend.setThreads(1);
