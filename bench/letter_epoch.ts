/**
 * One epoch of UCI letter (80 % stratified training split, standardized, batch 128) with a
 * `hidden → Dense(26, softmax)` model, timed with its peak RSS: bench:perf's item 3 and R2.4.
 */
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';

/** What one epoch measured. */
export interface LetterEpoch {
  seconds: number;
  /** Peak resident set size, GiB (sampled every 200 ms and at the end). */
  peakGiB: number;
  samples: number;
  /** The trained model (the caller disposes it). */
  model: tf.Sequential;
}

/**
 * Trains one epoch of letter.csv (`file`) and measures it.
 *
 * @example
 * const { seconds, peakGiB, model } = await letterEpoch(file, (n) => tf.layers.dense({ inputShape: [n], units: 300 }), tf.train.adam(1e-3), 'dense');
 */
export async function letterEpoch(file: string, hidden: (features: number) => tf.layers.Layer, optimizer: tf.Optimizer, label: string): Promise<LetterEpoch> {
  const data = await nm.datasets.loadCsv(file);
  const train = nm.datasets.subset(data, nm.datasets.stratifiedSplit(data.y, [0.8, 0.2], 1)[0]);
  const tr = nm.datasets.standardize(train, nm.datasets.featureStats(train));
  const xs = tf.tensor2d(tr.x, [tr.numSamples, tr.numFeatures]);
  const ys = tf.oneHot(tf.tensor1d(tr.y, 'int32'), data.classes.length);
  const model = tf.sequential();
  model.add(hidden(tr.numFeatures));
  model.add(tf.layers.dense({ units: data.classes.length, activation: 'softmax' }));
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  let peak = 0;
  const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
  const timer = setInterval(sample, 200);
  const t0 = performance.now();
  await model.fit(xs, ys, { epochs: 1, batchSize: 128, verbose: 0, callbacks: [nm.callbacks.progress({ label })] });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  sample();
  tf.dispose([xs, ys]);
  return { seconds, peakGiB: peak / 2 ** 30, samples: tr.numSamples, model };
}
