/**
 * A fused SGD with momentum: tfjs' update rule (MomentumOptimizer, Nesterov included),
 * computed on the cpu and wasm backends in one pass over typed arrays per variable (the
 * WebAssembly SIMD kernel `momentumUpdate` of src/kernels/sparse.wat, or its
 * bit-identical JS twin) instead of four or six whole-tensor tfjs ops. On the wasm
 * backend the kernel runs over tfjs' own memory (the accumulation in place, the new
 * weights into a fresh tensor; no copy in or out). On other backends (webgl,
 * tensorflow) it runs tfjs' own tensor ops.
 *
 * Every operation is rounded to f32 in tfjs' order, so on the cpu backend it gives the
 * same weights as `tf.train.momentum` bit for bit (on wasm, within the rounding of that
 * backend's kernels).
 *
 * @example
 * model.compile({ optimizer: nm.optimizers.sgd({ learningRate: 0.1, momentum: 0.9 }), loss: 'categoricalCrossentropy' });
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MomentumCoefficients } from '../kernels/catalog.js';
import type { SparseKernels } from '../kernels/sparse_kernels.js';
import type { SparseExports } from '../kernels/wasm_kernels.js';
import { stepInHeap } from '../backend/wasm_heap.js';
import { FusedOptimizer, type FusedKernels, type Slot } from './fused_optimizer.js';
import { checkKeys, checkNumber, fail } from '../utils/errors.js';

/** Arguments of {@link sgd}; the defaults are Keras' `SGD` (tfjs' `tf.train.momentum` has none). */
export interface FusedMomentumArgs {
  /** Step size, > 0. Default: 0.01. */
  learningRate?: number;
  /**
   * Decay of the accumulated gradient, in [0, 1). Default: 0 (plain SGD: the weights are
   * then exactly `tf.train.sgd`'s; the accumulator is still kept, as by `tf.train.momentum`).
   */
  momentum?: number;
  /** Nesterov momentum: step along g + momentum·accumulation instead of the accumulation. Default: false. */
  useNesterov?: boolean;
}

const WHERE = 'optimizers.sgd';
const ARGS = ['learningRate', 'momentum', 'useNesterov'] as const;

function checkArgs(learningRate: unknown, momentum: unknown, useNesterov: unknown): void {
  checkNumber(WHERE, 'learningRate', learningRate, 0, Infinity, { lo: true });
  checkNumber(WHERE, 'momentum', momentum, 0, 1, { hi: true });
  if (typeof useNesterov !== 'boolean') fail(WHERE, 'useNesterov', useNesterov, 'a boolean');
}

/**
 * tfjs' SGD with momentum, fused on the cpu and wasm backends (see the module comment).
 * A `tf.Optimizer`: use it in `model.compile({ optimizer })`, `minimize()`,
 * `applyGradients()`; serializable (className 'FusedMomentum') with
 * `getWeights()`/`setWeights()` in tfjs MomentumOptimizer's layout (`iter`, every
 * `<variable>/momentum`), so `model.save(…, { includeOptimizer: true })` keeps its state
 * and the state of a `tf.train.momentum` loads into it.
 *
 * Caveats: float32 variables only. On the wasm backend the accumulations are
 * non-trainable variables (counted by `tf.memory()`); on the cpu backend they live in
 * typed arrays owned by the optimizer (4 bytes per weight), not in tensors, also with
 * momentum 0. `dispose()` frees them. The tensors `getWeights()` returns are owned by the
 * optimizer and valid until the next `getWeights()`, `setWeights()` or `dispose()`.
 * Switching between a fused and a non-fused backend mid-training moves the state (one
 * copy) on the next step.
 *
 * @example
 * const opt = new FusedMomentumOptimizer(0.1, 0.9, true);
 * opt.minimize(() => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor) as tf.Scalar);
 */
export class FusedMomentumOptimizer extends FusedOptimizer<MomentumCoefficients> {
  static get className(): string {
    return 'FusedMomentum';
  }

  private momentum_: number;
  readonly useNesterov: boolean;

