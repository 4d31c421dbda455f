/**
 * A replication gate on the edges outside the kept mask (planted.ts arm `+gate:<k>[:<T>]`;
 * a prototype, not library code).
 *
 * With noisy targets the straight-through gradient of an unkept edge is, on a fixed
 * training set, the in-sample correlation of the noise with the edge's source node: a bias
 * of one sign that Adam turns into a step of about η whatever its size, so false edges
 * grow into the mask (docs/STRUCTURE.md, "20×15 with 10 % noise"). That bias does not
 * replicate on other rows, a real edge's gradient does. Every T epochs the gate splits the
 * training rows into k fixed folds, takes the full-fold gradient of the loss with respect
 * to the graph on each, and lets an unkept edge keep its value only if all k signs agree
 * (an AND-mask across folds, after Parascandolo et al. 2021, "Learning explanations that
 * are hard to vary"); every other unkept edge is set to 0 after each proximal step. An
 * edge of pure noise passes with probability 2^(1-k).
 */
import * as tf from '@tensorflow/tfjs';
import type * as nm from 'tfjs-neural-modules';

interface ProximalReg {
  proximalStep(w: Float32Array, p: number, learningRate: number): number;
}

export interface ReplicationGate {
  /** Recompute the allowed set from the folds' gradients (call at an epoch's begin). */
  refresh(): void;
  /** Unkept edges allowed at the last refresh (for traces). */
  allowedCount(): number;
  dispose(): void;
}

/**
 * Installs the gate on `reg`'s proximal step. `x`, `y`: the training rows (the folds are
 * rows i with i mod k = j after a seeded shuffle); `loss`: the model's loss of a batch.
 */
export function withReplicationGate(
  reg: ProximalReg,
  layer: nm.layers.NeuralModuleLayer,
  model: tf.LayersModel,
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  k: number,
  seed: number,
): ReplicationGate {
  const graph = layer.trainableWeights[1].read() as tf.Variable;
  const p = graph.shape[0];
  const rows = x.shape[0];
  const order = Array.from({ length: rows }, (_, i) => i);
  let s = seed >>> 0 || 1;
  for (let i = rows - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const folds = Array.from({ length: k }, (_, j) => {
    const idx = tf.tensor1d(
      order.filter((_, i) => i % k === j),
      'int32',
    );
    const f = { x: tf.gather(x, idx), y: tf.gather(y, idx) };
    idx.dispose();
    return f;
  });
  let allowed: Uint8Array | null = null;
  const inner = reg.proximalStep.bind(reg);
  reg.proximalStep = (w: Float32Array, pp: number, lr: number) => {
    let zeroed = inner(w, pp, lr);
    if (!allowed) return zeroed;
    const mask = layer.edges().mask;
    for (let i = 0; i < pp * pp; i++) {
      if (mask[i] === 1 || i % (pp + 1) === 0 || w[i] === 0 || allowed[i] === 1) continue;
      w[i] = 0;
      zeroed++;
    }
    return zeroed;
  };
  return {
    refresh() {
      const signs = new Int8Array(p * p);
      const agree = new Uint8Array(p * p).fill(1);
      folds.forEach((f, j) => {
        const g = tf.tidy(() => {
          const { grads } = tf.variableGrads(() => tf.losses.meanSquaredError(f.y, model.apply(f.x, { training: true }) as tf.Tensor) as tf.Scalar, [graph]);
          return grads[graph.name].dataSync() as Float32Array;
        });
        for (let i = 0; i < p * p; i++) {
          const sg = g[i] > 0 ? 1 : g[i] < 0 ? -1 : 0;
          if (j === 0) signs[i] = sg;
          else if (sg !== signs[i] || sg === 0) agree[i] = 0;
        }
      });
      allowed = agree;
    },
    allowedCount() {
      if (!allowed) return 0;
      const mask = layer.edges().mask;
      let c = 0;
      for (let i = 0; i < p * p; i++) if (allowed[i] === 1 && mask[i] === 0 && i % (p + 1) !== 0) c++;
      return c;
    },
    dispose() {
      for (const f of folds) tf.dispose([f.x, f.y]);
    },
  };
}
