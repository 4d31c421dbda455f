import * as tf from '@tensorflow/tfjs';
import { neuralModule, type NeuralModuleLayerArgs } from '../../src/layers/index.js';
import type { NeuralModuleLayer } from '../../src/layers/neural_module/layer.js';

/**
 * Sets a built NeuralModule layer's input kernel and graph, keeping its kept-edge
 * state weight, then re-partitions so the mask is chosen from the new graph (as a
 * freshly built layer with these weights would).
 */
export function setKernelAndGraph(layer: NeuralModuleLayer, kernel: tf.Tensor, graph: tf.Tensor): void {
  layer.setWeights([kernel, graph, layer.getWeights()[2]]);
  layer.repartition();
}

/**
 * A 3-node layer whose graph is the 2-cycle [[0,3],[3,0]] (gain 3) with a ones input
 * kernel: positive feedback, no contraction, Picard diverges.
 */
export function positiveFeedbackLayer(args: Partial<NeuralModuleLayerArgs>): NeuralModuleLayer {
  // No graph constraint (the default contracts the graph): this layer must stay non-contractive.
  const free = args.contractionBound == null && !('graphConstraint' in args) ? { graphConstraint: null } : {};
  const layer = neuralModule({ units: 3, density: 2 / 6, activation: 'linear', solver: { method: 'picard', maxIter: 20 }, ...free, ...args });
  layer.build([null, 2]);
  setKernelAndGraph(
    layer,
    tf.ones([2, 3]),
    tf.tensor2d([
      [0, 3, 0],
      [3, 0, 0],
      [0, 0, 0],
    ]),
  );
  return layer;
}
