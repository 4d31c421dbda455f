/**
 * nm.cff: the cyclic forward-forward network learns a small task, takes every update
 * from a unit's local loss only (no gradient through the cycle: checked against a
 * float64 local gradient and against the backprop-through-the-cycle gradient, which
 * differs), rejects bad arguments, and leaks no tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { setLocalGradTrace, type CFFNetwork, type LocalGradRecord } from '../src/cff/network.js';
import { ConfigError } from '../src/utils/errors.js';
import { Random } from '../src/utils/random.js';
import { useBackend } from './helpers/backends.js';
import { closeness, expectClose } from './helpers/close.js';

beforeAll(async () => {
  await useBackend('cpu');
});

afterEach(() => setLocalGradTrace(null));

/** 3 Gaussian blobs in 4 features (class k is shifted by 2 along feature k). */
function blobs(n: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const rng = new Random(seed);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    y.push(k);
    for (let j = 0; j < 4; j++) x.push((j === k ? 2 : 0) + 0.8 * rng.normal());
  }
  return tf.tidy(() => ({ x: tf.tensor2d(x, [n, 4]), y: tf.oneHot(tf.tensor1d(y, 'int32'), 3).toFloat() as tf.Tensor2D }));
}

const accuracy = (scores: tf.Tensor2D, y: tf.Tensor2D) => tf.tidy(() => tf.equal(scores.argMax(1), y.argMax(1)).toFloat().mean().dataSync()[0]);

describe('learning', () => {
  it('learns 3 Gaussian blobs to far better than chance', async () => {
    const train = blobs(300, 1);
    const test = blobs(300, 2);
    const net = nm.cff.cyclicForwardForward({ inputDim: 4, numClasses: 3, unitSizes: [8, 8, 8], steps: 3, seed: 1 });
    const before = blobs(300, 2);
    const scores0 = net.predict(before.x);
    const acc0 = accuracy(scores0, before.y);
    const history = await net.fit(train.x, train.y, { epochs: 12, batchSize: 32, validationData: [test.x, test.y] });
    const scores = net.predict(test.x);
    expect(scores.shape).toEqual([300, 3]);
    const acc = accuracy(scores, test.y);
    const ev = net.evaluate(test.x, test.y);
    console.log(
      `CFF on 3 blobs: test accuracy ${acc0.toFixed(3)} before training, ${acc.toFixed(3)} after 12 epochs; val FF loss ${history.valLoss![0].toFixed(3)} → ${ev.loss.toFixed(3)}`,
    );
    expect(acc).toBeGreaterThan(0.85); // chance: 1/3
    expect(ev.accuracy).toBeCloseTo(acc, 6);
    expect(history.loss).toHaveLength(12);
    expect(history.valLoss).toHaveLength(12);
    expect(history.loss[11]).toBeLessThan(0.6 * history.loss[0]);
    expect(history.valLoss![11]).toBeCloseTo(ev.loss, 5);
    tf.dispose([scores0, scores, train.x, train.y, test.x, test.y, before.x, before.y]);
    net.dispose();
  }, 40_000);

  it('is deterministic for a seed and stops when asked', async () => {
    const d = blobs(60, 3);
    const run = async (stopAt: number | null) => {
      const net = nm.cff.cyclicForwardForward({ inputDim: 4, numClasses: 3, unitSizes: [4, 4], steps: 2, seed: 7 });
      const h = await net.fit(d.x, d.y, {
        epochs: 4,
        batchSize: 16,
        callbacks: {
          onEpochEnd: (e) => {
            if (e === stopAt) net.stopTraining = true;
          },
        },
      });
      const w = net.getWeights();
      const flat = Array.from(w[0].dataSync());
      tf.dispose(w);
      net.dispose();
      return { h, flat };
    };
    const a = await run(null);
    const b = await run(null);
    expect(b.h.loss).toEqual(a.h.loss);
    expect(b.flat).toEqual(a.flat);
    expect((await run(1)).h.loss).toHaveLength(2);
    tf.dispose([d.x, d.y]);
  });
});

/** Unit u's in-neighbours, in the kernel's row order. */
const inbound = (net: CFFNetwork, u: number) => net.edges.filter((e) => e[1] === u).map((e) => e[0]);

