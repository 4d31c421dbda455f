/** What the fused-optimizer tests share: weight differences, seeded steps, small models, a backend without the fused path. */
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { expect } from 'vitest';
import { wasmSimdSupported } from '../../src/kernels/wasm_kernels.js';
import { useBackend } from './backends.js';

/** max |a − b| / max(|b|, 1e-3) over elements, and max |a − b|. */
export function diff(a: ArrayLike<number>, b: ArrayLike<number>): { rel: number; abs: number } {
  expect(a.length).toBe(b.length);
  let rel = 0,
    abs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    abs = Math.max(abs, d);
    rel = Math.max(rel, d / Math.max(Math.abs(b[i]), 1e-3));
  }
  return { rel, abs };
}

/** The worst differences seen, by key (printed by each test file at the end, for the change report). */
export function worstDifferences(): { worst: Record<string, { rel: number; abs: number }>; note: (key: string, d: { rel: number; abs: number }) => void } {
  const worst: Record<string, { rel: number; abs: number }> = {};
  const note = (key: string, d: { rel: number; abs: number }) => {
    const w = (worst[key] ??= { rel: 0, abs: 0 });
    w.rel = Math.max(w.rel, d.rel);
    w.abs = Math.max(w.abs, d.abs);
  };
  return { worst, note };
}

const KERNELS = wasmSimdSupported() ? (['wasm', 'js'] as const) : (['js'] as const);
/** The kernels each backend can run: 'heap' (in place in tfjs' memory) only on wasm. */
export const kernelsOn = (backend: string) => (backend === 'wasm' && wasmSimdSupported() ? (['heap', ...KERNELS] as const) : KERNELS);
/** The optimizers' kernelName for each choice of kernels. */
export const KERNEL_NAME = { heap: 'wasm-heap', wasm: 'wasm-simd', js: 'js' } as const;

/** Three seeded variables of odd sizes (SIMD tails). */
export function randomVariables(seed: number): tf.Variable[] {
  return [
    tf.variable(tf.randomNormal([7, 5], 0, 1, 'float32', seed)),
    tf.variable(tf.randomNormal([13], 0, 1, 'float32', seed + 1)),
    tf.variable(tf.randomNormal([33, 3], 0, 1, 'float32', seed + 2)),
  ];
}

/** Σ (w − target)³ / 3 + sin(w) over the variables: gradients of varied signs and magnitudes. */
export function cubicLoss(vars: tf.Variable[], target: tf.Tensor[]): () => tf.Scalar {
  return () => tf.addN(vars.map((v, i) => tf.sum(tf.add(tf.div(tf.pow(tf.sub(v, target[i]), 3), 3), tf.sin(v))))) as tf.Scalar;
}

/** The fixed targets of {@link cubicLoss} for `init`. */
export const targetsFor = (init: tf.Tensor[]): tf.Tensor[] => init.map((t, i) => tf.randomNormal(t.shape, 0, 1, 'float32', 100 + i));

/** N steps of `opt` on copies of `init` with the gradients of {@link cubicLoss}; returns the weights. */
export function runSteps(opt: tf.Optimizer, init: tf.Tensor[], steps: number): Float32Array[] {
  const vars = init.map((t) => tf.variable(t.clone()));
  const target = targetsFor(init);
  for (let s = 0; s < steps; s++) opt.minimize(cubicLoss(vars, target), false, vars);
  const out = vars.map((v) => Float32Array.from(v.dataSync()));
  tf.dispose([...vars, ...target]);
  return out;
}

/** A 6 → 12 (tanh) → 3 (softmax) dense model with seeded weights. */
export function denseModel(seed: number): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [6], units: 12, activation: 'tanh', kernelInitializer: tf.initializers.glorotNormal({ seed }) }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 1 }) }));
  return model;
}

/** Seeded inputs [n, 6] and one-hot labels [n, 3]. */
export function classificationData(n: number, seed: number): { x: tf.Tensor; y: tf.Tensor } {
  const x = tf.randomNormal([n, 6], 0, 1, 'float32', seed);
  const y = tf.oneHot(tf.randomUniform([n], 0, 3, 'int32', seed + 1) as tf.Tensor1D, 3);
  return { x, y };
}

