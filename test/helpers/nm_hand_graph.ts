/**
 * A 10-node hand-built Neural Module graph with known modules, and float64
 * references (Floyd–Warshall hop distances, module sizes) written without the
 * package's graph code. Modules: {0,1,2}, {3}, {4,5}, {6}, {7,8}, {9}.
 */
import * as tf from '@tensorflow/tfjs';
import * as nm from '../../src/index.js';
import { setKernelAndGraph } from './nm_weights.js';
import { Random } from '../../src/utils/random.js';

export const P = 10;
export const N = 4;
// Strong edges: module {0,1,2}, 2→3, 3→4, module {4,5}, 6→0, module {7,8}, 5→9.
export const STRONG: Array<[number, number, number]> = [
  [0, 1, 0.45],
  [1, 2, -0.4],
  [2, 0, 0.5],
  [2, 3, 0.35],
  [3, 4, -0.3],
  [4, 5, 0.4],
  [5, 4, 0.42],
  [6, 0, -0.38],
  [7, 8, 0.5],
  [8, 7, -0.45],
  [5, 9, 0.33],
];
export const DENSITY = (STRONG.length - 0.5) / (P * (P - 1));
export const MODULE_SIZE = [3, 3, 3, 1, 2, 2, 1, 2, 2, 1];

export function rng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.next() * 2 - 1;
}

/** Hand graph: strong edges kept by the mask, weak ones (|w| ≤ 0.02) masked, random biases. */
export function handGraph(seed = 1): Float64Array {
  const rand = rng(seed);
  const w = new Float64Array(P * P);
  for (let j = 0; j < P; j++) for (let k = 0; k < P; k++) w[j * P + k] = j === k ? 0.3 * rand() : 0.02 * rand();
  for (const [j, k, v] of STRONG) w[j * P + k] = v;
  return w;
}

/** A built layer with the hand graph and a random input kernel. */
export function handLayer(args: Partial<nm.layers.NeuralModuleLayerArgs> = {}, seed = 1): nm.layers.NeuralModuleLayer {
  const layer = nm.layers.neuralModule({ units: P, density: DENSITY, solver: { method: 'anderson', tol: 1e-6, maxIter: 100 }, ...args });
  layer.build([null, N]);
  const rand = rng(seed + 100);
  const kernel = Float32Array.from({ length: N * P }, () => 0.6 * rand());
  setKernelAndGraph(layer, tf.tensor2d(kernel, [N, P]), tf.tensor2d(Float32Array.from(handGraph(seed)), [P, P]));
  return layer;
}

/** Floyd–Warshall hop distances from a 0/1 mask (Infinity when unreachable; 0 on the diagonal). */
export function floydWarshall(mask: ArrayLike<number>, p: number): Float64Array {
  const d = new Float64Array(p * p).fill(Infinity);
  for (let i = 0; i < p; i++) d[i * p + i] = 0;
  for (let i = 0; i < p * p; i++) if (mask[i] && Math.floor(i / p) !== i % p) d[i] = Math.min(d[i], 1);
  for (let k = 0; k < p; k++) {
    for (let i = 0; i < p; i++) {
      const dik = d[i * p + k];
      if (dik === Infinity) continue;
      for (let j = 0; j < p; j++) if (dik + d[k * p + j] < d[i * p + j]) d[i * p + j] = dik + d[k * p + j];
    }
  }
  return d;
}

/** Reference repulsion matrix R (mean 1 over its non-zero off-diagonal entries). */
export function refRepulsion(mask: ArrayLike<number>, z: ArrayLike<number>, p: number): Float64Array {
  const d = floydWarshall(mask, p);
  const r = new Float64Array(p * p);
  let sum = 0;
  let count = 0;
  for (let j = 0; j < p; j++) {
    for (let k = 0; k < p; k++) {
      if (j === k || d[k * p + j] === Infinity) continue;
      r[j * p + k] = (z[j] * z[k]) / (d[k * p + j] + 1);
      sum += r[j * p + k];
      count++;
    }
  }
  for (let i = 0; i < r.length; i++) r[i] *= count / sum;
  return r;
}

/** A small classification batch for fitting (n features, 3 classes). */
export function toyData(samples: number, n: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const rand = rng(seed);
  const xs = Array.from({ length: samples }, () => Array.from({ length: n }, () => rand()));
  const ys = xs.map((r) => (r[0] + r[1] > 0.3 ? 0 : r[2] > 0 ? 1 : 2));
  return { x: tf.tensor2d(xs), y: tf.oneHot(tf.tensor1d(ys, 'int32'), 3) as tf.Tensor2D };
}