  /**
   * @param kernels internal: the kernels of the fused path ('auto': in the wasm heap on wasm, else wasm SIMD when available).
   */
  constructor(learningRate = 0.01, momentum = 0, useNesterov = false, kernels: FusedKernels = 'auto') {
    super(WHERE, 'SGD with momentum', ['momentum'], kernels);
    checkArgs(learningRate, momentum, useNesterov);
    this.learningRate = learningRate;
    this.momentum_ = momentum;
    this.useNesterov = useNesterov;
  }

  /** Decay of the accumulated gradient, in [0, 1). */
  get momentum(): number {
    return this.momentum_;
  }

  /** Changes the momentum for the next steps (like tfjs' `setMomentum`); checked like the constructor's. */
  setMomentum(momentum: number): void {
    checkNumber(WHERE, 'momentum', momentum, 0, 1, { hi: true });
    this.momentum_ = momentum;
  }

  protected coefficients(): MomentumCoefficients {
    return { momentum: this.momentum_, negLearningRate: -this.learningRate, nesterov: this.useNesterov };
  }

  protected arraysStep(k: SparseKernels, w: Float32Array, g: Float32Array, [a]: Float32Array[], c: MomentumCoefficients): void {
    k.momentumUpdate(w, g, a, c);
  }

  /** One pass over w, g and the accumulation in the wasm heap ({@link stepInHeap}); tfjs' ops if that is not possible. */
  protected heapStep(heap: SparseExports, slot: Slot, value: tf.Variable, grad: tf.Tensor, c: MomentumCoefficients): void {
    const done = stepInHeap(value, grad, slot.vars as tf.Variable[], (w, g, [a], o) =>
      heap.momentumUpdate(w, g, a, slot.size, c.momentum, c.negLearningRate, c.nesterov ? 1 : 0, o),
    );
    if (!done) this.tensorStep(slot, value, grad, c);
  }

  /** tfjs MomentumOptimizer's tensor ops, with the same f32 scalars. */
  protected tensorStep(slot: Slot, value: tf.Variable, grad: tf.Tensor, c: MomentumCoefficients): void {
    tf.tidy(() => {
      const acc = slot.vars[0]!;
      const m = tf.scalar(c.momentum),
        nlr = tf.scalar(c.negLearningRate);
      const next = tf.add(tf.mul(m, acc), grad);
      const step = c.nesterov ? tf.add(grad, tf.mul(next, m)) : next;
      acc.assign(next);
      value.assign(tf.add(tf.mul(nlr, step), value));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, momentum: this.momentum_, useNesterov: this.useNesterov };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    // Other keys (tfjs-layers adds 'customObjects') are ignored, as by tfjs' optimizers.
    if (config == null || typeof config !== 'object') fail(WHERE, 'config', config, 'an object { learningRate, momentum, useNesterov }');
    return new cls(config.learningRate ?? 0.01, config.momentum ?? 0, config.useNesterov ?? false);
  }
}
tf.serialization.registerClass(FusedMomentumOptimizer);

/**
 * tfjs' SGD with momentum (`tf.train.momentum(learningRate, momentum, useNesterov)`:
 * the same update rule; with momentum 0 the same weights as `tf.train.sgd`), fused into
 * one pass per variable on the cpu and wasm backends. Throws a ConfigError for a bad or
 * unknown argument.
 *
 * When to use: SGD training on cpu or wasm where the optimizer's tensor ops on large
 * weight matrices show up in the profile. On webgl/tensorflow it is tfjs' momentum.
 *
 * @example
 * model.compile({ optimizer: nm.optimizers.sgd({ learningRate: 0.05, momentum: 0.9, useNesterov: true }), loss: 'meanSquaredError' });
 */
export function sgd(args: FusedMomentumArgs = {}): FusedMomentumOptimizer {
  if (args == null || typeof args !== 'object' || Array.isArray(args)) fail(WHERE, 'args', args, 'an object { learningRate?, momentum?, useNesterov? }');
  checkKeys(WHERE, args, ARGS);
  return new FusedMomentumOptimizer(args.learningRate ?? 0.01, args.momentum ?? 0, args.useNesterov ?? false);
}
