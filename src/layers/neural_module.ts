/**
 * The Neural Module layer: a hidden layer of p nodes on a complete directed graph
 * with learnable edges, whose values solve x = z + f(x)·A (DESIGN.md §1; Neural
 * Modules, neural-modules-v3/v4). Solved module by module (SCCs of the masked
 * graph, level by level), differentiated implicitly; every edge gets a gradient.
 *
 * @example
 * const model = tf.sequential();
 * model.add(nm.layers.neuralModule({ inputShape: [64], units: 100, density: 0.05 }));
 * model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
 */
import * as tf from '@tensorflow/tfjs-core';
import { layers, type LayerVariable } from '@tensorflow/tfjs-layers';

type Shape = Array<number | null>;
import { keptEdgeCount, magnitudeMask, type EdgeMask } from '../graph/mask.js';
import { buildSchedule } from '../graph/schedule.js';
import { spectralNormEstimate } from '../graph/spectral.js';
import type { SolveStats } from '../solvers/types.js';
import { ConfigError, NonConvergenceError, NonFiniteError, show } from '../utils/errors.js';
import { serializeObject } from '../utils/serialization.js';
import { sparseKernels } from '../kernels/index.js';
import { HOST_SOLVER_NAMES } from '../solvers/registry.js';
import { AUTO_HOST_MAX_DENSITY, resolveNeuralModuleArgs, type NeuralModuleLayerArgs, type ResolvedNeuralModuleArgs } from './nm_args.js';
import { neuralModuleHostOp } from './nm_host_op.js';
import { buildHostPlan, type HostPlan } from './nm_host_plan.js';
import { neuralModuleOp, type NeuralModuleOpContext } from './nm_op.js';
import { emptyStats, type SolvePlan } from './nm_solve.js';
import { nodeActivation, type NodeActivation } from './node_activation.js';

/** The module structure of the current partition (see API.md). */
export interface ModuleStructure {
  /** Node ids per module, modules in topological order of the condensation. */
  modules: number[][];
  /** Module indices per level. */
  levels: number[][];
  moduleSizes: number[];
  largestModule: number;
  /** Kept off-diagonal edges. */
  edges: number;
  /** Kept edges over candidate edges. */
  density: number;
  /** Magnitude threshold γ of the mask. */
  gamma: number;
  /** Power-iteration estimate of ‖A‖₂ (contraction needs ‖A‖₂·sup|f'| < 1), after any safeguard rescale. */
  spectralNorm: number;
  /** How many times the contraction safeguard has rescaled the graph so far. */
  contractionRescales: number;
}

/** Running totals since the last `resetCounters()` (read by callbacks). */
export interface SolveCounters {
  forwardCalls: number;
  forwardIterations: number;
  backwardCalls: number;
  backwardIterations: number;
}

export class NeuralModuleLayer extends layers.Layer {
  static className = 'NeuralModule';
  /** The resolved options (read-only). */
  readonly options: ResolvedNeuralModuleArgs;
  private readonly act: NodeActivation;
  private inputKernel: LayerVariable | null = null;
  private graph: LayerVariable | null = null;
  private plan: SolvePlan | null = null;
  private planStale = true;
  private structureInfo: ModuleStructure | null = null;
  private constants: { gradMask: tf.Tensor2D; eye: tf.Tensor2D } | null = null;
  private lastForward: SolveStats = emptyStats();
  private lastBackward: SolveStats = emptyStats();
  private warned = false;
  private rescales = 0;
  private edgeMask: EdgeMask | null = null;
  private host: { plan: HostPlan; gatherIndex: tf.Tensor1D } | null = null;
  private readonly partitionListeners: Array<(layer: NeuralModuleLayer) => void> = [];
  /** Totals read and reset by the partition callback. */
  counters: SolveCounters = { forwardCalls: 0, forwardIterations: 0, backwardCalls: 0, backwardIterations: 0 };

  constructor(args: NeuralModuleLayerArgs) {
    const options = resolveNeuralModuleArgs(args);
    super(args);
    this.options = options;
    this.act = nodeActivation(options.activation);
  }

  private where(): string {
    return `NeuralModule '${this.name}'`;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    if (shape.length !== 2 || shape[1] == null) {
      throw new ConfigError(
        `${this.where()}: input must have rank 2, [batch, features] with a known feature size; received shape ${show(shape)}. Flatten it first (tf.layers.flatten).`,
      );
    }
    const n = shape[1];
    const p = this.options.units;
    this.inputKernel = this.addWeight('inputKernel', [n, p], 'float32', this.options.inputInitializer, this.options.inputRegularizer ?? undefined, true);
    this.graph = this.addWeight('graph', [p, p], 'float32', this.options.graphInitializer, this.options.graphRegularizer ?? undefined, true);
    // setWeights() and model loading write the variable: mark the partition stale.
    const graphVar = this.graph;
    const write = graphVar.write.bind(graphVar);
    graphVar.write = (value: tf.Tensor) => {
      const r = write(value);
      this.planStale = true;
      return r;
    };
    this.constants = tf.tidy(() => {
      const eye = tf.eye(p) as tf.Tensor2D;
      const offDiag = tf.sub(1, eye) as tf.Tensor2D;
      const gradMask = this.options.topology === 'dag' ? (tf.linalg.bandPart(offDiag, 0, -1) as tf.Tensor2D) : offDiag;
      return { eye: tf.keep(eye), gradMask: tf.keep(gradMask) };
    });
    const reg = this.options.graphRegularizer as unknown as { attachLayer?: (l: NeuralModuleLayer) => void } | null;
    reg?.attachLayer?.(this);
    this.built = true;
    this.repartition();
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [shape[0], this.options.units];
  }

