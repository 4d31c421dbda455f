/**
 * The median training step of one configuration, tuned (nm.optimizers.adam,
 * fastTransposedMatMul, `--threads` kernel threads) or with `--defaults` what a model gets
 * with no opt-in (tf.train.adam, tfjs' matMul, the kernel threads the package starts by
 * itself): `hidden → Dense(classes, softmax)`
 * on seeded random data ({@link classifierStepMs}). One line on stdout, for interleaved
 * A/B runs of two checkouts (uses only the public API and bench/classifier_step.ts).
 *
 *   npx tsx bench/one_step.ts [--p 3000] [--density 0.01] [--batch 128] [--features 16] [--classes 26]
 *                             [--threads 2] [--solver auto|picard|anderson] [--warmup 30] [--steps 60] [--dense] [--defaults]
 *                             [--recipe]
 *
 * `--recipe` times the structure recipe's step (README, "Structure learning"): the NM
 * regularizer in proximal mode at the size rule (α = 0.1·30/p, λ = 0.02·√(30/p)) and, after
 * every step, what `modulePartition({ every: 'batch' })` does: the proximal step and a
 * re-partition.
 *
 * The warm-up is at least `--warmup` steps and 3 s (a new worker's JIT needs 75–100 small steps).
 * The line names the Node and the kernels' arithmetic (`nm.backend.kernelVariant()`: 'fma'
 * on Node ≥ 22; `NM_KERNELS=muladd` forces mul+add, for an A/B of the two).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from 'tfjs-neural-modules';
import { classifierStepMs } from './classifier_step.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
await tf.setBackend('wasm');
await tf.ready();
const [p, density, batch, features, classes] = ['p', 'density', 'batch', 'features', 'classes'].map((k, i) =>
  Number(arg(k, ['3000', '0.01', '128', '16', '26'][i])),
);
const threads = Number(arg('threads', '2'));
const solver = arg('solver', 'auto') as 'auto' | 'picard' | 'anderson';
const [warmup, steps] = [Number(arg('warmup', '30')), Number(arg('steps', '60'))];
const dense = process.argv.includes('--dense');
const recipe = process.argv.includes('--recipe');
const defaults = process.argv.includes('--defaults');
if (!defaults) {
  await nm.backend.setThreads(threads);
  nm.backend.fastTransposedMatMul();
}
const hidden = () =>
  dense
    ? tf.layers.dense({ inputShape: [features], units: p, activation: 'tanh' })
    : nm.layers.neuralModule({
        inputShape: [features],
        units: p,
        density,
        solver: { method: solver },
        graphInitializer: new nm.layers.ContractiveGraph({ density, seed: 7 }),
        ...(recipe ? { graphRegularizer: nm.regularizers.nm({ proximal: true, alpha: 0.1 * (30 / p), l1: 0.02 * Math.sqrt(30 / p) }) } : {}),
      });
const learningRate = 1e-3;
/** The partition callback's work after a batch (ModulePartitionCallback.onBatchEnd with every: 'batch'). */
const afterStep = recipe
  ? (layer: tf.layers.Layer) => {
      const l = layer as InstanceType<typeof nm.layers.NeuralModuleLayer>;
      l.proximalStep(learningRate);
      l.repartition();
    }
  : undefined;
/** The kernels' arithmetic; checkouts from before the FMA kernels have none (mul+add). */
const kernels = (nm.backend as { kernelVariant?: () => string }).kernelVariant?.() ?? 'muladd';
const optimizer = () => (defaults ? tf.train.adam(learningRate) : nm.optimizers.adam({ learningRate }));
const ms = classifierStepMs(hidden, optimizer, { batch, features, classes }, steps, warmup, afterStep);
console.log(
  `${dense ? 'Dense' : 'NM'}(${p}${dense ? '' : `, ρ ${density}, ${solver}`})${recipe ? ' recipe' : ''} batch ${batch}, ${defaults ? 'defaults' : 'tuned'}, ` +
    `${nm.backend.threads()} thread(s), kernels ${kernels}, node ${process.version}: median ${ms.toFixed(2)} ms of ${steps} steps after ≥ ${warmup} and 3 s`,
);
await nm.backend.setThreads(1);