describe('no gradient through the cycle', () => {
  it('takes every gradient with respect to one unit’s own variables only', async () => {
    const d = blobs(40, 4);
    const net = nm.cff.cyclicForwardForward({ inputDim: 4, numClasses: 3, unitSizes: [3, 3, 3], steps: 3, seed: 2 });
    const records: LocalGradRecord[] = [];
    setLocalGradTrace((r) => records.push(r));
    await net.fit(d.x, d.y, { epochs: 1, batchSize: 20 });
    // 2 batches × 3 steps × 3 units, each unit once per step.
    expect(records).toHaveLength(2 * 3 * 3);
    expect(records.map((r) => r.unit)).toEqual(Array.from({ length: 18 }, (_, i) => i % 3));
    for (const r of records) {
      expect(r.varList).toHaveLength(2);
      for (const name of r.varList) expect(name).toMatch(new RegExp(`^cff\\d+_unit${r.unit}_(kernel|bias)$`));
      expect(r.gradNames.sort()).toEqual([...r.varList].sort());
    }
    tf.dispose([d.x, d.y]);
    net.dispose();
  });

  it('equals the float64 gradient of the local loss with the neighbours’ activities as constants, not the backprop-through-the-cycle gradient', () => {
    const rng = new Random(11);
    const [d, c, b] = [3, 3, 5];
    const net = nm.cff.cyclicForwardForward({ inputDim: d, numClasses: c, unitSizes: [3, 2, 2], steps: 3, seed: 5, threshold: 0.5 });
    const x = tf.tensor2d(
      Array.from({ length: 2 * b * d }, () => rng.normal()),
      [2 * b, d],
    );
    const labels = Int32Array.from({ length: 2 * b }, (_, i) => i % c);
    const xe = net.embed(x, labels);
    const sign = tf.tensor1d(Array.from({ length: 2 * b }, (_, i) => (i < b ? 1 : -1)));
    const weights = net.getWeights(); // [M_0, b_0, M_1, b_1, M_2, b_2]

    /** Unit 0's local loss at step `step` as a function of M_0, differentiating through every earlier step. */
    const fullLoss = (m0: tf.Tensor, step: number) => {
      let states = net.unitSizes.map((s) => tf.zeros([2 * b, s]));
      let out = tf.scalar(0);
      for (let t = 1; t <= step; t++) {
        const normed = states.map((h) => h.div(h.square().mean(1, true).add(1e-8).sqrt()));
        states = net.unitSizes.map((_, u) => {
          const a = tf.concat([xe, ...inbound(net, u).map((v) => normed[v])], 1);
          return tf.relu(a.matMul(u === 0 ? m0 : weights[2 * u]).add(weights[2 * u + 1]));
        });
        if (t === step) {
          const g = states[0].square().mean(1);
          out = tf.softplus(g.sub(net.threshold).mul(sign).neg()).mean();
        }
      }
      return out as tf.Scalar;
    };

    /** The inputs of every unit at `step`, computed without gradients (what training uses). */
    const inputsAt = (step: number) => {
      let states = net.unitSizes.map((s) => tf.zeros([2 * b, s]) as tf.Tensor2D);
      for (let t = 1; t < step; t++) {
        const normed = states.map((h) => net.normalize(h));
        states = net.unitSizes.map((_, u) => net.forwardUnit(u, net.unitInput(u, xe, normed)));
      }
      const normed = states.map((h) => net.normalize(h));
      return net.unitSizes.map((_, u) => net.unitInput(u, xe, normed));
    };

    /** Float64 gradient of mean softplus(−s(mean(relu(aM + b)²) − θ)) with respect to M. */
    const manual = (a: Float32Array, m: Float32Array, bias: Float32Array, rows: number, k: number, h: number) => {
      const dM = new Float64Array(k * h);
      for (let i = 0; i < rows; i++) {
        const z = new Float64Array(h);
        for (let j = 0; j < h; j++) {
          let s = bias[j];
          for (let q = 0; q < k; q++) s += a[i * k + q] * m[q * h + j];
          z[j] = Math.max(0, s);
        }
        const g = z.reduce((acc, v) => acc + v * v, 0) / h;
        const si = i < b ? 1 : -1;
        const dLdg = (-si / rows) * (1 / (1 + Math.exp(si * (g - net.threshold)))); // d softplus(−s(g−θ))/dg / rows
        for (let j = 0; j < h; j++) {
          if (z[j] <= 0) continue;
          const dz = (dLdg * 2 * z[j]) / h;
          for (let q = 0; q < k; q++) dM[q * h + j] += a[i * k + q] * dz;
        }
      }
      return dM;
    };

    for (const step of [2, 3]) {
      const inputs = inputsAt(step);
      const { loss, grads } = net.localGradients(0, inputs[0], sign);
      const local = grads[Object.keys(grads).find((n) => n.endsWith('_kernel'))!];
      const [k, h] = weights[0].shape;
      const f64 = manual(inputs[0].dataSync() as Float32Array, weights[0].dataSync() as Float32Array, weights[1].dataSync() as Float32Array, 2 * b, k, h);
      expectClose(local, f64, { atol: 1e-6, rtol: 1e-4 }, `local gradient of unit 0 at step ${step}`);
      expect(Math.max(...Array.from(local.dataSync(), Math.abs))).toBeGreaterThan(1e-3); // not vacuous
      const full = tf.grad((m: tf.Tensor) => fullLoss(m, step))(weights[0]);
      expectClose(fullLoss(weights[0], step), loss, { atol: 1e-6, rtol: 1e-5 }, 'the two forward passes agree');
      const diff = closeness(local, full, { atol: 1e-5, rtol: 1e-3 });
      if (step === 2) {
        // h⁰ = 0: nothing of unit 0 has reached its neighbours yet, so there is no path through the cycle.
        expect(diff.worstRatio).toBeLessThanOrEqual(1);
      } else {
        // Step 3: unit 0's step-1 activity reaches it back through units 1 and 2; backprop would follow it, CFF does not.
        expect(diff.failures).toBeGreaterThan(0);
        expect(diff.maxAbs).toBeGreaterThan(1e-4);
      }
      tf.dispose([...inputs, loss, full, ...Object.values(grads)]);
    }
    tf.dispose([x, xe, sign, ...weights]);
    net.dispose();
  });
});