  /**
   * Recomputes the mask, the modules and the schedule from the current graph weights.
   * Called by `build`, lazily after `setWeights`/loading, and by the partition callback.
   */
  repartition(): ModuleStructure {
    if (!this.graph || !this.constants) throw new ConfigError(`${this.where()}: repartition() needs a built layer; call the model (or layer.build) first.`);
    const p = this.options.units;
    let w = this.graph.read().dataSync() as Float32Array;
    let mask = magnitudeMask(w, p, this.options.density, this.options.topology);
    let spectralNorm = spectralNormEstimate(w, mask);
    const bound = this.options.contractionBound;
    if (bound != null && spectralNorm * this.act.lipschitz > bound) {
      // Scale the off-diagonal edges (not the bias); the mask is scale-invariant.
      const scale = bound / (spectralNorm * this.act.lipschitz);
      w = w.map((v, i) => (i % (p + 1) === 0 ? v : v * scale));
      const t = tf.tensor2d(w, [p, p]);
      this.graph.write(t);
      t.dispose();
      mask = magnitudeMask(w, p, this.options.density, this.options.topology);
      spectralNorm *= scale;
      this.rescales++;
    }
    const schedule = buildSchedule(mask);
    const next: SolvePlan = {
      schedule,
      perm: tf.keep(tf.tensor1d(schedule.perm, 'int32')),
      invPerm: tf.keep(tf.tensor1d(schedule.invPerm, 'int32')),
      mask: null, // built on first use by the tensor engine (denseMask)
      gradMask: this.constants.gradMask,
      eye: this.constants.eye,
      topology: this.options.topology,
    };
    this.disposePlan();
    this.plan = next;
    this.planStale = false;
    const candidates = this.options.topology === 'dag' ? (p * (p - 1)) / 2 : p * (p - 1);
    this.structureInfo = {
      modules: schedule.modules.map((m) => m.slice()),
      levels: schedule.levels.map((l) => l.slice()),
      moduleSizes: schedule.moduleSizes.slice(),
      largestModule: schedule.largestModule,
      edges: mask.edges,
      density: candidates > 0 ? mask.edges / candidates : 0,
      gamma: mask.gamma,
      spectralNorm,
      contractionRescales: this.rescales,
    };
    this.edgeMask = mask;
    for (const listener of this.partitionListeners) listener(this);
    return this.structure();
  }

  /**
   * Registers a function called after every re-partition (regularizers that read
   * the partition use this; they are attached in `build`). Returns an unsubscribe.
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
    this.ensurePlan();
    return this.edgeMask!;
  }

  /** The current graph weights as a row-major p×p array (a copy). */
  graphValues(): Float32Array {
    if (!this.graph) throw new ConfigError(`${this.where()}: the layer is not built yet.`);
    return this.graph.read().dataSync().slice() as Float32Array;
  }

  /** The module structure of the current partition (copies; safe to keep). */
  structure(): ModuleStructure {
    this.ensurePlan();
    const s = this.structureInfo!;
    return { ...s, modules: s.modules.map((m) => m.slice()), levels: s.levels.map((l) => l.slice()), moduleSizes: s.moduleSizes.slice() };
  }

  /** Stats of the last forward and backward solves. */
  solverStats(): { forward: SolveStats; backward: SolveStats } {
    return { forward: { ...this.lastForward }, backward: { ...this.lastBackward } };
  }

  /** Number of edges the mask keeps at the configured density. */
  keptEdgeTarget(): number {
    return keptEdgeCount(this.options.units, this.options.density, this.options.topology);
  }

  /** Re-arms the once-per-fit non-convergence warning (called at the start of fit by the callbacks). */
  resetWarnings(): void {
    this.warned = false;
  }

  /** Zeroes the running solve counters. */
  resetCounters(): void {
    this.counters = { forwardCalls: 0, forwardIterations: 0, backwardCalls: 0, backwardIterations: 0 };
  }

  private ensurePlan(): void {
    if (!this.built) throw new ConfigError(`${this.where()}: the layer is not built yet; call the model (or layer.apply) first.`);
    if (this.planStale || !this.plan) this.repartition();
  }

  /**
   * The engine the next call uses: `'host'` or `'tensor'` (resolves `engine: 'auto'`
   * against the active backend, the solvers and the density).
   */
  activeEngine(): 'host' | 'tensor' {
    const o = this.options;
    if (o.engine !== 'auto') return o.engine;
    const hostSolvers = [o.solver.method, o.backwardSolver.method].every((m) => (HOST_SOLVER_NAMES as readonly string[]).includes(m));
    const cpuResident = ['cpu', 'wasm'].includes(tf.getBackend());
    return hostSolvers && cpuResident && o.density <= AUTO_HOST_MAX_DENSITY ? 'host' : 'tensor';
  }

