/**
 * The two URN experiments (Golkar, "Emergent Structures and Lifetime Structure
 * Evolution in Artificial Neural Networks") as functions of a seed, shared by
 * examples/urn-spheres.ts, examples/urn-digits.ts and bench/urn/seeds.ts.
 *
 * A seed fixes everything random: the data (the shells' samples), the stratified
 * 80/20 split, the He-normal initialisation and the order of the mini-batches (each
 * epoch is one `model.fit` call on a seeded permutation, so tfjs' unseeded shuffle is
 * not used). Seed 1 keeps the examples' original data, split and initialiser seeds.
 *
 * The structure is read from the TRAINING inputs (which neurons fire, at which
 * iteration) and the prune check is run on the held-out test inputs: the weights
 * that reading calls unused are zeroed and the test predictions compared with the
 * unpruned model's. Results over seeds: docs/URN_RESULTS.md.
 */
import * as tf from '@tensorflow/tfjs';
import * as nm from '../src/node.js';
import { Random } from '../src/utils/random.js';

/** One training split and one held-out split as tensors, plus the labels. */
export interface UrnData {
  trainX: tf.Tensor2D;
  trainY: tf.Tensor2D;
  testX: tf.Tensor2D;
  testY: tf.Tensor2D;
  testLabels: Int32Array;
  classes: number;
  describe: string;
}

/** Per-epoch progress. */
export interface EpochLog {
  epoch: number;
  loss: number;
  acc: number;
  seconds: number;
}

/** What one trained variant yields. */
export interface UrnRun {
  tag: string;
  seed: number;
  layer: nm.layers.URNLayer;
  model: tf.Sequential;
  trainSeconds: number;
  /** Test error of the unpruned model (fraction). */
  testError: number;
  /** Structure read from the training inputs, with the prune check repeated on the test inputs. */
  structure: nm.analysis.EmergentStructure;
  /** The prune check on the held-out test inputs. */
  heldOut: {
    /** max |Δ| of the URN outputs (the logits before the softmax). */
    maxLogitDiff: number;
    /** max |Δ| of the softmax probabilities. */
    maxProbDiff: number;
    /** Test error of the pruned model (fraction). */
    prunedTestError: number;
    /** Test samples whose predicted class changed. */
    flipped: number;
    outputScale: number;
    /**
     * The same on the test inputs inside the training inputs' per-feature range (a test
     * input outside it, e.g. a pixel that is constant in the training split, meets
     * neurons the training inputs never woke).
     */
    inRange: { samples: number; maxLogitDiff: number; maxProbDiff: number; flipped: number };
  };
}

/** Options common to both experiments. */
export interface RunOptions {
  seed: number;
  epochs: number;
  onEpoch?: (tag: string, log: EpochLog, layer: nm.layers.URNLayer) => void;
}

const oneHot = (y: Int32Array, classes: number) => tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), classes), 'float32') as tf.Tensor2D);

function toData(train: nm.datasets.Table, test: nm.datasets.Table, classes: number, describe: string): UrnData {
  return {
    trainX: tf.tensor2d(train.x, [train.numSamples, train.numFeatures]),
    trainY: oneHot(train.y, classes),
    testX: tf.tensor2d(test.x, [test.numSamples, test.numFeatures]),
    testY: oneHot(test.y, classes),
    testLabels: Int32Array.from(test.y),
    classes,
    describe,
  };
}

export function disposeData(d: UrnData): void {
  tf.dispose([d.trainX, d.trainY, d.testX, d.testY]);
}

/** Two concentric 10-d shells, 5000 samples, stratified 80/20 split, both seeded. */
export function spheresData(seed: number): UrnData {
  const data = nm.datasets.concentricShells({ dims: 10, samples: 5000, seed });
  const [trainIdx, testIdx] = nm.datasets.stratifiedSplit(data.y, [0.8, 0.2], seed);
  const train = nm.datasets.subset(data, trainIdx);
  const test = nm.datasets.subset(data, testIdx);
  return toData(train, test, 2, `concentric shells (seed ${seed}): ${train.numSamples} train / ${test.numSamples} test`);
}

/** The 8×8 UCI digits, seeded stratified 80/20 split, standardised with the training statistics. */
export async function digitsData(seed: number): Promise<UrnData> {
  const table = await nm.datasets.loadCsv('data/digits.csv');
  const [trainIdx, testIdx] = nm.datasets.stratifiedSplit(table.y, [0.8, 0.2], seed);
  const stats = nm.datasets.featureStats(nm.datasets.subset(table, trainIdx));
  const train = nm.datasets.standardize(nm.datasets.subset(table, trainIdx), stats);
  const test = nm.datasets.standardize(nm.datasets.subset(table, testIdx), stats);
  return toData(train, test, 10, `8×8 digits (split seed ${seed}): ${train.numSamples} train / ${test.numSamples} test`);
}

