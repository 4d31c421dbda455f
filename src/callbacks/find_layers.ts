/** Finds the Neural Module layers of a model, including those of nested models. */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { NeuralModuleLayer } from '../layers/neural_module.js';

interface HasLayers {
  layers?: unknown[];
}

/** Every NeuralModuleLayer in `model`, depth first, in layer order. */
export function neuralModuleLayers(model: LayersModel | HasLayers | null | undefined): NeuralModuleLayer[] {
  const out: NeuralModuleLayer[] = [];
  const visit = (m: HasLayers) => {
    for (const layer of m.layers ?? []) {
      if (layer instanceof NeuralModuleLayer) out.push(layer);
      else if (layer && typeof layer === 'object' && Array.isArray((layer as HasLayers).layers)) visit(layer as HasLayers);
    }
  };
  if (model) visit(model as HasLayers);
  return out;
}
