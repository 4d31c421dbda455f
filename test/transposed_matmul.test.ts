/**
 * `nm.backend.fastTransposedMatMul()`: the wrapped wasm kernels give the products of
 * the cpu backend for every transpose flag (plain and fused, batched), free their
 * temporaries, train a Dense model to the same gradients, and come off cleanly.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { useBackend } from './helpers/backends.js';
import { expectClose } from './helpers/close.js';
import { Random } from '../src/utils/random.js';

const rng = new Random(21);
const data = (shape: number[]) => Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());

/** Products of every flag combination (2-D and batched 3-D), plain and fused with bias + relu, on the active backend. */
function products(inputs: { a2: number[]; b2: number[]; a3: number[]; b3: number[]; bias: number[] }): number[][] {
  const out: number[][] = [];
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    tf.tidy(() => {
      const a = tf.tensor2d(inputs.a2, ta ? [7, 5] : [5, 7]);
      const b = tf.tensor2d(inputs.b2, tb ? [3, 7] : [7, 3]);
      out.push(Array.from(tf.matMul(a, b, ta, tb).dataSync()));
      out.push(Array.from(tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias: tf.tensor1d(inputs.bias), activation: 'relu' }).dataSync()));
      const a3 = tf.tensor3d(inputs.a3, ta ? [2, 7, 5] : [2, 5, 7]);
      const b3 = tf.tensor3d(inputs.b3, tb ? [2, 3, 7] : [2, 7, 3]);
      out.push(Array.from(tf.matMul(a3, b3, ta, tb).dataSync()));
    });
  }
  return out;
}

/** Gradients of a small Dense model's loss (the transposed products of its backward pass). */
const W1 = data([54]).map((v) => 0.3 * v);
const W2 = data([36]).map((v) => 0.3 * v);
function denseGrads(x: number[], y: number[]): number[][] {
  return tf.tidy(() => {
    const w1 = tf.tensor2d(W1, [6, 9]);
    const w2 = tf.tensor2d(W2, [9, 4]);
    const xs = tf.tensor2d(x, [11, 6]);
    const ys = tf.tensor2d(y, [11, 4]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.square(tf.sub(tf.matMul(tf.tanh(tf.matMul(xs, a)), b), ys))) as tf.Scalar);
    return g([w1, w2]).map((t) => Array.from(t.dataSync()));
  });
}

describe('fastTransposedMatMul on wasm', () => {
  const inputs = { a2: data([35]), b2: data([21]), a3: data([70]), b3: data([42]), bias: data([3]) };
  const x = data([66]);
  const y = data([44]);
  let reference: number[][];
  let referenceGrads: number[][];

  beforeAll(async () => {
    await useBackend('cpu');
    reference = products(inputs);
    referenceGrads = denseGrads(x, y);
    await useBackend('wasm');
  });
  afterAll(() => {
    nm.backend.fastTransposedMatMul({ enable: false });
  });

  it('gives the cpu products for every transpose flag, frees its temporaries, and restores the original kernels', () => {
    const original = tf.getKernel('BatchMatMul', 'wasm');
    expect(nm.backend.fastTransposedMatMul()).toBe(true);
    expect(tf.getKernel('BatchMatMul', 'wasm')).not.toBe(original);
    expect(nm.backend.fastTransposedMatMul()).toBe(true); // idempotent
    const before = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    const got = products(inputs);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    got.forEach((g, i) => expectClose(g, reference[i], { atol: 1e-5, rtol: 1e-5 }, `product ${i}`));
    const grads = denseGrads(x, y);
    grads.forEach((g, i) => expectClose(g, referenceGrads[i], { atol: 1e-5, rtol: 1e-5 }, `gradient ${i}`));
    expect(nm.backend.fastTransposedMatMul({ enable: false })).toBe(false);
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(original);
  });

  it('reports false for a backend without the kernels, and rejects bad options by name', () => {
    expect(nm.backend.fastTransposedMatMul({ backend: 'no-such-backend' })).toBe(false);
    expect(() => nm.backend.fastTransposedMatMul({ enable: 'yes' as unknown as boolean })).toThrow(/'enable' must be true or false; received "yes"/);
    expect(() => nm.backend.fastTransposedMatMul({ speed: 2 } as never)).toThrow(/speed/);
  });
});

describe('fastTransposedMatMul with inner dimension 0', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });
  afterAll(() => {
    nm.backend.fastTransposedMatMul({ enable: false });
  });

  /** Leaves freed wasm heap blocks full of 7.5, so an output that is never written shows up as 7.5s. */
  function dirtyHeap(): void {
    for (const n of [12, 24, 48, 4096]) {
      const junk = tf.fill([n], 7.5);
      junk.dataSync();
      junk.dispose();
    }
  }

  it('gives zeros for every transpose flag, 2-D and batched, and the bias and activation when fused', () => {
    expect(nm.backend.fastTransposedMatMul()).toBe(true);
    const before = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    const bias = [0.5, -1, 2, -3];
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const flags = `transposeA ${ta}, transposeB ${tb}`;
      for (const batch of [[], [2]]) {
        tf.tidy(() => {
          const a = tf.zeros([...batch, ...(ta ? [0, 3] : [3, 0])]);
          const b = tf.zeros([...batch, ...(tb ? [4, 0] : [0, 4])]);
          dirtyHeap();
          const product = tf.matMul(a, b, ta, tb);
          expect(product.shape, flags).toEqual([...batch, 3, 4]);
          expect(Array.from(product.dataSync()), `${flags}, batch [${batch}]`).toEqual(new Array(product.size).fill(0));
          dirtyHeap();
          // tfjs-wasm adds a bias to the first row of each batch entry only (whatever the inner
          // dimension), so batched fused products are checked without one.
          const withBias = batch.length === 0;
          const fused = tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias: withBias ? tf.tensor1d(bias) : undefined, activation: 'relu' });
          const row = withBias ? bias.map((v) => Math.max(v, 0)) : [0, 0, 0, 0];
          expect(Array.from(fused.dataSync()), `fused, ${flags}, batch [${batch}]`).toEqual(new Array(fused.size / 4).fill(row).flat());
        });
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
  });
});