describe('arguments', () => {
  const base = { inputDim: 4, numClasses: 3 };
  it.each([
    [{ ...base, inputDim: 0 }, /'inputDim' must be an integer >= 1; received 0/],
    [{ ...base, numClasses: 1 }, /'numClasses' must be an integer >= 2; received 1/],
    [{ ...base, unitSizes: [] }, /'unitSizes' must be a non-empty array/],
    [{ ...base, unitSizes: [4, 0] }, /'unitSizes\[1\]' must be an integer >= 1; received 0/],
    [{ ...base, unitSizes: [4, 4], edges: [[0, 2]] }, /'edges\[0\]\[1\]' must be an integer in \[0, 1\]; received 2/],
    [
      {
        ...base,
        unitSizes: [4, 4],
        edges: [
          [0, 1],
          [0, 1],
        ],
      },
      /'edges' lists \[0, 1\] twice/,
    ],
    [{ ...base, steps: 0 }, /'steps' must be an integer >= 1/],
    [{ ...base, threshold: -1 }, /'threshold' must be a finite number in \(0, inf\)/],
    [{ ...base, learningRate: 0 }, /'learningRate' must be a finite number in \(0, inf\)/],
    [{ ...base, step: 3 }, /unknown option 'step'. Known options: inputDim, numClasses, unitSizes, edges, steps/],
  ])('rejects %j', (args, message) => {
    expect(() => nm.cff.cyclicForwardForward(args as never)).toThrow(ConfigError);
    expect(() => nm.cff.cyclicForwardForward(args as never)).toThrow(message);
  });

  it('rejects bad fit / predict inputs and use after dispose', async () => {
    const net = nm.cff.cyclicForwardForward({ ...base, unitSizes: [2, 2] });
    const d = blobs(9, 1);
    const x5 = tf.zeros([9, 5]) as tf.Tensor2D;
    const y2 = tf.zeros([8, 3]) as tf.Tensor2D;
    await expect(net.fit(x5, d.y, { epochs: 1, batchSize: 4 })).rejects.toThrow(
      /CFFNetwork.fit: 'x' must be a 2-D tensor of shape \[N, 4\]; received "a tensor of shape \[9, 5\]"/,
    );
    await expect(net.fit(d.x, y2, { epochs: 1, batchSize: 4 })).rejects.toThrow(/'yOneHot' must be a 2-D one-hot tensor of shape \[9, 3\]/);
    await expect(net.fit(d.x, d.y, { epochs: 0, batchSize: 4 })).rejects.toThrow(/'epochs' must be an integer >= 1/);
    await expect(net.fit(d.x, d.y, { epochs: 1, batchSize: 4, shuffle: true } as never)).rejects.toThrow(/unknown option 'shuffle'/);
    expect(() => net.predict(x5)).toThrow(ConfigError);
    net.dispose();
    expect(() => net.predict(d.x)).toThrow(/the network has been disposed/);
    tf.dispose([d.x, d.y, x5, y2]);
  });

  it('rejects labels that are not one-hot and data of 0 rows, before any update, naming the row', async () => {
    const net = nm.cff.cyclicForwardForward({ ...base, unitSizes: [2, 2] });
    const d = blobs(4, 2);
    const before = net.getWeights();
    const rows = (r: number[][]) => tf.tensor2d(r);
    const cases: Array<[number[][], RegExp]> = [
      [
        [
          [1, 0, 0],
          [0, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ],
        /^CFFNetwork\.fit: 'yOneHot' must hold one-hot rows \(exactly one 1, the other entries 0\); row 1 is \[0, 0, 0\]: it has no 1 \(all zero\)\. Encode class indices with tf\.oneHot\(labels, 3\)\.$/,
      ],
      [
        [
          [1, 0, 0],
          [0, 1, 0],
          [0, 1, 1],
          [0, 0, 1],
        ],
        /row 2 is \[0, 1, 1\]: it has 2 ones/,
      ],
      [
        [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
          [0.9, 0.05, 0.05],
        ],
        /row 3 is \[0\.9, 0\.05, 0\.05\]: it holds values other than 0 and 1/,
      ],
      [
        [
          [2, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
          [1, 0, 0],
        ],
        /row 0 is \[2, 0, 0\]: it holds values other than 0 and 1/,
      ],
      [
        [
          [1, 0, 0],
          [0, NaN, 1],
          [0, 0, 1],
          [1, 0, 0],
        ],
        /row 1 is \[0, NaN, 1\]: it holds values other than 0 and 1/,
      ],
    ];
    for (const [labels, message] of cases) {
      const y = rows(labels);
      await expect(net.fit(d.x, y, { epochs: 1, batchSize: 4 })).rejects.toThrow(message);
      await expect(net.fit(d.x, d.y, { epochs: 1, batchSize: 4, validationData: [d.x, y] })).rejects.toThrow(
        /^CFFNetwork\.fit \(validationData\): 'yOneHot' must hold one-hot rows/,
      );
      expect(() => net.evaluate(d.x, y)).toThrow(/^CFFNetwork\.evaluate: 'yOneHot' must hold one-hot rows/);
      y.dispose();
    }
    // int32 one-hot labels (tf.oneHot's dtype) are fine.
    const yInt = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3) as tf.Tensor2D;
    expect(net.evaluate(d.x, yInt).accuracy).toBeGreaterThanOrEqual(0);
    // Many classes: the row is cut in the message.
    const wide = nm.cff.cyclicForwardForward({ inputDim: 4, numClasses: 40, unitSizes: [2] });
    const yWide = tf.zeros([4, 40]) as tf.Tensor2D;
    expect(() => wide.evaluate(d.x, yWide)).toThrow(/row 0 is \[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, … \(40 values\)\]: it has no 1/);
    // No rows at all: fit would report loss [NaN].
    const x0 = tf.zeros([0, 4]) as tf.Tensor2D;
    const y0 = tf.zeros([0, 3]) as tf.Tensor2D;
    await expect(net.fit(x0, y0, { epochs: 1, batchSize: 4 })).rejects.toThrow(
      /^CFFNetwork\.fit: 'x' must be a 2-D tensor with at least one row \(there is nothing to learn from or score\); received "a tensor of shape \[0, 4\]"\.$/,
    );
    await expect(net.fit(d.x, d.y, { epochs: 1, batchSize: 4, validationData: [x0, y0] })).rejects.toThrow(/^CFFNetwork\.fit \(validationData\): 'x' must be/);
    expect(() => net.evaluate(x0, y0)).toThrow(/^CFFNetwork\.evaluate: 'x' must be a 2-D tensor with at least one row/);
    // Nothing was trained by the rejected calls.
    const after = net.getWeights();
    after.forEach((w, i) => expect(Array.from(w.dataSync()), `weights[${i}]`).toEqual(Array.from(before[i].dataSync())));
    tf.dispose([...before, ...after, d.x, d.y, yInt, yWide, x0, y0]);
    net.dispose();
    wide.dispose();
  });
});

describe('memory', () => {
  it('keeps the tensor count flat across epochs and returns to it after dispose', async () => {
    const d = blobs(50, 6);
    const start = tf.memory().numTensors;
    const net = nm.cff.cyclicForwardForward({ inputDim: 4, numClasses: 3, unitSizes: [3, 3, 3], steps: 2 });
    const counts: number[] = [];
    await net.fit(d.x, d.y, {
      epochs: 4,
      batchSize: 16,
      validationData: [d.x, d.y],
      callbacks: { onEpochEnd: () => void counts.push(tf.memory().numTensors) },
    });
    expect(new Set(counts).size).toBe(1);
    net.predict(d.x).dispose();
    net.evaluate(d.x, d.y);
    tf.dispose(net.getWeights());
    expect(tf.memory().numTensors).toBe(counts[0]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([d.x, d.y]);
  });
});
