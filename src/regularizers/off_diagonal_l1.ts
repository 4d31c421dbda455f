/**
 * L1 on a square graph without its diagonal: the "NMs&L1" baseline of the Neural
 * Modules papers (neural-modules-v3 §4.1, Tables 1–3; shared/DESIGN.md §2).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, checkKeys, checkNumber, fail, show } from '../utils/errors.js';
import { RegularizerBase } from '../utils/tfjs_bases.js';
import { proximalOffDiagonal, ProximalWatch, type ProximalRegularizer } from './proximal.js';

/** Arguments of {@link offDiagonalL1}. */
export interface OffDiagonalL1Args {
  /** Strength λ ≥ 0. Default: 0.01 (as tfjs' `regularizers.l1`). */
  l1?: number;
  /**
   * Apply the penalty as a decoupled proximal step after every optimizer step (the
   * soft threshold by η·λ, η the learning rate; applied by the `modulePartition`
   * callback) instead of as a loss term: unneeded edges become exactly zero even under
   * Adam. Ours, not the papers' (see `src/regularizers/proximal.ts`). Default: false.
   */
  proximal?: boolean;
}

const WHERE = 'offDiagonalL1';

/**
 * `λ·Σ_{j≠k} |W[j,k]|`: L1 on every off-diagonal entry of a rank-2 weight. The
 * diagonal of a Neural Module graph is the nodes' bias and is not penalised, which
 * is the only difference from `tf.regularizers.l1`.
 *
 * When to use: as the `graphRegularizer` of a `neuralModule` layer, as the baseline
 * the NM regularizer is compared with (same kept density, no knowledge of modules).
 *
 * With `proximal: true` the penalty is applied as a soft threshold after every
 * optimizer step (by the `modulePartition` callback) instead of as a loss term, so
 * unneeded edges become exactly zero under Adam too (ours; docs/STRUCTURE.md).
 *
 * Caveats: it keeps one cached 0/1 off-diagonal mask tensor per weight shape; call
 * {@link dispose} to free it. Non-square weights are accepted (entries with row ≠
 * column are penalised).
 *
 * @example
 * nm.layers.neuralModule({ units: 100, graphRegularizer: nm.regularizers.offDiagonalL1({ l1: 1e-3 }) })
 */
export class OffDiagonalL1 extends RegularizerBase implements ProximalRegularizer {
  static className = 'OffDiagonalL1';
  readonly l1: number;
  readonly proximal: boolean;
  private masks = new Map<string, tf.Tensor2D>();
  private readonly watch = new ProximalWatch(WHERE);

  constructor(args: OffDiagonalL1Args = {}) {
    super();
    if (args == null || typeof args !== 'object') fail(WHERE, 'args', args, 'an object { l1?, proximal? }');
    checkKeys(WHERE, args, ['l1', 'proximal']);
    this.l1 = checkNumber(WHERE, 'l1', args.l1 ?? 0.01, 0);
    this.proximal = args.proximal ?? false;
    if (typeof this.proximal !== 'boolean') fail(WHERE, 'proximal', args.proximal, 'a boolean');
  }

  /** The penalty of a rank-2 weight (0 in proximal mode: the penalty acts through {@link proximalStep}). */
  apply(x: tf.Tensor): tf.Scalar {
    if (x.rank !== 2) throw new ConfigError(`${WHERE}: the regularized weight must have rank 2; received shape ${show(x.shape)}.`);
    if (this.proximal) {
      this.watch.penaltyEvaluated();
      return tf.scalar(0);
    }
    const mask = this.offDiagonal(x.shape[0] as number, x.shape[1] as number);
    return tf.tidy(() => tf.mul(tf.scalar(this.l1), tf.sum(tf.mul(tf.abs(x), mask))) as tf.Scalar);
  }

  /** Frees the cached mask tensors (they are rebuilt on the next `apply`). */
  dispose(): void {
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }

  /** Soft-thresholds the off-diagonal entries of the p×p graph `w` by η·λ in place (proximal mode). */
  proximalStep(w: Float32Array, p: number, learningRate: number): number {
    this.watch.stepApplied();
    return proximalOffDiagonal(w, p, learningRate, this.l1, 'l1');
  }

  getConfig(): tf.serialization.ConfigDict {
    return { l1: this.l1, proximal: this.proximal };
  }

  private offDiagonal(rows: number, cols: number): tf.Tensor2D {
    const key = `${rows}x${cols}`;
    let m = this.masks.get(key);
    if (m == null || m.isDisposed) {
      const values = new Float32Array(rows * cols).fill(1);
      for (let i = 0; i < Math.min(rows, cols); i++) values[i * cols + i] = 0;
      m = tf.tidy(() => tf.keep(tf.tensor2d(values, [rows, cols])));
      this.masks.set(key, m);
    }
    return m;
  }
}
tf.serialization.registerClass(OffDiagonalL1);

/**
 * Creates an {@link OffDiagonalL1} regularizer: `λ·Σ_{j≠k} |W[j,k]|` (diagonal = bias, free).
 * @example nm.regularizers.offDiagonalL1({ l1: 1e-3 })
 */
export function offDiagonalL1(args: OffDiagonalL1Args = {}): OffDiagonalL1 {
  return new OffDiagonalL1(args);
}
