import type * as tf from '@tensorflow/tfjs';
import type { NeuralModuleLayer } from '../../src/layers/neural_module.js';

/**
 * Sets a built NeuralModule layer's input kernel and graph, keeping its kept-edge
 * state weight, then re-partitions so the mask is chosen from the new graph (as a
 * freshly built layer with these weights would).
 */
export function setKernelAndGraph(layer: NeuralModuleLayer, kernel: tf.Tensor, graph: tf.Tensor): void {
  layer.setWeights([kernel, graph, layer.getWeights()[2]]);
  layer.repartition();
}
