/** A small NeuralModule layer with a complete graph and a proximal L1 regularizer that records the rate of every proximal step. */
import * as tf from '@tensorflow/tfjs';
import * as nm from '../../src/index.js';

/**
 * The layer (`units` nodes, 3 inputs, density 1, no graph constraint, a seeded contractive
 * graph) and the list that receives the learning rate η of each proximal step.
 */
export function proximalL1Layer(opts: { units: number; l1: number; graphSeed: number; inputSeed?: number }): {
  layer: nm.layers.NeuralModuleLayer;
  reg: ReturnType<typeof nm.regularizers.offDiagonalL1>;
  rates: number[];
} {
  const reg = nm.regularizers.offDiagonalL1({ l1: opts.l1, proximal: true });
  const rates: number[] = [];
  const step = reg.proximalStep.bind(reg);
  reg.proximalStep = (w, p, lr) => {
    rates.push(lr);
    return step(w, p, lr);
  };
  const layer = nm.layers.neuralModule({
    inputShape: [3],
    units: opts.units,
    density: 1,
    graphConstraint: null,
    graphInitializer: { className: 'NMContractiveGraph', config: { gain: 0.5, density: 1, seed: opts.graphSeed } },
    graphRegularizer: reg,
    ...(opts.inputSeed != null ? { inputInitializer: tf.initializers.glorotUniform({ seed: opts.inputSeed }) } : {}),
  });
  return { layer, reg, rates };
}
