/**
 * The URN paper's first experiment (Golkar, "Emergent Structures and Lifetime
 * Structure Evolution in Artificial Neural Networks", Sec. 2, Figs. 3–4): a URN
 * trained on two concentric 10-d spherical shells with weight and activity L1
 * (c_N / c_W = 40, the paper's ratio) organises itself into a small MLP. Trained
 * with the plain update rule (eq. 3) and with residual output neurons (eq. 6).
 *
 * Run: npx tsx examples/urn-spheres.ts   (wasm backend; a few minutes on 2 cores)
 * Knobs (environment): URN_S (neurons, default 200), URN_EPOCHS (default 40), URN_CW (c_W, default 4e-5), URN_LR (default 3e-3).
 * Writes out/urn-spheres/{plain,residual-output}-weights.svg.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as nm from '../src/node.js';

await tf.setBackend('wasm');
const S = Number(process.env.URN_S ?? 200);
const EPOCHS = Number(process.env.URN_EPOCHS ?? 40);
const I = 4;
const C_W = Number(process.env.URN_CW ?? 4e-5);
const C_N = 40 * C_W; // the paper's ratio: c_W = 5e-7, c_N = 2e-5
const LR = Number(process.env.URN_LR ?? 3e-3);
const BATCH = 64;
const OUT_DIR = 'out/urn-spheres';

const data = nm.datasets.concentricShells({ dims: 10, samples: 5000, seed: 1 });
const [trainIdx, testIdx] = nm.datasets.stratifiedSplit(data.y, [0.8, 0.2], 1);
const train = nm.datasets.subset(data, trainIdx);
const test = nm.datasets.subset(data, testIdx);
const tensors = (t: nm.datasets.Table) => ({
  x: tf.tensor2d(t.x, [t.numSamples, t.numFeatures]),
  y: tf.oneHot(tf.tensor1d(t.y, 'int32'), 2).toFloat(),
});
const tr = tensors(train);
const te = tensors(test);
mkdirSync(OUT_DIR, { recursive: true });
console.log(
  `URN on concentric shells: ${train.numSamples} train / ${test.numSamples} test, S=${S}, I=${I}, c_W=${C_W}, c_N=${C_N}, Adam lr=${LR}, ${EPOCHS} epochs, backend ${tf.getBackend()}`,
);

for (const residual of ['none', 'output'] as const) {
  const tag = residual === 'none' ? 'plain' : 'residual-output';
  const layer = nm.layers.urn({
    inputShape: [10],
    neurons: S,
    iterations: I,
    outputUnits: 2,
    residual,
    weightL1: C_W,
    activityL1: C_N,
    kernelInitializer: { className: 'HeNormal', config: { seed: 7 } },
  });
  const model = tf.sequential({ layers: [layer, tf.layers.activation({ activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.adam(LR), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const t0 = Date.now();
  let tEpoch = Date.now();
  await model.fit(tr.x, tr.y, {
    epochs: EPOCHS,
    batchSize: BATCH,
    shuffle: true,
    verbose: 0,
    callbacks: {
      onEpochEnd: async (epoch, logs) => {
        const active = tf.tidy(() => {
          const states = layer.states(te.x.slice([0, 0], [200, 10]) as tf.Tensor2D);
          return tf.sum(tf.greater(tf.sum(tf.stack(states.slice(1)).abs(), [0, 1]), 1e-6)).dataSync()[0];
        });
        console.log(
          `[${tag}] epoch ${String(epoch + 1).padStart(3)}/${EPOCHS}  loss ${logs!.loss.toFixed(4)}  acc ${logs!.acc.toFixed(4)}  ` +
            `active non-input neurons ${active}  (${((Date.now() - tEpoch) / 1000).toFixed(1)} s)`,
        );
        tEpoch = Date.now();
      },
    },
  });
  const accuracy = tf.tidy(() => tf.mean(tf.equal(tf.argMax(model.predict(te.x) as tf.Tensor, 1), tf.argMax(te.y, 1))).dataSync()[0]);
  const s = nm.analysis.emergentStructure(layer, te.x as tf.Tensor2D, { eps: 1e-6, weightThreshold: 1e-2 });
  console.log(`[${tag}] trained in ${((Date.now() - t0) / 1000).toFixed(0)} s; test accuracy ${(100 * accuracy).toFixed(1)}%`);
  console.log(`[${tag}] active neurons ${s.activeCount} of ${S} (inputs ${s.layerWidths[0]}, outputs 2), reused at several iterations: ${s.multiIteration}`);
  console.log(
    `[${tag}] emergent layer widths (layer 0 … ${I}): [${s.layerWidths.join(', ')}]; hidden layers (non-input, non-output neurons by first iteration): [${s.hiddenLayerWidths.join(', ')}]`,
  );
  console.log(
    `[${tag}] synapses |w| > ${s.weightThreshold} among active neurons: forward ${s.weights.forward} (skip ${s.weights.skip}), backward ${s.weights.backward}, lateral ${s.weights.lateral}; touching inactive neurons ${s.weights.inactive}`,
  );
  console.log(
    `[${tag}] prune check: kept ${s.prune.keptWeights} synapses, max output change ${s.prune.maxDiff.toExponential(2)} ` +
      `(also dropping kept |w| ≤ ${s.weightThreshold}: ${s.prune.thresholdMaxDiff.toExponential(2)}; output scale ${s.prune.outputScale.toFixed(2)})`,
  );
  writeFileSync(`${OUT_DIR}/${tag}-weights.svg`, nm.analysis.renderUrnWeights(layer, s));
  console.log(`[${tag}] wrote ${OUT_DIR}/${tag}-weights.svg`);
  model.dispose();
}
tf.dispose([tr, te]);