  private hostPlan(): { plan: HostPlan; gatherIndex: tf.Tensor1D } {
    if (!this.host) {
      const plan = buildHostPlan(this.plan!.schedule, this.edgeMask!);
      this.host = { plan, gatherIndex: tf.keep(tf.tensor1d(plan.gatherIndex, 'int32')) };
    }
    return this.host;
  }

  /** Uploads the dense p×p edge mask the tensor engine multiplies by (once per partition). */
  private ensureDenseMask(): void {
    const plan = this.plan!;
    if (plan.mask) return;
    const p = this.options.units;
    plan.mask = tf.keep(tf.tensor2d(Float32Array.from(this.edgeMask!.mask), [p, p]));
  }

  private disposePlan(): void {
    this.host?.gatherIndex.dispose();
    this.host = null;
    if (!this.plan) return;
    this.plan.perm.dispose();
    this.plan.invPerm.dispose();
    this.plan.mask?.dispose();
    this.plan = null;
  }

  private report(kind: 'forward' | 'backward', stats: SolveStats): void {
    if (kind === 'forward') {
      this.lastForward = stats;
      this.counters.forwardCalls++;
      this.counters.forwardIterations += stats.iterations;
    } else {
      this.lastBackward = stats;
      this.counters.backwardCalls++;
      this.counters.backwardIterations += stats.iterations;
    }
    if (stats.converged) return;
    const opts = kind === 'forward' ? this.options.solver : this.options.backwardSolver;
    const detail = `residual ${stats.residual.toExponential(3)} > tol ${opts.tol} after ${stats.iterations} iterations (method '${opts.method}', maxIter ${opts.maxIter})`;
    if (!Number.isFinite(stats.residual)) {
      throw new NonFiniteError(`${this.where()}: the ${kind} solve produced NaN/Inf (${detail}). The graph is probably not contractive: lower the learning rate, the density or the graph scale.`);
    }
    const message = `${this.where()}: the ${kind} solve did not converge: ${detail}. Raise maxIter, use 'anderson' or 'newton', or lower the density or the graph's scale.`;
    if (this.options.onNonConvergence === 'throw') throw new NonConvergenceError(message, stats.residual, stats.iterations);
    if (this.options.onNonConvergence === 'warn' && !this.warned) {
      this.warned = true;
      console.warn(`${message} (warned once per fit)`);
    }
  }

  private checkInput(x: tf.Tensor): void {
    if (x.rank !== 2) throw new ConfigError(`${this.where()}: input must have rank 2, [batch, features]; received shape ${show(x.shape)}.`);
    const n = this.inputKernel!.shape[0];
    if (x.shape[1] !== n) throw new ConfigError(`${this.where()}: input has ${x.shape[1]} features; the layer was built for ${n}.`);
    if (!this.options.validateInput) return;
    const bad = tf.tidy(() => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(x)), 'int32'), 1).dataSync());
    const row = bad.findIndex((b) => b > 0);
    if (row >= 0) {
      throw new NonFiniteError(`${this.where()}: the input batch contains NaN or Inf (first at row ${row} of ${x.shape[0]}). Clean or impute the data before calling the layer.`);
    }
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      this.checkInput(x);
      this.ensurePlan();
      const ctx: NeuralModuleOpContext = {
        plan: this.plan!,
        act: this.act,
        solver: this.options.solver,
        backwardSolver: this.options.backwardSolver,
        report: (kind, stats) => this.report(kind, stats),
        where: this.where(),
      };
      if (this.activeEngine() === 'host') {
        const host = this.hostPlan();
        const hostCtx = { ...ctx, host: host.plan, gatherIndex: host.gatherIndex, kernels: sparseKernels() };
        return neuralModuleHostOp(x as tf.Tensor2D, this.inputKernel!.read() as tf.Tensor2D, this.graph!.read() as tf.Tensor2D, hostCtx);
      }
      this.ensureDenseMask();
      return neuralModuleOp(x as tf.Tensor2D, this.inputKernel!.read() as tf.Tensor2D, this.graph!.read() as tf.Tensor2D, ctx);
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
      onNonConvergence: o.onNonConvergence,
      validateInput: o.validateInput,
      contractionBound: o.contractionBound,
      engine: o.engine,
    };
    return { ...super.getConfig(), ...config };
  }

  override dispose(): ReturnType<layers.Layer['dispose']> {
    const result = super.dispose();
    if (result.refCountAfterDispose === 0) {
      this.disposePlan();
      this.constants?.eye.dispose();
      this.constants?.gradMask.dispose();
      this.constants = null;
    }
    return result;
  }
}
tf.serialization.registerClass(NeuralModuleLayer);

/** Creates a {@link NeuralModuleLayer}. See {@link NeuralModuleLayerArgs} for the options and defaults. */
export function neuralModule(args: NeuralModuleLayerArgs): NeuralModuleLayer {
  return new NeuralModuleLayer(args);
}
