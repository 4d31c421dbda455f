/**
 * A small NeuralModule classifier and its data, shared by the faithfulness tests
 * (test/faithful.test.ts, test/faithful_convergence.test.ts): 8 inputs, 20 nodes at
 * density 0.1 from a seeded contractive graph, 4 classes from two sign tests.
 */
import * as tf from '@tensorflow/tfjs';
import * as nm from '../../src/index.js';
import { Random } from '../../src/utils/random.js';

export function data(n: number, seed: number) {
  const r = new Random(seed);
  const x = Array.from({ length: n }, () => Array.from({ length: 8 }, () => r.normal()));
  const y = x.map((row) => {
    const c = (row[0] + row[1] > 0 ? 1 : 0) + (row[2] - row[3] > 0 ? 2 : 0);
    return [0, 1, 2, 3].map((k) => (k === c ? 1 : 0));
  });
  return { x: tf.tensor2d(x), y: tf.tensor2d(y) };
}

export function classifier(args: Partial<nm.layers.NeuralModuleLayerArgs> = {}) {
  const model = tf.sequential();
  model.add(
    nm.layers.neuralModule({ inputShape: [8], units: 20, density: 0.1, graphInitializer: new nm.layers.ContractiveGraph({ density: 0.1, seed: 3 }), ...args }),
  );
  model.add(tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
  return model;
}

export const predict = (m: tf.LayersModel, x: tf.Tensor) => Array.from((m.predict(x) as tf.Tensor).dataSync());
