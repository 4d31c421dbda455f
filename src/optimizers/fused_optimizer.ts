/**
 * What the fused optimizers (`nm.optimizers.adam`, `nm.optimizers.sgd`) share: the
 * per-variable state (typed arrays on the cpu backend and for the package's own wasm
 * kernels, non-trainable variables in the wasm heap and on the other backends), moving it
 * between those storages when the backend changes, choosing the kernels, getWeights /
 * setWeights in tfjs' layout (`iter`, then every variable's first state, then every
 * variable's second…) and dispose. A subclass supplies the update rule three ways: over
 * typed arrays, in the wasm heap and as tfjs tensor ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { arenaBytes } from '../kernels/arena.js';
import type { SparseKernels } from '../kernels/sparse_kernels.js';
import { createJsKernels } from '../kernels/js_kernels.js';
import { createWasmKernels, wasmSimdSupported, type SparseExports } from '../kernels/wasm_kernels.js';
import { heapKernels } from '../backend/wasm_heap.js';
import { readView } from '../tfjs_internals/host_view.js';
import { copiesOnUpload, isHostResident } from '../backend/capabilities.js';
import { checkNumber, ConfigError, fail } from '../utils/errors.js';

/** A named tensor, as tf.Optimizer's getWeights/setWeights/applyGradients take them. */
export type NamedTensor = { name: string; tensor: tf.Tensor };

/**
 * Which kernels the fused path uses, for benchmarks and tests: 'auto' ('heap' on the
 * wasm backend, else 'wasm' when WebAssembly SIMD is available, else 'js'), 'heap' (the
 * kernel over tfjs-backend-wasm's own memory, updating weights and state in place),
 * 'wasm' (the kernel over its own memory, one copy in and out per variable) or 'js'.
 */
export type FusedKernels = 'auto' | 'heap' | 'wasm' | 'js';

/** The optimizer's state for the i-th variable of applyGradients (tfjs keys it by position too). */
export interface Slot {
  /** The variable's name when the slot was made; the saved weights are `${name}/${stateName}`. */
  name: string;
  shape: number[];
  size: number;
  /** The state (Adam: m, v; momentum: the accumulation) as typed arrays (views of the kernels' memory once laid out), or null. */
  arrays: Array<Float32Array | null>;
  /** The state as non-trainable variables (the wasm heap, the other backends), or null. */
  vars: Array<tf.Variable | null>;
}

/**
 * A tf.Optimizer whose update runs fused on the cpu and wasm backends (see the module
 * comment); `C` is the scalars of one step, computed once per applyGradients.
 */
export abstract class FusedOptimizer<C> extends tf.Optimizer {
  protected slots: Slot[] = [];
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
  /** True once dispose() has run: the state is gone, so every later step throws. */
  private disposed = false;
  private learningRate_ = 0;

  /**
   * @param where the name in error messages ('optimizers.adam').
   * @param rule the update rule in error messages ('Adam').
   * @param stateNames the per-variable state, in getWeights order (['m', 'v']).
   * @param prefer the kernels of the fused path.
   */
  protected constructor(
    protected readonly where: string,
    private readonly rule: string,
    private readonly stateNames: readonly string[],
    private readonly prefer: FusedKernels,
  ) {
    super();
    if (!['auto', 'heap', 'wasm', 'js'].includes(prefer)) fail(where, 'kernels', prefer, "'auto', 'heap', 'wasm' or 'js'");
  }

  /**
   * Step size, read at every step, so a schedule may change it between steps (like
   * `tf.train.adam`'s field; checked: a finite number ≥ 0, 0 allowed for a warm-up).
   */
  get learningRate(): number {
    return this.learningRate_;
  }

  set learningRate(learningRate: number) {
    this.learningRate_ = checkNumber(this.where, 'learningRate', learningRate, 0, Infinity);
  }

  /** Changes the step size for the next steps, as tfjs' `SGDOptimizer.setLearningRate` (what learning-rate schedules call); see {@link learningRate}. */
  setLearningRate(learningRate: number): void {
    this.learningRate = learningRate;
  }

  /** The kernels of the last fused step: 'wasm-heap' (in place in the wasm backend's memory), 'wasm-simd' or 'js'; null before the first. */
  get kernelName(): string | null {
    return this.inHeap ? 'wasm-heap' : (this.kernels?.name ?? null);
  }

