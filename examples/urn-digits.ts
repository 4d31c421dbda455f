/**
 * The URN paper's geometric experiment (Golkar, "Emergent Structures and Lifetime
 * Structure Evolution in Artificial Neural Networks", Sec. 3, eq. 9, Fig. 6) on the
 * 8×8 UCI digits (the paper used grey CIFAR-10, not available here). The 64 pixels
 * sit on their grid at z = 1, hidden neurons on an X×Y×Z lattice above them, the 10
 * output neurons at the centre of a top plane; residual output updates (eq. 6),
 * I = 4. Trained with and without the synaptic-length term.
 *
 * Run: npx tsx examples/urn-digits.ts   (wasm backend; a few minutes on 2 cores)
 * Knobs (environment): URN_LATTICE (default "8,8,3"), URN_EPOCHS (default 60).
 * Writes out/urn-digits/{with,without}-synaptic-length-{weights,connectome}.svg.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as nm from '../src/node.js';

await tf.setBackend('wasm');
const lattice = (process.env.URN_LATTICE ?? '8,8,3').split(',').map(Number) as [number, number, number];
const EPOCHS = Number(process.env.URN_EPOCHS ?? 60);
const geometry = { inputGrid: [8, 8] as [number, number], lattice, outputs: 10 };
const positions = nm.regularizers.upliftPositions(geometry);
const S = positions.length;
const I = 4;
const C_W = Number(process.env.URN_CW ?? 1e-5);
const C_N = 40 * C_W;
const C_SYN = Number(process.env.URN_CSYN ?? 2e-5);
const BETA = 1;
const LR = 2e-3;
const OUT_DIR = 'out/urn-digits';

const table = await nm.datasets.loadCsv('data/digits.csv');
const [trainIdx, testIdx] = nm.datasets.stratifiedSplit(table.y, [0.8, 0.2], 1);
const stats = nm.datasets.featureStats(nm.datasets.subset(table, trainIdx));
const train = nm.datasets.standardize(nm.datasets.subset(table, trainIdx), stats);
const test = nm.datasets.standardize(nm.datasets.subset(table, testIdx), stats);
const tensors = (t: nm.datasets.Table) => ({
  x: tf.tensor2d(t.x, [t.numSamples, t.numFeatures]),
  y: tf.oneHot(tf.tensor1d(t.y, 'int32'), 10).toFloat(),
});
const tr = tensors(train);
const te = tensors(test);
mkdirSync(OUT_DIR, { recursive: true });
console.log(
  `URN on 8×8 digits: ${train.numSamples} train / ${test.numSamples} test, lattice ${lattice.join('×')} → S=${S}, I=${I}, residual output, ` +
    `c_W=${C_W}, c_N=${C_N}, c_syn=${C_SYN} (β=${BETA}, power 1), Adam lr=${LR}, ${EPOCHS} epochs, backend ${tf.getBackend()}`,
);

const summary: string[] = [];
for (const withSyn of [false, true]) {
  const tag = withSyn ? 'with-synaptic-length' : 'without-synaptic-length';
  const layer = nm.layers.urn({
    inputShape: [64],
    neurons: S,
    iterations: I,
    outputUnits: 10,
    residual: 'output',
    weightL1: C_W,
    activityL1: C_N,
    synapticLength: withSyn ? { rate: C_SYN, geometry, beta: BETA, power: 1 } : null,
    kernelInitializer: { className: 'HeNormal', config: { seed: 11 } },
  });
  const model = tf.sequential({ layers: [layer, tf.layers.activation({ activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.adam(LR), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const t0 = Date.now();
  let tEpoch = Date.now();
  await model.fit(tr.x, tr.y, {
    epochs: EPOCHS,
    batchSize: 32,
    shuffle: true,
    verbose: 0,
    validationData: [te.x, te.y],
    callbacks: {
      onEpochEnd: async (epoch, logs) => {
        console.log(
          `[${tag}] epoch ${String(epoch + 1).padStart(3)}/${EPOCHS}  loss ${logs!.loss.toFixed(4)}  acc ${logs!.acc.toFixed(4)}  ` +
            `test acc ${logs!.val_acc.toFixed(4)}  (${((Date.now() - tEpoch) / 1000).toFixed(1)} s)`,
        );
        tEpoch = Date.now();
      },
    },
  });
  const accuracy = tf.tidy(() => tf.mean(tf.equal(tf.argMax(model.predict(te.x) as tf.Tensor, 1), tf.argMax(te.y, 1))).dataSync()[0]);
  const s = nm.analysis.emergentStructure(layer, te.x as tf.Tensor2D, { eps: 1e-6, weightThreshold: 1e-2, positions, beta: BETA });
  const g = s.geometric!;
  const n = g.forward + g.backward + g.lateral;
  const pct = (v: number) => `${((100 * v) / Math.max(1, n)).toFixed(1)}%`;
  const lines = [
    `[${tag}] trained in ${((Date.now() - t0) / 1000).toFixed(0)} s; test accuracy ${(100 * accuracy).toFixed(1)}%`,
    `[${tag}] active neurons ${s.activeCount} of ${S}; emergent layer widths (layer 0 … ${I}): [${s.layerWidths.join(', ')}]`,
    `[${tag}] synapses |w| > ${s.weightThreshold} among active neurons: ${n}: forward (up in z) ${g.forward} = ${pct(g.forward)}, ` +
      `backward ${g.backward} = ${pct(g.backward)}, lateral ${g.lateral} = ${pct(g.lateral)}`,
    `[${tag}] mean synapse length ${g.meanLength.toFixed(2)} (|w|-weighted ${g.weightedMeanLength.toFixed(2)}) in pixel units; ` +
      `prune check max output change ${s.prune.maxDiff.toExponential(2)} (output scale ${s.prune.outputScale.toFixed(2)})`,
  ];
  lines.forEach((l) => console.log(l));
  summary.push(...lines);
  writeFileSync(`${OUT_DIR}/${tag}-weights.svg`, nm.analysis.renderUrnWeights(layer, s));
  writeFileSync(`${OUT_DIR}/${tag}-connectome.svg`, nm.analysis.renderConnectome(layer, s, { positions, threshold: 0.05 }));
  console.log(`[${tag}] wrote ${OUT_DIR}/${tag}-weights.svg and ${OUT_DIR}/${tag}-connectome.svg`);
  model.dispose();
}
console.log('\nSummary');
summary.forEach((l) => console.log(l));
tf.dispose([tr, te]);
