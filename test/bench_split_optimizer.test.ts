/**
 * bench/structure/split_optimizer.ts: the graph's gradient goes to plain SGD at its own
 * rate, every other gradient to the other optimizer, and the proximal steps read the
 * graph's rate.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SplitOptimizer } from '../bench/structure/split_optimizer.js';
import { useBackend } from './helpers/backends.js';

describe('bench SplitOptimizer', () => {
  beforeAll(async () => useBackend('cpu'));

  it('steps the graph by SGD and the rest by Adam, exactly as each alone would', () => {
    const graph = tf.variable(tf.tensor2d([0.5, -0.25, 0.125, 1], [2, 2]), true, 'layer/graph');
    const kernel = tf.variable(tf.tensor1d([0.3, -0.7]), true, 'layer/inputKernel');
    const twin = tf.variable(kernel.clone(), true, 'twin');
    const gGraph = tf.tensor2d([0.1, -0.2, 0.3, -0.4], [2, 2]);
    const gKernel = tf.tensor1d([0.05, 0.5]);
    const split = new SplitOptimizer(tf.train.adam(0.01), tf.train.sgd(3), (n) => /(^|\/)graph(_\d+)?$/.test(n));
    const before = graph.dataSync().slice();
    split.applyGradients({ 'layer/graph': gGraph, 'layer/inputKernel': gKernel });
    const adam = tf.train.adam(0.01);
    adam.applyGradients([{ name: 'twin', tensor: gKernel }]);
    const g = gGraph.dataSync();
    const want = before.map((w, i) => Math.fround(w - Math.fround(3 * g[i])));
    expect(Array.from(graph.dataSync())).toEqual(Array.from(want));
    expect(Array.from(kernel.dataSync())).toEqual(Array.from(twin.dataSync()));
    expect(split.learningRate).toBe(3);
    split.learningRate = 0.5;
    expect(split.learningRate).toBe(0.5);
    split.dispose();
    adam.dispose();
    tf.dispose([graph, kernel, twin, gGraph, gKernel]);
  });
});
