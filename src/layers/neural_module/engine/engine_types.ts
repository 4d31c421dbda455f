/**
 * The one engine contract of the Neural Module layer: a {@link SolveEngine} solves
 * the forward system x = z + f(x)·A and the adjoint system v = q + (v·Aᵀ)∘f'(x*)
 * module by module (DESIGN.md §1). The single differentiable operation (op.ts)
 * wraps whichever engine is selected (engine_registry.ts) in one `tf.customGrad`: the dense
 * products, the non-finite check and the stats reporting are written once, there.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ResolvedSolverOptions } from '../../../solvers/solver_types.js';
import type { NodeActivation } from '../../../activations/index.js';
import type { Partition } from '../partition.js';
import type { LayerSolveStats } from './stats.js';

/** The engines: typed arrays with sparse kernels (`'host'`), or tfjs ops (`'tensor'`). */
export type EngineName = 'host' | 'tensor';

/** What a solve needs from its layer. */
export interface EngineContext {
  partition: Partition;
  act: NodeActivation;
  solver: ResolvedSolverOptions;
  backwardSolver: ResolvedSolverOptions;
  /** Layer description for error messages. */
  where: string;
}

/** A forward solve's result. */
export interface EngineForward {
  /** h = f(x*), `[batch, p]`, original node order. */
  h: tf.Tensor2D;
  stats: LayerSolveStats;
  /** First batch row of h holding NaN/Inf, or −1. */
  badRow: number;
  /** Tensors the adjoint needs (kept alive by the op's `save`). */
  saved: tf.Tensor[];
  /** Host-side state the adjoint needs (typed arrays); undefined on the tensor engine. */
  state?: unknown;
}

/** An adjoint solve's result. */
export interface EngineAdjoint {
  /** v, `[batch, p]`, original node order. */
  v: tf.Tensor2D;
  stats: LayerSolveStats;
  /** First batch row of v holding NaN/Inf, or −1. */
  badRow: number;
}

/** A solve engine (see the file comment). */
export interface SolveEngine {
  readonly name: EngineName;
  /** Solves x = z + f(x)·A for the node input z `[batch, p]` (bias included) and the graph w `[p, p]`. */
  forward(z: tf.Tensor2D, w: tf.Tensor2D, ctx: EngineContext): EngineForward;
  /** Solves the adjoint for the upstream gradient dy `[batch, p]`, from what `forward` saved. */
  adjoint(dy: tf.Tensor2D, saved: tf.Tensor[], state: unknown, ctx: EngineContext): EngineAdjoint;
  /**
   * Hands back what `forward` saved in `state` once its one adjoint has run (the op calls it
   * after the adjoint; a later adjoint of the same state throws). Optional: engines without
   * host state have nothing to hand back.
   */
  release?(state: unknown): void;
}