/** Active non-input neurons (at some iteration ≥ 1) on the first `n` rows of `x`. */
export function activeNonInput(layer: nm.layers.URNLayer, x: tf.Tensor2D, n = 200): number {
  return tf.tidy(() => {
    const rows = Math.min(n, x.shape[0]);
    const states = layer.states(tf.slice(x, [0, 0], [rows, x.shape[1]]));
    return tf.sum(tf.greater(tf.sum(tf.abs(tf.stack(states.slice(1))), [0, 1]), 1e-6)).dataSync()[0];
  });
}

/** Trains with a seeded mini-batch order: one `fit` call per epoch on a seeded permutation. */
async function fitSeeded(
  model: tf.Sequential,
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  opts: { epochs: number; batchSize: number; seed: number; onEpoch?: (log: EpochLog) => void },
): Promise<void> {
  const rng = new Random(opts.seed);
  const n = x.shape[0];
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const t0 = Date.now();
    const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    const [xs, ys] = tf.tidy(() => {
      const idx = tf.tensor1d(order, 'int32');
      return [tf.gather(x, idx), tf.gather(y, idx)];
    });
    const h = await model.fit(xs, ys, { epochs: 1, batchSize: opts.batchSize, shuffle: false, verbose: 0 });
    tf.dispose([xs, ys]);
    opts.onEpoch?.({ epoch: epoch + 1, loss: h.history.loss[0] as number, acc: h.history.acc[0] as number, seconds: (Date.now() - t0) / 1000 });
  }
}

function argmaxRows(v: Float32Array, classes: number): Int32Array {
  const n = v.length / classes;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (v[r * classes + c] > v[r * classes + best]) best = c;
    out[r] = best;
  }
  return out;
}

function softmaxRows(v: Float32Array, classes: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let r = 0; r < v.length / classes; r++) {
    let m = -Infinity;
    for (let c = 0; c < classes; c++) m = Math.max(m, v[r * classes + c]);
    let z = 0;
    for (let c = 0; c < classes; c++) z += out[r * classes + c] = Math.exp(v[r * classes + c] - m);
    for (let c = 0; c < classes; c++) out[r * classes + c] /= z;
  }
  return out;
}