/** Trains two copies of a model with model.fit, one with `ref`, one with `opt`; returns the float weights of each. */
export async function fitBoth(make: () => tf.Sequential, ref: tf.Optimizer, opt: tf.Optimizer): Promise<{ ref: Float32Array[]; fused: Float32Array[] }> {
  const { x, y } = classificationData(40, 11);
  const out: Float32Array[][] = [];
  for (const optimizer of [ref, opt]) {
    const model = make();
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    await model.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
    out.push(
      model
        .getWeights()
        .filter((w) => w.dtype === 'float32')
        .map((w) => Float32Array.from(w.dataSync())),
    );
    model.dispose();
    optimizer.dispose();
  }
  tf.dispose([x, y]);
  return { ref: out[0], fused: out[1] };
}

/** Saves `model` with its optimizer to memory and loads it back. */
export async function saveAndLoad(model: tf.LayersModel): Promise<tf.LayersModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
  return tf.loadLayersModel(tf.io.fromMemory(artifacts!));
}

/** The cpu kernels under another backend name, on which the fused optimizers take tfjs' tensor-op path. */
export const TENSOR_PATH_BACKEND = 'cpu-tensor-path';

/** Registers (once) and activates {@link TENSOR_PATH_BACKEND}. */
export async function useTensorPathBackend(): Promise<void> {
  if (tf.findBackend(TENSOR_PATH_BACKEND) == null) {
    tf.registerBackend(TENSOR_PATH_BACKEND, () => new MathBackendCPU());
    for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: TENSOR_PATH_BACKEND });
  }
  await useBackend(TENSOR_PATH_BACKEND);
}

/**
 * Six steps of `opt` alternating {@link TENSOR_PATH_BACKEND} (tfjs' ops) and cpu (fused),
 * then two on the tensor path: the weights must be `ref` (8 steps of tfjs' optimizer from
 * `init`) bit for bit, the steps leak nothing, and dispose() frees `statePerVariable`
 * variables per variable. Leaves {@link TENSOR_PATH_BACKEND} active.
 */
export async function expectTensorPathLikeTfjs(
  opt: tf.Optimizer,
  ref: Float32Array[],
  init: tf.Tensor[],
  statePerVariable: number,
  note: (key: string, d: { rel: number; abs: number }) => void,
): Promise<void> {
  const vars = init.map((t) => tf.variable(t.clone()));
  const target = targetsFor(init);
  const loss = cubicLoss(vars, target);
  for (let s = 0; s < 6; s++) {
    await useBackend(s % 2 === 0 ? TENSOR_PATH_BACKEND : 'cpu'); // alternate: tensor path, fused path
    opt.minimize(loss, false, vars);
  }
  await useBackend(TENSOR_PATH_BACKEND);
  opt.minimize(loss, false, vars); // moves the state into variables
  const before = tf.memory().numTensors;
  opt.minimize(loss, false, vars);
  expect(tf.memory().numTensors).toBe(before);
  vars.forEach((v, i) => {
    const d = diff(v.dataSync(), ref[i]);
    note('tensor path (alternating)', d);
    expect(d.abs).toBe(0);
  });
  opt.dispose();
  expect(tf.memory().numTensors).toBe(before - statePerVariable * vars.length);
  tf.dispose([...vars, ...target]);
}

/**
 * Six steps of `opt` on seeded variables: the first makes the state (`statePerVariable`
 * variables per variable on wasm, typed arrays on cpu), the others add no tensor, and
 * dispose() frees it all.
 */
export function expectNoLeaks(opt: tf.Optimizer, statePerVariable: number): void {
  const vars = randomVariables(20);
  const loss = () => tf.addN(vars.map((v) => tf.sum(tf.square(v)))) as tf.Scalar;
  const start = tf.memory().numTensors;
  opt.minimize(loss, false, vars);
  const before = tf.memory().numTensors;
  expect(before - start).toBe(tf.getBackend() === 'wasm' ? statePerVariable * vars.length : 0);
  for (let i = 0; i < 5; i++) opt.minimize(loss, false, vars);
  expect(tf.memory().numTensors).toBe(before);
  opt.dispose();
  expect(tf.memory().numTensors).toBe(start);
  tf.dispose(vars);
}
