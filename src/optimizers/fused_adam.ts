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
import { arenaBytes, type AdamCoefficients, type SparseKernels } from '../kernels/arena.js';
import { createJsKernels } from '../kernels/js_kernels.js';
import { createWasmKernels, wasmSimdSupported, type SparseExports } from '../kernels/wasm_kernels.js';
import { heapKernels } from '../backend/wasm_heap.js';
import { heapAdamStep, tensorAdamStep, type Slot } from './adam_steps.js';
import { ConfigError, checkKeys, checkNumber, fail } from '../utils/errors.js';
import { readView } from '../backend/host_view.js';

/** A named tensor, as tf.Optimizer's getWeights/setWeights/applyGradients take them. */
type NamedTensor = { name: string; tensor: tf.Tensor };

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

/**
 * Which kernels the fused path uses, for benchmarks and tests: 'auto' ('heap' on the
 * wasm backend, else 'wasm' when WebAssembly SIMD is available, else 'js'), 'heap' (the
 * kernel over tfjs-backend-wasm's own memory, updating weights and moments in place),
 * 'wasm' (the kernel over its own memory, one copy in and out per variable) or 'js'.
 */
export type FusedAdamKernels = 'auto' | 'heap' | 'wasm' | 'js';

/** The backends on which the update runs fused over typed arrays. */
const FUSED_BACKENDS: readonly string[] = ['cpu', 'wasm'];
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
export class FusedAdamOptimizer extends tf.Optimizer {
  static get className(): string {
    return 'FusedAdam';
  }

  /** Step size; may be changed between steps (e.g. by a schedule). */
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  /** beta1ᵗ⁺¹ and beta2ᵗ⁺¹ as f32, kept like tfjs' accBeta1/accBeta2 variables. */
  private accBeta1: number;
  private accBeta2: number;
  private slots: Slot[] = [];
  private storage: 'arrays' | 'tensors' = 'arrays';
  private kernels: SparseKernels | null = null;
  /** True when the slots' arrays are views of the wasm kernels' memory (with scratch). */
  private laidOut = false;
  private scratchW: Float32Array | null = null;
  private scratchG: Float32Array | null = null;
  /** True when the last step ran in place in the wasm heap. */
  private inHeap = false;
  /** Tensors handed out by getWeights(), disposed on the next getWeights/setWeights/dispose. */
  private handedOut: tf.Tensor[] = [];

  /**
   * @param kernels internal: the kernels of the fused path ('auto': wasm SIMD when available).
   */
  constructor(
    learningRate = 0.001,
    beta1 = 0.9,
    beta2 = 0.999,
    epsilon = 1e-7,
    private readonly prefer: FusedAdamKernels = 'auto',
  ) {
    super();
    checkArgs(learningRate, beta1, beta2, epsilon);
    if (!['auto', 'heap', 'wasm', 'js'].includes(prefer)) fail(WHERE, 'kernels', prefer, "'auto', 'heap', 'wasm' or 'js'");
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.accBeta1 = fround(beta1);
    this.accBeta2 = fround(beta2);
  }

