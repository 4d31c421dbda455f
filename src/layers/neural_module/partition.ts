/**
 * A partition of the Neural Module graph: the kept-edge mask, the modules and the
 * solve schedule (DESIGN.md §1), plus the per-partition constants each engine builds
 * on first use (permutations and the dense mask for the tensor engine, the kept-edge
 * structures for the host engine). Immutable; a re-partition makes a new one.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EdgeMask } from '../../graph/mask.js';
import { buildSchedule, type Schedule } from '../../graph/schedule.js';
import { buildHostPlan, type HostPlan } from './engine/host_plan.js';

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
  /** Magnitude threshold γ of the mask (after a restore: the smallest kept magnitude). */
  gamma: number;
  /** Power-iteration estimate of ‖A‖₂ (contraction needs ‖A‖₂·sup|f'| < 1), after any constraint. */
  spectralNorm: number;
  /** How many times the graph constraint has changed the graph so far. */
  contractionRescales: number;
}

export class Partition {
  readonly schedule: Schedule;
  /** True when the schedule keeps every node in place (perm[i] = i: one module, or modules already in node order). */
  readonly identityOrder: boolean;
  private tensorConsts: { perm: tf.Tensor1D; invPerm: tf.Tensor1D; mask: tf.Tensor2D } | null = null;
  private hostConsts: { plan: HostPlan; gatherIndex: tf.Tensor1D } | null = null;

  constructor(readonly mask: EdgeMask) {
    this.schedule = buildSchedule(mask);
    this.identityOrder = this.schedule.perm.every((v, i) => v === i);
  }

  /**
   * The structure report of this partition: `candidates` is the number of candidate edges
   * (for the density), `spectralNorm` the estimate of ‖M∘W‖₂ of the installed graph.
   */
  describe(candidates: number, spectralNorm: number, contractionRescales: number): ModuleStructure {
    const s = this.schedule;
    return {
      modules: s.modules,
      levels: s.levels,
      moduleSizes: s.moduleSizes,
      largestModule: s.largestModule,
      edges: this.mask.edges,
      density: candidates > 0 ? this.mask.edges / candidates : 0,
      gamma: this.mask.gamma,
      spectralNorm,
      contractionRescales,
    };
  }

  /** The tensor engine's constants: permutation, inverse, dense 0/1 edge mask (uploaded once). */
  tensors(): { perm: tf.Tensor1D; invPerm: tf.Tensor1D; mask: tf.Tensor2D } {
    if (!this.tensorConsts) {
      const { p } = this.mask;
      this.tensorConsts = {
        perm: tf.keep(tf.tensor1d(this.schedule.perm, 'int32')),
        invPerm: tf.keep(tf.tensor1d(this.schedule.invPerm, 'int32')),
        mask: tf.keep(tf.tensor2d(Float32Array.from(this.mask.mask), [p, p])),
      };
    }
    return this.tensorConsts;
  }

  /** The host engine's kept-edge structures and its weight-gather index. */
  host(): { plan: HostPlan; gatherIndex: tf.Tensor1D } {
    if (!this.hostConsts) {
      const plan = buildHostPlan(this.schedule, this.mask);
      this.hostConsts = { plan, gatherIndex: tf.keep(tf.tensor1d(plan.gatherIndex, 'int32')) };
    }
    return this.hostConsts;
  }

  dispose(): void {
    if (this.tensorConsts) for (const t of Object.values(this.tensorConsts)) t.dispose();
    this.hostConsts?.gatherIndex.dispose();
    this.tensorConsts = null;
    this.hostConsts = null;
  }
}
