/**
 * A hook on one tfjs-layers variable's `write`, the method tfjs calls to set its value
 * in `layer.setWeights` and model loading, so a layer can keep derived state (the Neural
 * Module's kept-edge mask) in step with weights written from outside.
 *
 * tfjs-layers' assumption (test/tfjs_internals.test.ts checks it): `setWeights` and
 * `loadLayersModel` write each weight through `LayerVariable.write(value)`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';

/**
 * Calls `after` whenever tfjs writes `v` (setWeights, model loading), after the write.
 * Patches this one variable only (an own property), not the class.
 *
 * @example
 * onVariableWrite(this.graph, () => this.rederiveMask());
 */
export function onVariableWrite(v: LayerVariable, after: () => void): void {
  const write = v.write.bind(v);
  v.write = (value: tf.Tensor) => {
    const r = write(value);
    after();
    return r;
  };
}