  /** The kernels of the last fused step: 'wasm-heap' (in place in the wasm backend's memory), 'wasm-simd' or 'js'; null before the first. */
  get kernelName(): string | null {
    return this.inHeap ? 'wasm-heap' : (this.kernels?.name ?? null);
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const list = Array.isArray(variableGradients);
    const names = list ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const registered = tf.engine().registeredVariables;
    const variables = names.map((name) => {
      const value = registered[name];
      if (value == null) throw new ConfigError(`${WHERE}: no variable named '${name}' is registered (was it disposed?).`);
      if (value.dtype !== 'float32') {
        throw new ConfigError(`${WHERE}: variable '${name}' has dtype ${value.dtype}; the fused Adam updates float32 variables only.`);
      }
      return value;
    });
    variables.forEach((value, i) => {
      const slot = this.slots[i];
      if (slot == null) {
        this.slots[i] = { name: value.name, shape: value.shape.slice(), size: value.size, m: null, v: null, mVar: null, vVar: null };
        this.laidOut = false;
      } else if (slot.size !== value.size) {
        throw new ConfigError(
          `${WHERE}: variable ${i} ('${value.name}') has ${value.size} elements but the optimizer's state for position ${i} ('${slot.name}') has ${slot.size}; use one optimizer per list of variables.`,
        );
      }
    });
    const c: AdamCoefficients = {
      beta1: this.beta1,
      oneMinusBeta1: 1 - this.beta1,
      beta2: this.beta2,
      oneMinusBeta2: 1 - this.beta2,
      biasCorrection1: fround(1 - this.accBeta1),
      biasCorrection2: fround(1 - this.accBeta2),
      epsilon: this.epsilon,
      negLearningRate: -this.learningRate,
    };
    const heap = this.prefer === 'auto' || this.prefer === 'heap' ? heapKernels() : null;
    if (this.prefer === 'heap' && heap === null) {
      throw new ConfigError(`${WHERE}: kernels 'heap' need the wasm backend (active: '${tf.getBackend()}') with WebAssembly SIMD.`);
    }
    if (heap !== null) {
      // Moments as variables in the wasm heap, updated in place with the weights.
      this.toTensors();
      this.kernels = null;
      this.inHeap = true;
      variables.forEach((value, i) => {
        const grad = list ? variableGradients[i].tensor : variableGradients[names[i]];
        if (grad != null) this.heapStep(heap, this.slots[i], value, grad, c);
      });
    } else if (FUSED_BACKENDS.includes(tf.getBackend())) {
      this.inHeap = false;
      this.toArrays();
      variables.forEach((value, i) => {
        const grad = list ? variableGradients[i].tensor : variableGradients[names[i]];
        if (grad != null) this.fusedStep(this.slots[i], value, grad, c);
      });
    } else {
      this.inHeap = false;
      this.toTensors();
      variables.forEach((value, i) => {
        const grad = list ? variableGradients[i].tensor : variableGradients[names[i]];
        if (grad != null) this.tensorStep(this.slots[i], value, grad, c);
      });
    }
    this.accBeta1 = fround(this.accBeta1 * fround(this.beta1));
    this.accBeta2 = fround(this.accBeta2 * fround(this.beta2));
    this.incrementIterations();
  }

  /** One pass over typed arrays; the new weights go back with one assign. */
  private fusedStep(slot: Slot, value: tf.Variable, grad: tf.Tensor, c: AdamCoefficients): void {
    if (grad.size !== slot.size) fail(WHERE, `gradient of '${value.name}'`, grad.shape, `a tensor of ${slot.size} elements`);
    const k = this.kernels!;
    const n = slot.size;
    // The wasm backend copies the values of a new tensor into its heap, so scratch can
    // hold w there; the cpu backend keeps the array itself, so w must be fresh.
    const copiedByBackend = tf.getBackend() === 'wasm';
    let w: Float32Array, g: Float32Array;
    if (this.laidOut) {
      // wasm kernels: w and g are copied into the kernels' memory.
      w = this.scratchW!.subarray(0, n);
      g = this.scratchG!.subarray(0, n);
      w.set(readView(value));
      g.set(readView(grad));
    } else {
      // js kernels take any arrays: g is read where it is.
      if (copiedByBackend && (this.scratchW == null || this.scratchW.length < n)) this.scratchW = new Float32Array(n);
      w = copiedByBackend ? this.scratchW!.subarray(0, n) : new Float32Array(n);
      w.set(readView(value));
      g = readView(grad);
    }
    k.adamUpdate(w, g, slot.m!, slot.v!, c);
    const next = tf.tensor(copiedByBackend || !this.laidOut ? w : w.slice(), value.shape, 'float32');
    value.assign(next);
    next.dispose();
  }

  private heapStep(heap: SparseExports, slot: Slot, value: tf.Variable, grad: tf.Tensor, c: AdamCoefficients): void {
    if (grad.size !== slot.size) fail(WHERE, `gradient of '${value.name}'`, grad.shape, `a tensor of ${slot.size} elements`);
    heapAdamStep(heap, slot, value, grad, c);
  }

  private tensorStep(slot: Slot, value: tf.Variable, grad: tf.Tensor, c: AdamCoefficients): void {
    tensorAdamStep(slot, value, grad, c);
  }

  private pickKernels(): SparseKernels {
    if (this.kernels == null) {
      const wasm = this.prefer === 'wasm' || (this.prefer !== 'js' && wasmSimdSupported());
      if (wasm) {
        try {
          // A private instance: the shared singleton's arena is reset by every solve.
          this.kernels = createWasmKernels();
        } catch (err) {
          if (this.prefer === 'wasm') throw err;
        }
      }
      this.kernels ??= createJsKernels();
    }
    return this.kernels;
  }

