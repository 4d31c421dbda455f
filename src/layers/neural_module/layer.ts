/**
 * The Neural Module layer: a hidden layer of p nodes on a complete directed graph
 * with learnable edges, whose values solve x = z + f(x)·A (DESIGN.md §1; Neural
 * Modules, neural-modules-v3/v4). Solved module by module (SCCs of the masked
 * graph, level by level), differentiated implicitly; every edge gets a gradient.
 *
 * The kept-edge mask is layer state: it is chosen from the graph weights at each
 * re-partition (`repartition()`, the `modulePartition` callback), stored in the
 * non-trainable weight `keptEdges`, and restored — not re-derived — by `setWeights`
 * and model loading, so a saved model computes exactly what the trained one did.
 *
 * @example
 * const model = tf.sequential();
 * model.add(nm.layers.neuralModule({ inputShape: [64], units: 100, density: 0.05 }));
 * model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
 */
import * as tf from '@tensorflow/tfjs-core';
import { initializers, layers, type LayerVariable } from '@tensorflow/tfjs-layers';
import { ContractiveConstraint } from '../../constraints/contractive.js';
import { neuralModuleOp, type OpConstants } from './engine/op.js';
import { Partition, type ModuleStructure } from './partition.js';
import { selectEngine } from './engine/engine_registry.js';
import { emptyStats, type LayerSolveStats } from './engine/stats.js';
import type { EngineName } from './engine/engine_types.js';
import { keptEdgeCount, magnitudeMask, maskFromIndices, maskIndices, type EdgeMask } from '../../graph/mask.js';
import { spectralNormEstimate } from '../../graph/spectral.js';
import { ConfigError, NonFiniteError, show } from '../../utils/errors.js';
import { serializeObject } from '../../utils/serialization.js';
import { isProximal } from '../../regularizers/proximal.js';
import { trackCallPhases } from '../../tfjs_internals/call_phase.js';
import { onVariableWrite } from '../../tfjs_internals/variable_write.js';
import { resolveNeuralModuleArgs, STATE_VERSION, type NeuralModuleLayerArgs, type ResolvedNeuralModuleArgs } from './args.js';
import { SolveReport, type SolveCounters } from './report.js';
import { nodeActivation, type NodeActivation } from '../../activations/index.js';

type Shape = Array<number | null>;
export type { SolveCounters };
export type { ModuleStructure };

export class NeuralModuleLayer extends layers.Layer {
  static className = 'NeuralModule';
  /** The resolved options (read-only). */
  readonly options: ResolvedNeuralModuleArgs;
  private readonly act: NodeActivation;
  private inputKernel: LayerVariable | null = null;
  private graph: LayerVariable | null = null;
  private keptEdges: LayerVariable | null = null;
  private stateVersion: number;
  private partition: Partition | null = null;
  /** What the partition must be rebuilt from before the next call. */
  private stale: 'none' | 'state' | 'weights' = 'none';
  private writingState = false;
  private structureInfo: ModuleStructure | null = null;
  private consts: OpConstants | null = null;
  private rescales = 0;
  private readonly report: SolveReport;
  private readonly partitionListeners: Array<(layer: NeuralModuleLayer) => void> = [];

  constructor(args: NeuralModuleLayerArgs) {
    const options = resolveNeuralModuleArgs(args);
    super(args);
    this.options = options;
    this.stateVersion = options.stateVersion;
    this.act = nodeActivation(options.activation);
    this.report = new SolveReport(() => this.where(), options.onNonConvergence, { forward: options.solver, backward: options.backwardSolver });
    trackCallPhases();
  }

