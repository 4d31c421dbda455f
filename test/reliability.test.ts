import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { refForward, refMask } from './helpers/reference.js';
import { positiveFeedbackLayer, setKernelAndGraph } from './helpers/nm_weights.js';
import { expectClose } from './helpers/close.js';

const nonContractive = positiveFeedbackLayer;

describe.each(BACKENDS)('reliability on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it('a non-contractive graph throws when configured to, and never returns silently wrong values', () => {
    expect(() => nonContractive({ onNonConvergence: 'throw' }).apply(tf.ones([2, 2]))).toThrow(nm.NonConvergenceError);
    const ignoring = nonContractive({ onNonConvergence: 'ignore' });
    ignoring.apply(tf.ones([2, 2]));
    const s = ignoring.solverStats().forward;
    expect(s.converged).toBe(false);
    expect(s.iterations).toBe(20);
    expect(s.residual).toBeGreaterThan(0.1);
  });

  it('divergence to Inf/NaN is always an error naming the layer, whatever onNonConvergence says', () => {
    const layer = nonContractive({ onNonConvergence: 'ignore', solver: { method: 'picard', maxIter: 2000 }, name: 'blowup' });
    expect(() => layer.apply(tf.ones([2, 2]))).toThrow(/NeuralModule 'blowup'.*NaN\/Inf/);
  });

  it('the contraction safeguard rescales the graph to the bound, exposes the estimate, and the solve converges to the reference', () => {
    const layer = nonContractive({ contractionBound: 0.9, onNonConvergence: 'throw', solver: { method: 'picard', maxIter: 300, tol: 1e-7 } });
    const s = layer.structure();
    expect(s.contractionRescales).toBe(1);
    expect(s.spectralNorm).toBeCloseTo(0.9, 4);
    const w = layer.getWeights()[1].arraySync() as number[][];
    expect(w[0][1]).toBeCloseTo(0.9, 4); // 3 scaled to the bound (‖[[0,3],[3,0]]‖₂ = 3)
    const out = layer.apply(tf.tensor2d([[0.5, -0.2]])) as tf.Tensor;
    const wf = Float64Array.from(w.flat());
    const ref = refForward([[0.5, -0.2]], Float64Array.from([1, 1, 1, 1, 1, 1]), wf, refMask(wf, 3, 2 / 6, 'graph'), 3, 'linear');
    const got = out.arraySync() as number[][];
    expectClose(got[0], ref[0], { atol: 1e-4 }, 'rescaled graph forward');
  });

  it('a NaN weight never reaches the optimizer: fit throws and the weights stay finite', async () => {
    const model = tf.sequential();
    const layer = nm.layers.neuralModule({ inputShape: [2], units: 3, density: 0.5, name: 'guarded' });
    model.add(layer);
    model.add(tf.layers.dense({ units: 1 }));
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const [k, g] = layer.getWeights();
    const bad = g.arraySync() as number[][];
    bad[1][1] = NaN; // a NaN bias
    setKernelAndGraph(layer, k, tf.tensor2d(bad));
    const before = model.layers[1].getWeights()[0].dataSync().slice();
    await expect(model.fit(tf.ones([4, 2]), tf.ones([4, 1]), { epochs: 1, verbose: 0 })).rejects.toThrow(/NeuralModule 'guarded'.*NaN\/Inf/);
    expect(Array.from(model.layers[1].getWeights()[0].dataSync())).toEqual(Array.from(before));
  });
});