  /** Moves every slot's moments into typed arrays (from tensors, or zeros) and lays them out for the kernels. */
  private toArrays(): void {
    const k = this.pickKernels();
    if (this.storage === 'tensors') {
      for (const s of this.slots) {
        if (s.mVar != null && s.vVar != null) {
          s.m = Float32Array.from(s.mVar.dataSync() as Float32Array);
          s.v = Float32Array.from(s.vVar.dataSync() as Float32Array);
          s.mVar.dispose();
          s.vVar.dispose();
          s.mVar = s.vVar = null;
        }
      }
      this.storage = 'arrays';
      this.laidOut = false;
    }
    if (k.name === 'js') {
      for (const s of this.slots) {
        s.m ??= new Float32Array(s.size);
        s.v ??= new Float32Array(s.size);
      }
      return;
    }
    if (this.laidOut) return;
    // Copy the moments out, reset the kernels' memory once for all of them plus
    // scratch for w and g, then copy them back into their new views.
    const saved = this.slots.map((s) => [s.m?.slice() ?? null, s.v?.slice() ?? null] as const);
    const maxSize = this.slots.reduce((a, s) => Math.max(a, s.size), 0);
    k.arena.reset(arenaBytes([...this.slots.flatMap((s) => [s.size, s.size]), maxSize, maxSize]));
    this.slots.forEach((s, i) => {
      s.m = k.arena.f32(s.size);
      s.v = k.arena.f32(s.size);
      if (saved[i][0]) s.m.set(saved[i][0]!);
      if (saved[i][1]) s.v.set(saved[i][1]!);
    });
    this.scratchW = k.arena.f32(maxSize);
    this.scratchG = k.arena.f32(maxSize);
    this.laidOut = true;
  }

  /** Moves every slot's moments into non-trainable variables (for the non-fused backends). */
  private toTensors(): void {
    for (const s of this.slots) {
      if (s.mVar == null || s.vVar == null) {
        const { m, v, shape } = s;
        // tidy disposes the initial values; the variables survive it.
        s.mVar = tf.tidy(() => tf.variable(m ? tf.tensor(Float32Array.from(m), shape) : tf.zeros(shape), false));
        s.vVar = tf.tidy(() => tf.variable(v ? tf.tensor(Float32Array.from(v), shape) : tf.zeros(shape), false));
        s.m = s.v = null;
      }
    }
    this.storage = 'tensors';
    this.laidOut = false;
  }

  private releaseHandedOut(): void {
    tf.dispose(this.handedOut);
    this.handedOut = [];
  }

  /** Frees the moments (typed arrays, tensors, the kernels' memory) and the tensors getWeights() handed out. */
  override dispose(): void {
    this.releaseHandedOut();
    for (const s of this.slots) tf.dispose([s.mVar, s.vVar].filter((t): t is tf.Variable => t != null));
    this.slots = [];
    this.kernels = null;
    this.scratchW = this.scratchG = null;
    this.laidOut = false;
    super.dispose();
  }

  /**
   * tfjs Adam's layout: `[iter, …every m (name '<variable>/m'), …every v ('<variable>/v')]`.
   * Caveat: the tensors are owned by the optimizer (valid until the next getWeights, setWeights or dispose).
   */
  override async getWeights(): Promise<NamedTensor[]> {
    this.releaseHandedOut();
    const iter = await this.saveIterations();
    const moment = (s: Slot, which: 'm' | 'v'): NamedTensor => {
      const held = which === 'm' ? s.mVar : s.vVar;
      const arr = which === 'm' ? s.m : s.v;
      const tensor = held != null ? held.clone() : arr != null ? tf.tensor(Float32Array.from(arr), s.shape) : tf.zeros(s.shape);
      return { name: `${s.name}/${which}`, tensor };
    };
    const out = [iter, ...this.slots.map((s) => moment(s, 'm')), ...this.slots.map((s) => moment(s, 'v'))];
    this.handedOut = out.map((w) => w.tensor);
    return out;
  }

  /** Restores state saved by getWeights() (of this class or of tfjs' Adam); the tensors are copied, not kept. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    if (rest.length % 2 !== 0) fail(WHERE, 'setWeights', rest.length, 'an even number of moment tensors after iter');
    this.releaseHandedOut();
    for (const s of this.slots) tf.dispose([s.mVar, s.vVar].filter((t): t is tf.Variable => t != null));
    const half = rest.length / 2;
    const slots: Slot[] = [];
    for (let i = 0; i < half; i++) {
      const mt = rest[i].tensor,
        vt = rest[half + i].tensor;
      if (mt.size !== vt.size) fail(WHERE, 'setWeights', [mt.shape, vt.shape], 'm and v of the same shape per variable');
      slots.push({
        name: rest[i].name.replace(/\/m$/, ''),
        shape: mt.shape.slice(),
        size: mt.size,
        m: Float32Array.from((await mt.data()) as Float32Array),
        v: Float32Array.from((await vt.data()) as Float32Array),
        mVar: null,
        vVar: null,
      });
    }
    this.slots = slots;
    this.storage = 'arrays';
    this.laidOut = false;
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
