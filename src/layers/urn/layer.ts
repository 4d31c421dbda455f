/**
 * The Unstructured Recursive Network (URN) layer: S neurons, one dense S×S weight
 * matrix applied I times, input in the first d_in neurons, output read from the last
 * d_out (Golkar, "Emergent Structures and Lifetime Structure Evolution in Artificial
 * Neural Networks", eqs. 2–9; shared/DESIGN.md §3).
 */
import * as tf from '@tensorflow/tfjs-core';
import { layers, regularizers, type LayerVariable } from '@tensorflow/tfjs-layers';
import type { Kwargs, Shape } from '../../utils/tfjs_types.js';
import { ConfigError, fail, show } from '../../utils/errors.js';
import { serializeObject } from '../../utils/serialization.js';
import { resolveURNArgs, type ResolvedURNArgs, type URNLayerArgs } from './args.js';
import { urnForward, type URNSpec } from './forward.js';

export type { URNLayerArgs } from './args.js';

/**
 * A URN layer. Input `[batch, d_in]` (d_in ≤ S − d_out), output `[batch, d_out]`:
 * `N⁽⁰⁾ = [u, 0, …, 0]`, then I times `N⁽ˡ⁺¹⁾ = φ(N⁽ˡ⁾·W + b)` (eq. 3) or its residual
 * variants (eqs. 6, 7), output = the last d_out neurons of `N⁽ᴵ⁾`.
 * `getWeights()` order: `[kernel (S × S), bias (S)]`, with `kernel[j, k]` the synapse
 * from neuron j to neuron k (the transpose of the paper's `W_ij`).
 *
 * When to use: to let the network choose its own depth, width and connectivity, and
 * to study the emergent structure with `nm.analysis.emergentStructure`.
 *
 * Loss terms (eq. 5, 9), all reaching `model.fit`'s loss through the layer's
 * `losses` (tfjs-layers adds `calculateLosses()` to the task loss inside the gradient
 * tape, so their gradients are exact):
 * - `weightL1` c_W: the kernel's regularizer (`tf.regularizers.l1`), `c_W·Σ|W|`.
 * - `activityL1` c_N: `c_N·Σ_{l=1..I} Σ_i |N_i⁽ˡ⁾|`, averaged over the batch.
 *   tfjs-layers refuses activity regularizers, and `addLoss` takes closures, not
 *   per-call values, so a training-mode `call()` computes the term inside the same
 *   tape as the output and parks the scalar; one loss closure registered at build
 *   time hands it over (and clears it) when `calculateLosses()` runs. Its gradient is
 *   the full back-propagation through all I iterations.
 * - `synapticLength`: a {@link SynapticLengthRegularizer} on the kernel.
 *
 * Caveats: the activity term is recorded only on training-mode calls (`model.fit`,
 * or `layer.apply(x, { training: true })` followed by `layer.calculateLosses()`);
 * `model.evaluate` reports the task loss only, as for every tfjs regularizer. The
 * forward costs I dense `[batch, S] × [S, S]` products, so S of a few hundred suits
 * the cpu/wasm backends (S = 5000 as in the paper needs a GPU).
 *
 * @example
 * ```ts
 * const model = tf.sequential();
 * model.add(nm.layers.urn({ inputShape: [10], neurons: 300, iterations: 4, outputUnits: 2,
 *   weightL1: 5e-6, activityL1: 2e-4 }));
 * model.add(tf.layers.activation({ activation: 'softmax' }));
 * ```
 */
export class URNLayer extends layers.Layer {
  static className = 'URN';
  /** The resolved arguments. */
  readonly resolved: ResolvedURNArgs;
  /** d_in, known once built (0 before). */
  inputUnits = 0;
  private kernel: LayerVariable | null = null;
  private bias: LayerVariable | null = null;
  private pendingActivity: tf.Scalar | null = null;
  private pendingTape: unknown = null;

  constructor(args: URNLayerArgs) {
    const resolved = resolveURNArgs(args);
    super(args);
    this.resolved = resolved;
  }