  /** The scalars of this step (read once per applyGradients). */
  protected abstract coefficients(): C;
  /** The update over typed arrays: w in place, `state` in place, g read. */
  protected abstract arraysStep(k: SparseKernels, w: Float32Array, g: Float32Array, state: Float32Array[], c: C): void;
  /** The update in the wasm heap (state in `slot.vars`). */
  protected abstract heapStep(heap: SparseExports, slot: Slot, value: tf.Variable, grad: tf.Tensor, c: C): void;
  /** The update as tfjs tensor ops (state in `slot.vars`). */
  protected abstract tensorStep(slot: Slot, value: tf.Variable, grad: tf.Tensor, c: C): void;
  /** Runs after every applyGradients, before the iteration count goes up. */
  protected afterStep(): void {}
  /** Runs after setWeights has restored the iterations and the state. */
  protected afterRestore(): void {}

  /** Throws once disposed: its state is gone, and starting over from zero moments while the step count goes on would be silently wrong. */
  private checkLive(call: string): void {
    if (this.disposed) {
      throw new ConfigError(
        `${this.where}: ${call} on an optimizer that was disposed (dispose() freed its state); create a new nm.${this.where}(…) to train on.`,
      );
    }
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    this.checkLive('applyGradients()');
    const where = this.where;
    const list = Array.isArray(variableGradients);
    const names = list ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const registered = tf.engine().registeredVariables;
    const variables = names.map((name) => {
      const value = registered[name];
      if (value == null) throw new ConfigError(`${where}: no variable named '${name}' is registered (was it disposed?).`);
      if (value.dtype !== 'float32') {
        throw new ConfigError(`${where}: variable '${name}' has dtype ${value.dtype}; the fused ${this.rule} updates float32 variables only.`);
      }
      return value;
    });
    const k = this.stateNames.length;
    variables.forEach((value, i) => {
      const slot = this.slots[i];
      if (slot == null) {
        this.slots[i] = { name: value.name, shape: value.shape.slice(), size: value.size, arrays: Array(k).fill(null), vars: Array(k).fill(null) };
        this.laidOut = false;
      } else if (slot.size !== value.size) {
        throw new ConfigError(
          `${where}: variable ${i} ('${value.name}') has ${value.size} elements but the optimizer's state for position ${i} ('${slot.name}') has ${slot.size}; use one optimizer per list of variables.`,
        );
      }
    });
    const c = this.coefficients();
    const heap = this.prefer === 'auto' || this.prefer === 'heap' ? heapKernels() : null;
    if (this.prefer === 'heap' && heap === null) {
      throw new ConfigError(`${where}: kernels 'heap' need the wasm backend (active: '${tf.getBackend()}') with WebAssembly SIMD.`);
    }
    const fused = heap === null && isHostResident();
    this.inHeap = heap !== null;
    if (fused) {
      this.toArrays();
    } else {
      // The heap: the state as variables in the wasm heap, updated in place with the weights.
      this.toTensors();
      if (heap !== null) this.dropKernels();
    }
    variables.forEach((value, i) => {
      const grad = list ? variableGradients[i].tensor : variableGradients[names[i]];
      if (grad == null) return;
      const slot = this.slots[i];
      if (heap === null && !fused) return this.tensorStep(slot, value, grad, c);
      if (grad.size !== slot.size) fail(where, `gradient of '${value.name}'`, grad.shape, `a tensor of ${slot.size} elements`);
      if (heap !== null) this.heapStep(heap, slot, value, grad, c);
      else this.fusedStep(slot, value, grad, c);
    });
    this.afterStep();
    this.incrementIterations();
  }

