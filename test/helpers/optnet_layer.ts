/** The OptNet layer the solver tests (test/optnet_solver_*.test.ts) solve through: q = x, Q = (1 + eps)·I and chosen constraints. */
import * as tf from '@tensorflow/tfjs';
import * as nm from '../../src/index.js';

/** The constraints Gz ≤ h and Az = b (G and A row-major) of a layer with `n` units. */
export interface Constraints {
  n: number;
  G: number[];
  h: number[];
  A: number[];
  b: number[];
}

/** A layer with q = x (W = I, c = 0), Q = (1 + eps)·I (L = I · lScale) and the given constraints. */
export function layerWith(cs: Constraints, args: Partial<nm.layers.OptNetLayerArgs> = {}, lScale = 1): nm.layers.OptNetLayer {
  const { n, G, h, A, b } = cs;
  const m = h.length;
  const p = b.length;
  const layer = nm.layers.optNet({ units: n, inequalities: m, equalities: p, ...args });
  layer.apply(tf.input({ shape: [n] }));
  const eye = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  const w: tf.Tensor[] = [
    tf.tensor2d(eye, [n, n]),
    tf.zeros([n]),
    tf.tensor2d(
      eye.map((v) => v * lScale),
      [n, n],
    ),
  ];
  if (m > 0) w.push(tf.tensor2d(G, [m, n]), tf.tensor1d(h));
  if (p > 0) w.push(tf.tensor2d(A, [p, n]), tf.tensor1d(b));
  layer.setWeights(w);
  tf.dispose(w);
  return layer;
}