  /** Configs without `stateVersion` were saved before the mask was state (version 1). */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls({ ...config, stateVersion: config.stateVersion ?? 1 });
  }

  private where(): string {
    return `NeuralModule '${this.name}'`;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    if (shape.length !== 2 || shape[1] == null) {
      throw new ConfigError(
        `${this.where()}: input must have rank 2, [batch, features] with a known feature size; received shape ${show(shape)}. ${this.rankAdvice(shape)}`,
      );
    }
    const o = this.options;
    const p = o.units;
    this.inputKernel = this.addWeight('inputKernel', [shape[1], p], 'float32', o.inputInitializer, o.inputRegularizer ?? undefined, true);
    this.graph = this.addWeight('graph', [p, p], 'float32', o.graphInitializer, o.graphRegularizer ?? undefined, true);
    // Version 1 (no saved mask): a write of the graph means the mask must be re-derived.
    onVariableWrite(this.graph, () => {
      if (this.stateVersion < 2) this.stale = 'weights';
    });
    if (this.stateVersion >= 2) this.addMaskState();
    // Kept: build usually runs inside the first call's tidy.
    const eye = tf.keep(tf.eye(p) as tf.Tensor2D);
    this.consts = {
      diagIndex: tf.keep(
        tf.tensor1d(
          Int32Array.from({ length: p }, (_, j) => j * (p + 1)),
          'int32',
        ),
      ),
      eye,
      upper: o.topology === 'dag' ? tf.keep(tf.tidy(() => tf.linalg.bandPart(tf.sub(1, eye), 0, -1) as tf.Tensor2D)) : null,
      topology: o.topology,
    };
    const reg = o.graphRegularizer as unknown as { attachLayer?: (l: NeuralModuleLayer) => void } | null;
    reg?.attachLayer?.(this);
    this.built = true;
    this.repartition();
  }

  /**
   * How to feed an input of the wrong rank. A sequence `[batch, time, features]` goes
   * through `tf.layers.timeDistributed` (one shared layer solved at every step): flattening
   * it would mix the time steps into one feature vector.
   */
  private rankAdvice(shape: Shape): string {
    const wrapped = `tf.layers.timeDistributed({ layer: nm.layers.neuralModule({ units: ${this.options.units}, ... }) })`;
    if (shape.length === 3) {
      return `For a sequence [batch, time, features], apply the layer at every time step: ${wrapped}. Do not flatten it (tf.layers.flatten would mix the time steps).`;
    }
    if (shape.length > 3) {
      return `Flatten it first (tf.layers.flatten), or for a sequence reshape it to [batch, time, features] (tf.layers.reshape) and use ${wrapped}.`;
    }
    return shape.length === 2 ? 'Give the input a known feature size (inputShape: [features]).' : 'Give it a batch axis: [batch, features].';
  }

  /** Size of the `keptEdges` state weight: K = ceil(ρ·candidates), at least 1. */
  keptEdgeCapacity(): number {
    return Math.max(1, this.keptEdgeTarget());
  }

  private addMaskState(): void {
    this.keptEdges = this.addWeight('keptEdges', [this.keptEdgeCapacity()], 'int32', initializers.zeros(), undefined, false);
    onVariableWrite(this.keptEdges, () => {
      if (!this.writingState) this.stale = 'state';
    });
    this.stateVersion = STATE_VERSION;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [shape[0], this.options.units];
  }

  /**
   * Chooses the mask from the current graph weights (after applying `graphConstraint`),
   * rebuilds modules and schedule, and stores the mask in the layer state. The only
   * way the mask changes; called by `build` and by the `modulePartition` callback.
   */
  repartition(): ModuleStructure {
    if (!this.graph || !this.consts) throw new ConfigError(`${this.where()}: repartition() needs a built layer; call the model (or layer.build) first.`);
    const { units: p, density, topology, graphConstraint } = this.options;
    let w = this.graph.read().dataSync().slice() as Float32Array;
    let changed = false;
    // When the projection leaves w as it is, its mask and spectral norm are those of the new partition.
    let unchanged: { mask: EdgeMask; spectralNorm: number } | null = null;
    if (graphConstraint instanceof ContractiveConstraint) {
      const before = magnitudeMask(w, p, density, topology);
      const projection = graphConstraint.project(w, before, this.act.lipschitz);
      changed = projection.scale !== 1;
      if (!changed) unchanged = { mask: before, spectralNorm: projection.spectralNorm };
    } else if (graphConstraint) {
      const projected = tf.tidy(() => graphConstraint.apply(this.graph!.read()));
      w = projected.dataSync().slice() as Float32Array;
      projected.dispose();
      changed = true;
    }
    if (changed) {
      const t = tf.tensor2d(w, [p, p]);
      this.graph.write(t);
      t.dispose();
      this.rescales++;
    }
    const mask = unchanged?.mask ?? magnitudeMask(w, p, density, topology);
    if (this.keptEdges) {
      const t = tf.tensor1d(maskIndices(mask, this.keptEdgeCapacity()), 'int32');
      this.writingState = true;
      try {
        this.keptEdges.write(t);
      } finally {
        this.writingState = false;
        t.dispose();
      }
    }
    this.install(mask, w, unchanged?.spectralNorm);
    return this.structure();
  }

  /** Rebuilds the partition from the saved kept-edge state (after setWeights or loading). */
  private restore(): void {
    const p = this.options.units;
    const w = this.graph!.read().dataSync() as Float32Array;
    const mask = maskFromIndices(this.keptEdges!.read().dataSync(), p, this.options.topology, w);
    if (typeof mask === 'string') {
      throw new ConfigError(
        `${this.where()}: the saved kept-edge mask (weight 'keptEdges') is not valid for ${p} units and topology '${this.options.topology}': ${mask}. Was it saved by another layer? Call repartition() to choose a new mask from the graph.`,
      );
    }
    this.install(mask, w);
  }

  private install(mask: EdgeMask, w: Float32Array, spectralNorm = spectralNormEstimate(w, mask)): void {
    const next = new Partition(mask);
    this.partition?.dispose();
    this.partition = next;
    this.stale = 'none';
    const p = this.options.units;
    const candidates = this.options.topology === 'dag' ? (p * (p - 1)) / 2 : p * (p - 1);
    this.structureInfo = next.describe(candidates, spectralNorm, this.rescales);
    for (const listener of this.partitionListeners) listener(this);
  }

  private ensurePartition(): Partition {
    if (!this.built || !this.graph) throw new ConfigError(`${this.where()}: the layer is not built yet; call the model (or layer.apply) first.`);
    if (this.stale === 'state') this.restore();
    if (this.stale === 'weights') {
      console.warn(
        `${this.where()}: this layer was saved without its kept-edge mask (a model saved by tfjs-neural-modules 0.1); the mask is re-derived from the loaded graph weights, so predictions can differ from the trained model's. ` +
          'From now on the mask is part of the layer state: save the model again to keep it.',
      );
      this.addMaskState();
      this.repartition();
    }
    return this.partition!;
  }

  /**
   * Registers a function called after every change of the partition (regularizers that
   * read the partition use this; they are attached in `build`). Returns an unsubscribe.
   */
  addPartitionListener(listener: (layer: NeuralModuleLayer) => void): () => void {
    this.partitionListeners.push(listener);
    return () => {
      const i = this.partitionListeners.indexOf(listener);
      if (i >= 0) this.partitionListeners.splice(i, 1);
    };
  }

  /** The current kept-edge set (CSR, mask, γ) of the partition. Do not mutate. */
  edges(): EdgeMask {
    return this.ensurePartition().mask;
  }

  /** The current graph weights as a row-major p×p array (a copy). */
  graphValues(): Float32Array {
    if (!this.graph) throw new ConfigError(`${this.where()}: the layer is not built yet.`);
    return this.graph.read().dataSync().slice() as Float32Array;
  }

  /** True when the graph regularizer is in proximal mode (`proximal: true`). */
  hasProximalRegularizer(): boolean {
    return isProximal(this.options.graphRegularizer);
  }

  /**
   * Applies the graph regularizer's decoupled proximal step with learning rate η (for
   * regularizers created with `proximal: true`; the `modulePartition` callback calls it
   * after every batch). The mask is not changed until the next re-partition. Returns
   * false, doing nothing, when the regularizer is not in proximal mode.
   */
  proximalStep(learningRate: number): boolean {
    const reg = this.options.graphRegularizer;
    if (!isProximal(reg)) return false;
    const p = this.options.units;
    const w = this.graphValues();
    reg.proximalStep(w, p, learningRate);
    const t = tf.tensor2d(w, [p, p]);
    this.graph!.write(t);
    t.dispose();
    return true;
  }

  /** The module structure of the current partition (copies; safe to keep). */
  structure(): ModuleStructure {
    this.ensurePartition();
    const s = this.structureInfo!;
    return { ...s, modules: s.modules.map((m) => m.slice()), levels: s.levels.map((l) => l.slice()), moduleSizes: s.moduleSizes.slice() };
  }

  /** Stats of the last forward and backward solves. */
  solverStats(): { forward: LayerSolveStats; backward: LayerSolveStats } {
    return { forward: { ...(this.report.forward ?? emptyStats()) }, backward: { ...(this.report.backward ?? emptyStats()) } };
  }

  /** Running solve totals since the last `resetCounters()` (read by the callbacks). */
  get counters(): SolveCounters {
    return this.report.counters;
  }

  /** Number of edges the mask keeps at the configured density. */
  keptEdgeTarget(): number {
    return keptEdgeCount(this.options.units, this.options.density, this.options.topology);
  }

  /** Shows the non-convergence warnings again (they are also re-armed at every `fit`). */
  resetWarnings(): void {
    this.report.rearm();
  }

  /** Zeroes the running solve counters. */
  resetCounters(): void {
    this.report.counters = { forwardCalls: 0, forwardIterations: 0, backwardCalls: 0, backwardIterations: 0 };
  }

  /** The engine the next call uses (resolves `engine: 'auto'` against the active backend, the solvers and the density). */
  activeEngine(): EngineName {
    return selectEngine(this.options, tf.getBackend()).name;
  }

  private checkInput(x: tf.Tensor): void {
    if (x.rank !== 2) throw new ConfigError(`${this.where()}: input must have rank 2, [batch, features]; received shape ${show(x.shape)}.`);
    const n = this.inputKernel!.shape[0];
    if (x.shape[1] !== n) throw new ConfigError(`${this.where()}: input has ${x.shape[1]} features; the layer was built for ${n}.`);
    if (!this.options.validateInput) return;
    const bad = tf.tidy(() => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(x)), 'int32'), 1).dataSync());
    const row = bad.findIndex((b) => b > 0);
    if (row >= 0) {
      throw new NonFiniteError(
        `${this.where()}: the input batch contains NaN or Inf (first at row ${row} of ${x.shape[0]}). Clean or impute the data before calling the layer.`,
      );
    }
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      this.checkInput(x);
      const partition = this.ensurePartition();
      const o = this.options;
      const engine = selectEngine(o, tf.getBackend());
      const ctx = { partition, act: this.act, solver: o.solver, backwardSolver: o.backwardSolver, where: this.where() };
      return neuralModuleOp(
        x,
        this.inputKernel!.read() as tf.Tensor2D,
        this.graph!.read() as tf.Tensor2D,
        engine,
        ctx,
        this.consts!,
        (kind, stats, badRow, batch) => this.report.record(kind, stats, badRow, batch),
      );
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const o = this.options;
    const config: tf.serialization.ConfigDict = {
      units: o.units,
      activation: o.activation,
      density: o.density,
      topology: o.topology,
      solver: { ...o.solver },
      backwardSolver: { ...o.backwardSolver },
      inputInitializer: serializeObject(o.inputInitializer) as unknown as tf.serialization.ConfigDict,
      graphInitializer: serializeObject(o.graphInitializer) as unknown as tf.serialization.ConfigDict,
      inputRegularizer: serializeObject(o.inputRegularizer) as unknown as tf.serialization.ConfigDict,
      graphRegularizer: serializeObject(o.graphRegularizer) as unknown as tf.serialization.ConfigDict,
      graphConstraint: serializeObject(o.graphConstraint) as unknown as tf.serialization.ConfigDict,
      onNonConvergence: o.onNonConvergence,
      validateInput: o.validateInput,
      engine: o.engine,
      stateVersion: this.stateVersion,
    };
    return { ...super.getConfig(), ...config };
  }

  override dispose(): ReturnType<layers.Layer['dispose']> {
    const result = super.dispose();
    if (result.refCountAfterDispose === 0) {
      this.partition?.dispose();
      this.partition = null;
      if (this.consts) for (const t of [this.consts.diagIndex, this.consts.eye, this.consts.upper]) t?.dispose();
      this.consts = null;
      // Regularizers keep tensors of their own (the NM coefficients, p×p); free them with the layer.
      for (const r of [this.options.graphRegularizer, this.options.inputRegularizer]) (r as { dispose?: () => void } | null)?.dispose?.();
    }
    return result;
  }
}
tf.serialization.registerClass(NeuralModuleLayer);

/** Creates a {@link NeuralModuleLayer}. See {@link NeuralModuleLayerArgs} for the options and defaults. */
export function neuralModule(args: NeuralModuleLayerArgs): NeuralModuleLayer {
  return new NeuralModuleLayer(args);
}