  /** The structural hyper-parameters (S, I, d_out, φ, residual mode). */
  get spec(): URNSpec {
    const r = this.resolved;
    return { neurons: r.neurons, iterations: r.iterations, outputUnits: r.outputUnits, activation: r.activation, residual: r.residual };
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    if (shape.length !== 2) fail('urn', 'input shape', shape, 'a rank-2 shape [batch, d_in]');
    const dIn = shape[1];
    if (dIn == null || dIn < 1) fail('urn', 'input shape', shape, 'a known input width d_in ≥ 1');
    const { neurons: S, outputUnits: dOut, weightL1, activityL1, synapticLength } = this.resolved;
    if (dIn > S - dOut) {
      throw new ConfigError(
        `urn: 'neurons' must be at least d_in + outputUnits = ${dIn} + ${dOut} = ${dIn + dOut} for an input of width ${dIn}; received ${S}. ` +
          'The input occupies the first d_in neurons and the output the last d_out; they may not overlap.',
      );
    }
    this.inputUnits = dIn;
    const l1 = weightL1 > 0 ? regularizers.l1({ l1: weightL1 }) : undefined;
    this.kernel = this.addWeight('kernel', [S, S], 'float32', this.resolved.kernelInitializer, l1, true);
    this.bias = this.addWeight('bias', [S], 'float32', this.resolved.biasInitializer, undefined, true);
    if (synapticLength != null) this.addLoss(() => synapticLength.apply(this.kernel!.read()));
    if (activityL1 > 0) this.addLoss(() => this.takeActivityLoss());
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [shape[0], this.resolved.outputUnits];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
    if (x.rank !== 2 || x.shape[1] !== this.inputUnits) {
      fail('urn', 'input', `a tensor of shape ${show(x.shape)}`, `of shape [batch, ${this.inputUnits}]`);
    }
    const wantActivity = kwargs?.['training'] === true && this.resolved.activityL1 > 0;
    const kernel = this.kernel!.read() as tf.Tensor2D;
    const bias = this.bias!.read() as tf.Tensor1D;
    const result = tf.tidy(() => {
      const r = urnForward(x, kernel, bias, this.spec, { activity: wantActivity });
      return wantActivity ? [r.output, tf.mul(r.activity!, tf.scalar(this.resolved.activityL1))] : [r.output];
    });
    if (wantActivity) this.parkActivity(result[1] as tf.Scalar);
    return result[0];
  }

  /**
   * `c_N·Σ_{l=1..I} |N⁽ˡ⁾|₁` averaged over the batch, for the given inputs (eager,
   * no gradient): the value the activity term adds to the training loss.
   */
  activityPenalty(inputs: tf.Tensor2D): number {
    this.assertBuilt();
    return tf.tidy(() => {
      const r = urnForward(inputs, this.kernel!.read() as tf.Tensor2D, this.bias!.read() as tf.Tensor1D, this.spec, { activity: true });
      return r.activity!.dataSync()[0] * this.resolved.activityL1;
    });
  }

  /** `N⁽⁰⁾ … N⁽ᴵ⁾` (each `[batch, S]`) for the given inputs. The caller disposes them. */
  states(inputs: tf.Tensor2D): tf.Tensor2D[] {
    this.assertBuilt();
    return tf.tidy(() => urnForward(inputs, this.kernel!.read() as tf.Tensor2D, this.bias!.read() as tf.Tensor1D, this.spec, { states: true }).states);
  }

  override getConfig(): tf.serialization.ConfigDict {
    const r = this.resolved;
    const config: tf.serialization.ConfigDict = {
      neurons: r.neurons,
      iterations: r.iterations,
      outputUnits: r.outputUnits,
      activation: r.activation,
      residual: r.residual,
      weightL1: r.weightL1,
      activityL1: r.activityL1,
      synapticLength: serializeObject(r.synapticLength) as unknown as tf.serialization.ConfigDictValue,
      kernelInitializer: serializeObject(r.kernelInitializer) as unknown as tf.serialization.ConfigDictValue,
      biasInitializer: serializeObject(r.biasInitializer) as unknown as tf.serialization.ConfigDictValue,
    };
    return { ...config, ...super.getConfig() };
  }

  override dispose() {
    const result = super.dispose();
    if (result.refCountAfterDispose === 0) {
      this.dropPending();
      if (this.resolved.ownsSynapticLength) this.resolved.synapticLength?.dispose();
    }
    return result;
  }

  /**
   * Keeps the activity term of a training-mode call until `calculateLosses()` takes it.
   * Calls inside the same gradient tape (a layer shared within one model) add up;
   * a value left over from an earlier tape or an eager call is discarded.
   */
  private parkActivity(value: tf.Scalar): void {
    const tape = tf.engine().state.activeTape ?? null;
    const p = this.pendingActivity;
    if (p != null && !p.isDisposed && tape != null && tape === this.pendingTape) {
      this.pendingActivity = tf.add(p, value) as tf.Scalar;
    } else {
      this.dropPending();
      this.pendingActivity = value;
      this.pendingTape = tape;
    }
  }

  private takeActivityLoss(): tf.Scalar {
    const p = this.pendingActivity;
    this.pendingActivity = null;
    this.pendingTape = null;
    return p != null && !p.isDisposed ? p : tf.scalar(0);
  }

  private dropPending(): void {
    if (this.pendingActivity != null && !this.pendingActivity.isDisposed && this.pendingTape == null) this.pendingActivity.dispose();
    this.pendingActivity = null;
    this.pendingTape = null;
  }

  private assertBuilt(): void {
    if (!this.built || this.kernel == null) {
      throw new ConfigError("urn: the layer is not built yet; call it once (or add it to a model with an 'inputShape') first.");
    }
  }
}
tf.serialization.registerClass(URNLayer);

/**
 * Creates a {@link URNLayer} (Golkar, "Emergent Structures and Lifetime Structure
 * Evolution in Artificial Neural Networks").
 * @example nm.layers.urn({ inputShape: [64], neurons: 300, iterations: 4, outputUnits: 10, residual: 'output' })
 */
export function urn(args: URNLayerArgs): URNLayer {
  return new URNLayer(args);
}
