/**
 * A fused Adam optimizer: tfjs' Adam update rule (AdamOptimizer, bias correction and
 * epsilon placement included), computed on the cpu and wasm backends in one pass over
 * typed arrays per variable (the WebAssembly SIMD kernel `adamUpdate` of
 * src/kernels/sparse.wat, or its bit-identical JS twin) instead of about ten
 * whole-tensor tfjs ops. On the wasm backend the kernel runs over tfjs' own memory
 * (the moments in place, the new weights into a fresh tensor; no copy in or out). On other
 * backends (webgl, tensorflow) it runs tfjs' own tensor ops.
 *
 * Every operation is rounded to f32 in tfjs' order, so on the cpu backend it gives
 * the same weights as `tf.train.adam` bit for bit (on wasm, within the rounding of
 * that backend's kernels).
 *
 * @example
 * model.compile({ optimizer: nm.optimizers.adam({ learningRate: 1e-3 }), loss: 'categoricalCrossentropy' });
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdamCoefficients } from '../kernels/catalog.js';
import type { SparseKernels } from '../kernels/sparse_kernels.js';
import type { SparseExports } from '../kernels/wasm_kernels.js';
import { heapAdamStep, tensorAdamStep } from './adam_steps.js';
import { FusedOptimizer, type FusedKernels, type Slot } from './fused_optimizer.js';
import { checkKeys, checkNumber, fail } from '../utils/errors.js';

/** Arguments of {@link adam}; the defaults are tfjs' (`tf.train.adam`) on the cpu and wasm backends. */
export interface FusedAdamArgs {
  /** Step size, > 0. Default: 0.001. */
  learningRate?: number;
  /** Decay of the first-moment estimate, in [0, 1). Default: 0.9. */
  beta1?: number;
  /** Decay of the second-moment estimate, in [0, 1). Default: 0.999. */
  beta2?: number;
  /** Added to sqrt(v̂) in the denominator, ≥ 0. Default: 1e-7 (tfjs' cpu/wasm backend epsilon). */
  epsilon?: number;
}

/** Which kernels the fused path uses, for benchmarks and tests (see {@link FusedKernels}). */
export type FusedAdamKernels = FusedKernels;

const fround = Math.fround;

const WHERE = 'optimizers.adam';

function checkArgs(learningRate: unknown, beta1: unknown, beta2: unknown, epsilon: unknown): void {
  checkNumber(WHERE, 'learningRate', learningRate, 0, Infinity, { lo: true });
  checkNumber(WHERE, 'beta1', beta1, 0, 1, { hi: true });
  checkNumber(WHERE, 'beta2', beta2, 0, 1, { hi: true });
  checkNumber(WHERE, 'epsilon', epsilon, 0, Infinity);
}

/**
 * tfjs' Adam, fused on the cpu and wasm backends (see the module comment). A
 * `tf.Optimizer`: use it in `model.compile({ optimizer })`, `minimize()`,
 * `applyGradients()`; serializable (className 'FusedAdam') with
 * `getWeights()`/`setWeights()` in tfjs Adam's layout (`iter`, every `…/m`, every
 * `…/v`), so `model.save(…, { includeOptimizer: true })` keeps its state.
 *
 * Caveats: float32 variables only. On the wasm backend the moments are non-trainable
 * variables (counted by `tf.memory()`). On the cpu backend the moments live in typed arrays owned by the
 * optimizer (2 × 4 bytes per weight), not in tensors. `dispose()` frees them. The tensors `getWeights()` returns are owned by the
 * optimizer and valid until the next `getWeights()`, `setWeights()` or `dispose()`.
 * Switching between a fused and a non-fused backend mid-training moves the state
 * (one copy) on the next step.
 *
 * @example
 * const opt = new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-7);
 * opt.minimize(() => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor) as tf.Scalar);
 */
