/**
 * Finds the Neural Module layers of a model wherever they sit: directly in it, in
 * nested models, and inside tfjs wrapper layers (`tf.layers.timeDistributed`, which
 * applies one shared layer at every time step), at any depth.
 *
 * What is looked into:
 * - `layers`: a nested `tf.LayersModel` / `tf.Sequential`;
 * - `layer`: a `tf.layers.Wrapper` (TimeDistributed) holds the layer it runs there;
 * - `forwardLayer` / `backwardLayer`: `tf.layers.bidirectional` runs these two copies
 *   and never its `layer` argument, so only they are looked into. (Bidirectional wraps
 *   recurrent layers only; a NeuralModule is not one, so none is found there today.)
 * A layer reached twice (a shared layer) is listed once.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { NeuralModuleLayer } from '../layers/neural_module/layer.js';

/** The fields of models and wrapper layers that hold other layers. */
interface Container {
  layers?: unknown;
  layer?: unknown;
  forwardLayer?: unknown;
  backwardLayer?: unknown;
}

/** Every NeuralModuleLayer in `model` (nested models and wrappers included), depth first, in layer order. */
export function neuralModuleLayers(model: LayersModel | Container | null | undefined): NeuralModuleLayer[] {
  const out: NeuralModuleLayer[] = [];
  const seen = new Set<object>();
  const visit = (node: unknown) => {
    if (node == null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    if (node instanceof NeuralModuleLayer) {
      out.push(node);
      return;
    }
    const c = node as Container;
    if (Array.isArray(c.layers)) for (const layer of c.layers) visit(layer);
    if (c.forwardLayer != null || c.backwardLayer != null) {
      visit(c.forwardLayer);
      visit(c.backwardLayer);
    } else {
      visit(c.layer);
    }
  };
  visit(model);
  return out;
}
