/**
 * The training step the benchmarks time: `hidden → Dense(classes, softmax)` on seeded
 * random data, softmax cross-entropy, one `optimizer.minimize` per step with the cost read
 * back. Shared by bench/levers.ts and bench/round2.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { timeItWarm } from './timing.js';

/**
 * One training step of `model` on (x, y) with softmax cross-entropy, the cost read back.
 *
 * @example
 * const step = softmaxStep(model, tf.train.adam(1e-3), x, y); step();
 */
export function softmaxStep(model: tf.LayersModel, opt: tf.Optimizer, x: tf.Tensor, y: tf.Tensor, afterStep?: () => void): () => void {
  return () => {
    const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, true);
    cost?.dataSync();
    cost?.dispose();
    afterStep?.();
  };
}

/** The shapes of one timed model. */
export interface StepShape {
  batch: number;
  features: number;
  classes: number;
}

/**
 * Median step time (ms) of a fresh classifier over `hidden()`, trained with
 * `optimizer()`, `afterStep` (timed with the step) run after each; everything it creates
 * is disposed before it returns.
 *
 * @example
 * const ms = classifierStepMs(() => tf.layers.dense({ inputShape: [64], units: 300 }), () => tf.train.adam(1e-3), { batch: 64, features: 64, classes: 10 }, 20, 10);
 */
export function classifierStepMs(
  hidden: () => tf.layers.Layer,
  optimizer: () => tf.Optimizer,
  s: StepShape,
  reps: number,
  warmup: number,
  afterStep?: (layer: tf.layers.Layer, opt: tf.Optimizer) => void,
): number {
  const m = tf.sequential();
  const layer = hidden();
  m.add(layer);
  m.add(tf.layers.dense({ units: s.classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  const opt = optimizer();
  const x = tf.randomNormal([s.batch, s.features], 0, 1, 'float32', 1);
  const labels = tf.randomUniform([s.batch], 0, s.classes, 'int32', 2);
  const y = tf.oneHot(labels as tf.Tensor1D, s.classes);
  const ms = timeItWarm(softmaxStep(m, opt, x, y, afterStep && (() => afterStep(layer, opt))), reps, warmup);
  tf.dispose([x, y, labels]);
  m.dispose();
  opt.dispose();
  return ms;
}