export class FusedAdamOptimizer extends FusedOptimizer<AdamCoefficients> {
  static get className(): string {
    return 'FusedAdam';
  }

  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  /** beta1ᵗ⁺¹ and beta2ᵗ⁺¹ as f32, kept like tfjs' accBeta1/accBeta2 variables. */
  private accBeta1: number;
  private accBeta2: number;

  /**
   * @param kernels internal: the kernels of the fused path ('auto': in the wasm heap on wasm, else wasm SIMD when available).
   */
  constructor(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, kernels: FusedAdamKernels = 'auto') {
    super(WHERE, 'Adam', ['m', 'v'], kernels);
    checkArgs(learningRate, beta1, beta2, epsilon);
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.accBeta1 = fround(beta1);
    this.accBeta2 = fround(beta2);
  }

  protected coefficients(): AdamCoefficients {
    return {
      beta1: this.beta1,
      oneMinusBeta1: 1 - this.beta1,
      beta2: this.beta2,
      oneMinusBeta2: 1 - this.beta2,
      biasCorrection1: fround(1 - this.accBeta1),
      biasCorrection2: fround(1 - this.accBeta2),
      epsilon: this.epsilon,
      negLearningRate: -this.learningRate,
    };
  }

  protected arraysStep(k: SparseKernels, w: Float32Array, g: Float32Array, [m, v]: Float32Array[], c: AdamCoefficients): void {
    k.adamUpdate(w, g, m, v, c);
  }

  protected heapStep(heap: SparseExports, slot: Slot, value: tf.Variable, grad: tf.Tensor, c: AdamCoefficients): void {
    heapAdamStep(heap, slot, value, grad, c);
  }

  protected tensorStep(slot: Slot, value: tf.Variable, grad: tf.Tensor, c: AdamCoefficients): void {
    tensorAdamStep(slot, value, grad, c);
  }

  protected override afterStep(): void {
    this.accBeta1 = fround(this.accBeta1 * fround(this.beta1));
    this.accBeta2 = fround(this.accBeta2 * fround(this.beta2));
  }

  protected override afterRestore(): void {
    // tfjs: accBeta = pow(beta, iterations + 1), in f32.
    this.accBeta1 = fround(Math.pow(fround(this.beta1), this.iterations + 1));
    this.accBeta2 = fround(Math.pow(fround(this.beta2), this.iterations + 1));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    // Other keys (tfjs-layers adds 'customObjects') are ignored, as by tfjs' optimizers.
    if (config == null || typeof config !== 'object') fail(WHERE, 'config', config, 'an object { learningRate, beta1, beta2, epsilon }');
    return new cls(config.learningRate ?? 0.001, config.beta1 ?? 0.9, config.beta2 ?? 0.999, config.epsilon ?? 1e-7);
  }
}
tf.serialization.registerClass(FusedAdamOptimizer);

/**
 * tfjs' Adam (`tf.train.adam`: same update rule, bias correction and epsilon
 * placement), fused into one pass per variable on the cpu and wasm backends.
 * Throws a ConfigError for a bad or unknown argument.
 *
 * When to use: training on cpu or wasm where Adam on large weight matrices shows up
 * in the profile (NM(p = 3000): 9 M weights). On webgl/tensorflow it is tfjs' Adam.
 *
 * @example
 * model.compile({ optimizer: nm.optimizers.adam({ learningRate: 1e-3 }), loss: 'meanSquaredError' });
 */
export function adam(args: FusedAdamArgs = {}): FusedAdamOptimizer {
  if (args == null || typeof args !== 'object' || Array.isArray(args)) fail(WHERE, 'args', args, 'an object { learningRate?, beta1?, beta2?, epsilon? }');
  checkKeys(WHERE, args, ['learningRate', 'beta1', 'beta2', 'epsilon']);
  return new FusedAdamOptimizer(args.learningRate ?? 0.001, args.beta1 ?? 0.9, args.beta2 ?? 0.999, args.epsilon ?? 1e-7);
}
