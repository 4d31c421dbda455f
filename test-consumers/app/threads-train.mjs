// What threads-exit.mjs and threads-exit.cjs run: two epochs of a tiny NeuralModule model
// with nm.optimizers.adam on 2 kernel threads (useBest, as the README shows), then return.

/** Trains with `tf` and `nm` as the app sees them; resolves to a summary. */
export async function trainOnThreads(tf, nm) {
  const best = await nm.backend.useBest({ threads: 2, quiet: true });
  if (best.threads !== 2) throw new Error(`useBest({ threads: 2 }) gave ${best.threads} threads`);
  const model = tf.sequential();
  model.add(nm.layers.neuralModule({ inputShape: [4], units: 16, density: 0.3 }));
  model.add(tf.layers.dense({ units: 2 }));
  model.compile({ optimizer: nm.optimizers.adam({ learningRate: 0.01 }), loss: 'meanSquaredError' });
  const x = tf.randomNormal([32, 4], 0, 1, 'float32', 1);
  const y = tf.randomNormal([32, 2], 0, 1, 'float32', 2);
  const h = await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0 });
  return { backend: tf.getBackend(), threads: nm.backend.threads(), loss: h.history.loss };
}