/** Trains one URN (+ softmax) on `data`, then reads its structure on the training inputs and prune-checks it on the test inputs. */
async function trainAndAnalyse(
  tag: string,
  data: UrnData,
  layer: nm.layers.URNLayer,
  opts: RunOptions & { lr: number; batchSize: number; analysis: nm.analysis.EmergentStructureOptions },
): Promise<UrnRun> {
  const model = tf.sequential({ layers: [layer, tf.layers.activation({ activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.adam(opts.lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const t0 = Date.now();
  await fitSeeded(model, data.trainX, data.trainY, {
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    seed: 1000 + opts.seed,
    onEpoch: opts.onEpoch && ((log) => opts.onEpoch!(tag, log, layer)),
  });
  const trainSeconds = (Date.now() - t0) / 1000;
  const predicted = tf.tidy(() => tf.argMax(model.predict(data.testX) as tf.Tensor, 1).dataSync() as Int32Array);
  const errors = (p: Int32Array) => p.reduce((s, c, i) => s + (c === data.testLabels[i] ? 0 : 1), 0) / p.length;
  const structure = nm.analysis.emergentStructure(layer, data.trainX, { eps: 1e-6, weightThreshold: 1e-2, ...opts.analysis, heldOut: data.testX });
  const h = structure.prune.heldOut!;
  const p0 = softmaxRows(h.outputs, data.classes);
  const p1 = softmaxRows(h.prunedOutputs, data.classes);
  let maxProbDiff = 0;
  for (let i = 0; i < p0.length; i++) maxProbDiff = Math.max(maxProbDiff, Math.abs(p1[i] - p0[i]));
  const prunedClass = argmaxRows(h.prunedOutputs, data.classes);
  const unprunedClass = argmaxRows(h.outputs, data.classes);
  const inRange = rowsInTrainingRange(data);
  const c = data.classes;
  let inLogit = 0;
  let inProb = 0;
  let inFlipped = 0;
  inRange.forEach((r) => {
    for (let j = r * c; j < (r + 1) * c; j++) {
      inLogit = Math.max(inLogit, Math.abs(h.prunedOutputs[j] - h.outputs[j]));
      inProb = Math.max(inProb, Math.abs(p1[j] - p0[j]));
    }
    if (prunedClass[r] !== unprunedClass[r]) inFlipped++;
  });
  return {
    tag,
    seed: opts.seed,
    layer,
    model,
    trainSeconds,
    testError: errors(predicted),
    structure,
    heldOut: {
      maxLogitDiff: h.maxDiff,
      maxProbDiff,
      prunedTestError: errors(prunedClass),
      flipped: prunedClass.reduce((s, c, i) => s + (c === unprunedClass[i] ? 0 : 1), 0),
      outputScale: h.outputScale,
      inRange: { samples: inRange.length, maxLogitDiff: inLogit, maxProbDiff: inProb, flipped: inFlipped },
    },
  };
}

/** Test rows whose every feature lies within the training inputs' [min, max] of that feature. */
function rowsInTrainingRange(data: UrnData): number[] {
  const [n, d] = data.trainX.shape;
  const xt = data.trainX.dataSync();
  const lo = new Float32Array(d).fill(Infinity);
  const hi = new Float32Array(d).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      lo[j] = Math.min(lo[j], xt[i * d + j]);
      hi[j] = Math.max(hi[j], xt[i * d + j]);
    }
  }
  const xs = data.testX.dataSync();
  const rows: number[] = [];
  for (let i = 0; i < data.testX.shape[0]; i++) {
    let ok = true;
    for (let j = 0; j < d && ok; j++) ok = xs[i * d + j] >= lo[j] && xs[i * d + j] <= hi[j];
    if (ok) rows.push(i);
  }
  return rows;
}

/** The spheres experiment's settings (the example's defaults; environment knobs in the example). */
export interface SpheresSettings {
  neurons: number;
  iterations: number;
  weightL1: number;
  /** c_N = 40·c_W, the paper's ratio. */
  activityL1: number;
  lr: number;
  batchSize: number;
}

export const SPHERES_DEFAULTS: SpheresSettings = { neurons: 200, iterations: 4, weightL1: 4e-5, activityL1: 40 * 4e-5, lr: 3e-3, batchSize: 64 };

/** The spheres experiment: a URN with the plain update rule (eq. 3), then one with residual output neurons (eq. 6). */
export async function runSpheres(
  data: UrnData,
  settings: SpheresSettings,
  opts: RunOptions & { variants?: ('plain' | 'residual-output')[]; onRun?: (run: UrnRun) => void | Promise<void> },
): Promise<void> {
  for (const tag of opts.variants ?? (['plain', 'residual-output'] as const)) {
    const layer = nm.layers.urn({
      inputShape: [data.trainX.shape[1]],
      neurons: settings.neurons,
      iterations: settings.iterations,
      outputUnits: data.classes,
      residual: tag === 'plain' ? 'none' : 'output',
      weightL1: settings.weightL1,
      activityL1: settings.activityL1,
      kernelInitializer: { className: 'HeNormal', config: { seed: 6 + opts.seed } },
    });
    const run = await trainAndAnalyse(tag, data, layer, { ...opts, lr: settings.lr, batchSize: settings.batchSize, analysis: {} });
    await opts.onRun?.(run);
    run.model.dispose();
  }
}

/** The digits experiment's settings. */
export interface DigitsSettings {
  lattice: [number, number, number];
  iterations: number;
  weightL1: number;
  activityL1: number;
  synapticRate: number;
  beta: number;
  lr: number;
  batchSize: number;
}

export const DIGITS_DEFAULTS: DigitsSettings = {
  lattice: [8, 8, 3],
  iterations: 4,
  weightL1: 1e-5,
  activityL1: 40 * 1e-5,
  synapticRate: 2e-5,
  beta: 1,
  lr: 2e-3,
  batchSize: 32,
};

/** The digits geometry: pixels at z = 1, the lattice above, 10 outputs centred on top. */
export function digitsGeometry(settings: DigitsSettings) {
  const geometry = { inputGrid: [8, 8] as [number, number], lattice: settings.lattice, outputs: 10 };
  return { geometry, positions: nm.regularizers.upliftPositions(geometry) };
}

/** The digits experiment: residual output neurons (eq. 6), without and then with the synaptic-length term (eq. 9). */
export async function runDigits(
  data: UrnData,
  settings: DigitsSettings,
  opts: RunOptions & { variants?: ('without-synaptic-length' | 'with-synaptic-length')[]; onRun?: (run: UrnRun) => void | Promise<void> },
): Promise<void> {
  const { geometry, positions } = digitsGeometry(settings);
  for (const tag of opts.variants ?? (['without-synaptic-length', 'with-synaptic-length'] as const)) {
    const withSyn = tag === 'with-synaptic-length';
    const layer = nm.layers.urn({
      inputShape: [data.trainX.shape[1]],
      neurons: positions.length,
      iterations: settings.iterations,
      outputUnits: data.classes,
      residual: 'output',
      weightL1: settings.weightL1,
      activityL1: settings.activityL1,
      synapticLength: withSyn ? { rate: settings.synapticRate, geometry, beta: settings.beta, power: 1 } : null,
      kernelInitializer: { className: 'HeNormal', config: { seed: 10 + opts.seed } },
    });
    const run = await trainAndAnalyse(tag, data, layer, {
      ...opts,
      lr: settings.lr,
      batchSize: settings.batchSize,
      analysis: { positions, beta: settings.beta },
    });
    await opts.onRun?.(run);
    run.model.dispose();
  }
}
