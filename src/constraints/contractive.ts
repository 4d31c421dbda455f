/**
 * The contraction safeguard as a graph constraint. Picard's iteration on a module
 * converges when the map x ↦ z + f(x)·A is a contraction, i.e. when
 * ‖A‖₂·sup|f'| < 1 (DESIGN.md §1, "Contraction"). This constraint scales the
 * off-diagonal graph weights (never the diagonal, the biases) so that the
 * power-iteration estimate of ‖M∘W‖₂ times sup|f'| is at most `bound`.
 *
 * When to use: training with Picard, or any solver that reports non-convergence as
 * the graph grows; a bound of 0.9–0.95 keeps every solve convergent at a small cost
 * in expressiveness.
 *
 * Caveats: tfjs-layers applies no constraint during `fit`, so the NeuralModule layer
 * applies its `graphConstraint` at every re-partition (build, `repartition()`, the
 * `modulePartition` callback), against the mask of that partition — not after every
 * optimizer step, and never when weights are loaded (a loaded model computes exactly
 * what was saved). Used on its own (`apply`), it treats every off-diagonal entry as
 * an edge and f as 1-Lipschitz.
 *
 * @example
 * nm.layers.neuralModule({ units: 100, graphConstraint: nm.constraints.contractive({ bound: 0.9 }) });
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConstraintBase } from '../utils/tfjs_bases.js';
import { magnitudeMask, type EdgeMask } from '../graph/mask.js';
import { spectralNormEstimate } from '../graph/spectral.js';
import { checkKeys, checkNumber, fail } from '../utils/errors.js';

/** Arguments of {@link contractive}. */
export interface ContractiveArgs {
  /** Bound on ‖M∘W‖₂·sup|f'| (estimated by power iteration), > 0. Default: 0.9. */
  bound?: number;
}

/** The result of a projection. */
export interface Projection {
  /** Factor applied to the off-diagonal weights (1 when already within the bound). */
  scale: number;
  /** ‖M∘W‖₂ estimate after the projection. */
  spectralNorm: number;
}

export class ContractiveConstraint extends ConstraintBase {
  static className = 'Contractive';
  readonly bound: number;

  constructor(args: ContractiveArgs = {}) {
    super();
    if (args == null || typeof args !== 'object') fail('contractive', 'args', args, 'an object { bound? }');
    checkKeys('contractive', args, ['bound']);
    this.bound = checkNumber('contractive', 'bound', args.bound ?? 0.9, 0, Infinity, { lo: true });
  }

  /**
   * Scales the off-diagonal entries of the row-major p×p `w` in place so that
   * ‖mask∘W‖₂·lipschitz ≤ bound. The mask is unchanged by a uniform scale.
   */
  project(w: Float32Array, mask: EdgeMask, lipschitz: number): Projection {
    const p = mask.p;
    const norm = spectralNormEstimate(w, mask);
    if (!(norm * lipschitz > this.bound)) return { scale: 1, spectralNorm: norm };
    const scale = this.bound / (norm * lipschitz);
    for (let i = 0; i < w.length; i++) if (i % (p + 1) !== 0) w[i] *= scale;
    return { scale, spectralNorm: norm * scale };
  }

  /** Standalone form: every off-diagonal entry is an edge, f is 1-Lipschitz. */
  override apply(w: tf.Tensor): tf.Tensor {
    const p = w.shape[0];
    if (w.rank !== 2 || w.shape[1] !== p) fail('contractive', 'w', w.shape, 'a square [p, p] graph');
    const values = Float32Array.from(w.dataSync());
    this.project(values, magnitudeMask(values, p, 1, 'graph'), 1);
    return tf.tensor2d(values, [p, p]);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { bound: this.bound };
  }
}
// The base class is reached through the prototype chain, so its static fromConfig is not in the type.
tf.serialization.registerClass(ContractiveConstraint as unknown as tf.serialization.SerializableConstructor<ContractiveConstraint>);

/** Creates a {@link ContractiveConstraint}. */
export function contractive(args: ContractiveArgs = {}): ContractiveConstraint {
  return new ContractiveConstraint(args);
}
