// TypeScript for a web bundle (moduleResolution bundler: the `import` branch, browser types).
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';

export async function train(x: tf.Tensor2D, y: tf.Tensor2D): Promise<number> {
  const model = tf.sequential();
  model.add(nm.layers.neuralModule({ inputShape: [x.shape[1]], units: 8, density: 0.3 }));
  model.add(tf.layers.dense({ units: y.shape[1], activation: 'softmax' }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const h = await model.fit(x, y, { epochs: 2, callbacks: [nm.callbacks.modulePartition({ every: 'epoch' })] });
  await model.save('indexeddb://nm-ts');
  return (h.history.loss as number[])[1];
}
