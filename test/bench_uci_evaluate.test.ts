/**
 * The UCI harness's evaluation: `evaluate` cuts the prediction into chunks of 512 rows
 * with the same values as `predict({ batchSize: 512 })`, and `solveProbe` reports a test
 * set as converged only when every chunk's forward solve converged (the layer keeps only
 * the last solve's statistics).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { evaluate, solveProbe } from '../bench/uci/train.js';
import { useBackend } from './helpers/backends.js';

describe('UCI evaluate', () => {
  useBackend('cpu');

  /** NM(12) → softmax(3) with a fixed graph: rows of zeros solve in one step (x* = 0), large rows need many. */
  function model(maxIter: number) {
    const layer = nm.layers.neuralModule({ inputShape: [4], units: 12, density: 1, solver: { method: 'picard', maxIter, tol: 1e-6 } });
    const m = tf.sequential();
    m.add(layer);
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    // Deterministic float weights (integer state such as the mask stays as it is).
    const ws = m.getWeights().map((w, i) =>
      w.dtype !== 'float32'
        ? w.clone()
        : tf.tidy(() => {
            const n = w.shape.reduce((a, b) => a * b, 1);
            return tf.tensor(
              Array.from({ length: n }, (_, j) => Math.sin(1.3 * j + i) * 0.9),
              w.shape,
            );
          }),
    );
    m.setWeights(ws);
    tf.dispose(ws);
    // The graph's diagonal is the bias: zero, so an all-zero row has the fixed point 0.
    const w = layer.getWeights();
    const graph = w.find((t) => t.shape.length === 2 && t.shape[0] === 12 && t.shape[1] === 12)!;
    const zeroDiag = tf.tidy(() => graph.mul(tf.scalar(1).sub(tf.eye(12))));
    layer.setWeights(w.map((t) => (t === graph ? zeroDiag : t)));
    zeroDiag.dispose();
    return { m, layer };
  }

  it("gives predict({ batchSize: 512 })'s loss and error, one chunk at a time", () => {
    const { m } = model(50);
    const rows = 1100;
    const x = tf.tidy(() => tf.randomNormal([rows, 4], 0, 1, 'float32', 3) as tf.Tensor2D);
    const labels = Int32Array.from({ length: rows }, (_, i) => i % 3);
    let chunks = 0;
    const got = evaluate(m, x, labels, () => chunks++);
    expect(chunks).toBe(3);
    const p = tf.tidy(() => m.predict(x, { batchSize: 512 }) as tf.Tensor2D).arraySync();
    let loss = 0;
    let wrong = 0;
    p.forEach((row, i) => {
      const arg = row.indexOf(Math.max(...row));
      if (arg !== labels[i]) wrong++;
      loss -= Math.log(Math.max(row[labels[i]], 1e-12));
    });
    expect(got.error).toBe(wrong / rows);
    expect(got.loss).toBeCloseTo(loss / rows, 10);
    x.dispose();
    m.dispose();
  });

  it('a test set is converged only if every chunk converged: a failing first chunk is not hidden by a converged last one', () => {
    const { m, layer } = model(2);
    const rows = 600;
    // Rows 0–511 (chunk 1) are large: 2 Picard steps cannot reach 1e-6. Rows 512–599 (chunk 2) are zeros.
    const x = tf.tidy(() => tf.concat([tf.randomNormal([512, 4], 0, 3, 'float32', 5), tf.zeros([rows - 512, 4])]) as tf.Tensor2D);
    const labels = new Int32Array(rows);
    const probe = solveProbe(layer);
    const seen: boolean[] = [];
    evaluate(m, x, labels, () => {
      probe.afterChunk();
      seen.push(layer.solverStats().forward.converged);
    });
    expect(seen).toEqual([false, true]);
    expect(probe.converged).toBe(false);
    expect(probe.residual).toBeGreaterThan(1e-6);
    x.dispose();
    m.dispose();
  });
});
