/**
 * Hardening of the NeuralModule layer (persistence and inputs):
 * resources freed with the model, large batches in bounded memory, empty batches
 * as Dense handles them, and clear errors for bad arguments.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { HOST_ARENA_BUDGET } from '../src/layers/neural_module/engine/host_engine.js';
import { sparseKernels } from '../src/kernels/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';

describe.each(BACKENDS)('NeuralModule layer resources and inputs (%s)', (backend) => {
  beforeAll(async () => useBackend(backend));

  it("model.dispose() frees the regularizers' tensors too: numTensors is flat across create/train/dispose", async () => {
    // tfjs itself keeps one tensor per compiled-and-fitted model: a Dense model is the control.
    const cycle = async (hidden: 'nm' | 'dense') => {
      const model = tf.sequential();
      model.add(
        hidden === 'nm'
          ? nm.layers.neuralModule({
              inputShape: [4],
              units: 12,
              density: 0.2,
              graphRegularizer: nm.regularizers.nm({ alpha: 1e-3, form: 'repulsion' }),
              inputRegularizer: nm.regularizers.offDiagonalL1({ l1: 1e-3 }),
            })
          : tf.layers.dense({ inputShape: [4], units: 12 }),
      );
      model.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
      model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
      const x = tf.randomNormal([16, 4], 0, 1, 'float32', 1);
      const y = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: 16 }, (_, i) => i % 2),
          'int32',
        ),
        2,
      );
      await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, callbacks: [nm.callbacks.modulePartition()] });
      model.dispose();
      model.optimizer.dispose();
      x.dispose();
      y.dispose();
    };
    const growth = async (hidden: 'nm' | 'dense') => {
      await cycle(hidden);
      const before = tf.memory().numTensors;
      await cycle(hidden);
      await cycle(hidden);
      return tf.memory().numTensors - before;
    };
    expect(await growth('nm')).toBe(await growth('dense'));
  });

  it('an empty batch gives an empty output and zero gradients, as tf.layers.dense does', () => {
    for (const engine of ['host', 'tensor'] as const) {
      const layer = nm.layers.neuralModule({ units: 5, density: 0.3, engine });
      const dense = tf.layers.dense({ units: 5 });
      const empty = tf.zeros([0, 3]);
      expect((layer.apply(empty) as tf.Tensor).shape).toEqual((dense.apply(empty) as tf.Tensor).shape);
      const g = tf.grad((x: tf.Tensor) => tf.sum(layer.apply(x) as tf.Tensor))(empty);
      expect(g.shape).toEqual([0, 3]);
      const { grads } = tf.variableGrads(
        () => tf.sum(layer.apply(empty) as tf.Tensor) as tf.Scalar,
        layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
      );
      for (const t of Object.values(grads)) expect(Math.max(...Array.from(t.dataSync()).map(Math.abs))).toBe(0);
    }
  });
});

describe('large batches on the host engine', () => {
  beforeAll(async () => useBackend('wasm'));

  it('are solved in row chunks: the arena stays within its budget and the answers match the tensor engine', () => {
    const p = 200;
    const make = (engine: 'host' | 'tensor') => {
      const l = nm.layers.neuralModule({
        units: p,
        density: 0.05,
        engine,
        solver: { method: 'anderson', tol: 1e-5, maxIter: 100 },
        graphInitializer: new nm.layers.ContractiveGraph({ density: 0.05, seed: 4 }),
        inputInitializer: tf.initializers.glorotUniform({ seed: 5 }),
      });
      l.build([null, 8]);
      return l;
    };
    const host = make('host');
    const tensor = make('tensor');
    const x = tf.randomNormal([9000, 8], 0, 1, 'float32', 3);
    const a = (host.apply(x) as tf.Tensor).dataSync();
    expect((sparseKernels().arena as unknown as { buffer: ArrayBuffer }).buffer.byteLength).toBeLessThanOrEqual(HOST_ARENA_BUDGET + 2 ** 20);
    const b = (tensor.apply(x) as tf.Tensor).dataSync();
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThan(1e-4);
    expect(host.solverStats().forward.converged).toBe(true);
    x.dispose();
  });
});

describe('argument errors', () => {
  it('a solver that is neither a name nor an object, and units beyond the dense limit, are ConfigErrors naming the argument', () => {
    for (const solver of [5, true, []]) {
      expect(() => nm.layers.neuralModule({ units: 4, solver: solver as never })).toThrow(nm.ConfigError);
      expect(() => nm.layers.neuralModule({ units: 4, solver: solver as never })).toThrow(
        /'solver' must be a method name \('picard', 'anderson', 'broyden', 'newton', 'auto'\) or an object/,
      );
    }
    expect(() => nm.layers.neuralModule({ units: 1e6 })).toThrow(/'units' must be an integer in \[1, 16384\]; received 1000000/);
  });
});

describe('factories given null', () => {
  it('every callback, regularizer and constraint factory names its args when given null', () => {
    const factories: Array<[string, () => unknown]> = [
      ['modulePartition', () => nm.callbacks.modulePartition(null as never)],
      ['progress', () => nm.callbacks.progress(null as never)],
      ['nmAlphaSchedule', () => nm.callbacks.nmAlphaSchedule(null as never)],
      ['structureLogger', () => nm.callbacks.structureLogger(null as never)],
      ['offDiagonalL1', () => nm.regularizers.offDiagonalL1(null as never)],
      ['contractive', () => nm.constraints.contractive(null as never)],
    ];
    for (const [name, make] of factories) expect(make, name).toThrow(new RegExp(`${name}: 'args' must be an object`));
  });
});