  /** One pass over typed arrays; the new weights go back with one assign. */
  private fusedStep(slot: Slot, value: tf.Variable, grad: tf.Tensor, c: C): void {
    const n = slot.size;
    // A backend that copies the values of a new tensor (wasm, into its heap) lets scratch
    // hold w; one that keeps the array itself (cpu) needs a fresh w.
    const copiedByBackend = copiesOnUpload();
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
    this.arraysStep(this.kernels!, w, g, slot.arrays as Float32Array[], c);
    const next = tf.tensor(copiedByBackend || !this.laidOut ? w : w.slice(), value.shape, 'float32');
    value.assign(next);
    next.dispose();
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

  /** Moves every slot's state into typed arrays (from tensors, or zeros) and lays them out for the kernels. */
  private toArrays(): void {
    const k = this.pickKernels();
    if (this.storage === 'tensors') {
      for (const s of this.slots) {
        s.vars.forEach((held, j) => {
          if (held == null) return;
          s.arrays[j] = Float32Array.from(held.dataSync() as Float32Array);
          held.dispose();
          s.vars[j] = null;
        });
      }
      this.storage = 'arrays';
      this.laidOut = false;
    }
    if (k.name === 'js') {
      for (const s of this.slots) s.arrays = s.arrays.map((a) => a ?? new Float32Array(s.size));
      return;
    }
    if (this.laidOut) return;
    // Copy the state out, reset the kernels' memory once for all of it plus scratch
    // for w and g, then copy it back into its new views.
    const saved = this.slots.map((s) => s.arrays.map((a) => a?.slice() ?? null));
    const maxSize = this.slots.reduce((a, s) => Math.max(a, s.size), 0);
    k.arena.reset(arenaBytes([...this.slots.flatMap((s) => s.arrays.map(() => s.size)), maxSize, maxSize]));
    this.slots.forEach((s, i) => {
      s.arrays = saved[i].map((old) => {
        const a = k.arena.f32(s.size);
        if (old) a.set(old);
        return a;
      });
    });
    this.scratchW = k.arena.f32(maxSize);
    this.scratchG = k.arena.f32(maxSize);
    this.laidOut = true;
  }

  /** Moves every slot's state into non-trainable variables (the wasm heap, the non-fused backends). */
  private toTensors(): void {
    for (const s of this.slots) {
      s.vars = s.vars.map((held, j) => {
        if (held != null) return held;
        const a = s.arrays[j];
        // tidy disposes the initial value; the variable survives it.
        return tf.tidy(() => tf.variable(a ? tf.tensor(Float32Array.from(a), s.shape) : tf.zeros(s.shape), false));
      });
      s.arrays = s.arrays.map(() => null);
    }
    this.storage = 'tensors';
    this.laidOut = false;
  }

  /** Disposes the handed-out tensors and every slot's variables. */
  private releaseState(): void {
    tf.dispose(this.handedOut);
    this.handedOut = [];
    for (const s of this.slots) tf.dispose(s.vars.filter((t): t is tf.Variable => t != null));
  }

  /** Lets go of the kernels and their memory (with kernel threads, the workers drop it too). */
  private dropKernels(): void {
    this.kernels?.release();
    this.kernels = null;
    this.scratchW = this.scratchG = null;
    this.laidOut = false;
  }

  /**
   * Frees the state (typed arrays, tensors, the kernels' memory, which kernel threads
   * let go of too) and the tensors getWeights() handed out. The optimizer cannot be
   * used afterwards: a step, getWeights() or setWeights() throws. A second call does nothing.
   */
  override dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.releaseState();
    this.slots = [];
    this.dropKernels();
    super.dispose();
  }

  /**
   * tfjs' layout: `[iter, …every first state ('<variable>/<name>'), …every second, …]`.
   * Caveat: the tensors are owned by the optimizer (valid until the next getWeights, setWeights or dispose).
   */
  override async getWeights(): Promise<NamedTensor[]> {
    this.checkLive('getWeights()');
    tf.dispose(this.handedOut);
    const iter = await this.saveIterations();
    const state = (s: Slot, j: number): NamedTensor => {
      const held = s.vars[j],
        arr = s.arrays[j];
      const tensor = held != null ? held.clone() : arr != null ? tf.tensor(Float32Array.from(arr), s.shape) : tf.zeros(s.shape);
      return { name: `${s.name}/${this.stateNames[j]}`, tensor };
    };
    const out = [iter, ...this.stateNames.flatMap((_, j) => this.slots.map((s) => state(s, j)))];
    this.handedOut = out.map((w) => w.tensor);
    return out;
  }

  /** Restores state saved by getWeights() (of this class or of the tfjs optimizer of the same rule); the tensors are copied, not kept. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    this.checkLive('setWeights()');
    const names = this.stateNames;
    const rest = await this.extractIterations(weightValues);
    if (rest.length % names.length !== 0) {
      fail(
        this.where,
        'setWeights',
        rest.length,
        `a multiple of ${names.length} state tensors after iter (${names.map((n) => `every …/${n}`).join(', then ')})`,
      );
    }
    this.releaseState();
    const count = rest.length / names.length;
    const slots: Slot[] = [];
    for (let i = 0; i < count; i++) {
      const tensors = names.map((_, j) => rest[j * count + i].tensor);
      if (tensors.some((t) => t.size !== tensors[0].size)) {
        fail(
          this.where,
          'setWeights',
          tensors.map((t) => t.shape),
          `${names.join(' and ')} of the same shape per variable`,
        );
      }
      const arrays: Float32Array[] = [];
      for (const t of tensors) arrays.push(Float32Array.from((await t.data()) as Float32Array));
      const name = rest[i].name.endsWith(`/${names[0]}`) ? rest[i].name.slice(0, -names[0].length - 1) : rest[i].name;
      slots.push({ name, shape: tensors[0].shape.slice(), size: tensors[0].size, arrays, vars: names.map(() => null) });
    }
    this.slots = slots;
    this.storage = 'arrays';
    this.laidOut = false;
    this.afterRestore();
  }
}
