/**
 * Decoupled proximal steps for graph regularizers (ours, not the papers'; DESIGN.md §2,
 * "Proximal mode"; docs/STRUCTURE.md).
 *
 * A regularizer in proximal mode adds nothing to the loss. Instead, after every
 * optimizer step, the `modulePartition` callback applies its proximal operator to the
 * graph with the optimizer's learning rate η: for an L1-type penalty Σ c·|W| the soft
 * threshold `W ← sign(W)·max(0, |W| − η·c)`, for an L2-type Σ c·W² the shrink
 * `W ← W / (1 + 2·η·c)`. The diagonal (bias) is never touched.
 *
 * Why: an adaptive optimizer (Adam) divides the penalty's gradient by its own running
 * scale, so a penalty in the loss never makes a weight exactly zero: every penalised
 * weight jitters at the optimizer's noise floor (≈ η), and the magnitude mask then
 * picks among noise. Decoupling the penalty from the optimizer (as AdamW decouples
 * weight decay) makes unneeded edges exactly zero, and the mask never keeps a zero.
 * With plain SGD the proximal step is ISTA's, the exact proximal-gradient method for
 * the same penalty.
 */
import { ConfigError } from '../utils/errors.js';

/** A graph regularizer that can be applied as a decoupled proximal step. */
export interface ProximalRegularizer {
  /** True when the penalty is applied as a proximal step instead of a loss term. */
  readonly proximal: boolean;
  /**
   * Applies the proximal operator of η·penalty to the row-major p×p graph `w` in place
   * (off-diagonal entries only). Returns the number of entries it set to exactly zero.
   */
  proximalStep(w: Float32Array, p: number, learningRate: number): number;
}

/** True for a regularizer in proximal mode. */
export function isProximal(r: unknown): r is ProximalRegularizer {
  return r != null && typeof (r as ProximalRegularizer).proximalStep === 'function' && (r as ProximalRegularizer).proximal === true;
}

/**
 * The proximal operator of η·Σ c[j,k]·norm(W[j,k]) over the off-diagonal entries of
 * `w`, with `c` one number for every entry or a row-major p×p array, then, when `l1`
 * is given, that of η·l1·Σ|W[j,k]| on the result (the same as a second call with
 * `c = l1, norm = 'l1'`, in one pass over `w`). Returns how many non-zero entries
 * became exactly zero.
 */
export function proximalOffDiagonal(w: Float32Array, p: number, learningRate: number, c: number | Float32Array, norm: 'l1' | 'l2', l1 = 0): number {
  if (!(learningRate >= 0) || !Number.isFinite(learningRate)) {
    throw new ConfigError(`proximal step: the learning rate must be a finite number >= 0; received ${learningRate}.`);
  }
  return norm === 'l1' ? softThreshold(w, p, learningRate, c, l1) : shrinkThenThreshold(w, p, learningRate, c, l1);
}

/*
 * Both loops below keep an entry's sign as ±1 from its bits (a data-dependent branch on
 * the sign would be mispredicted half of the time on a graph's weights), compute each
 * threshold t = η·c in double precision and round every result once to float32, where it
 * is stored; a vanishing entry becomes +0. A zero entry (either sign) and the diagonal are
 * left as they are. The L1 operator is the training hot path of the structure recipe (it
 * runs after every batch), hence its own loop without per-entry branches on `norm`.
 */

/**
 * The second operator, the L1 threshold t1 on the stored (float32, non-zero) result `u` of
 * the first at w[i], `sign` its sign as ±1. Returns 1 when the entry vanishes, else 0.
 */
function thresholdStored(w: Float32Array, i: number, u: number, sign: number, t1: number): number {
  const b = Math.abs(u) - t1;
  w[i] = b > 0 ? b * sign : 0;
  return b > 0 ? 0 : 1;
}

/** The L1 operator: soft threshold sign(v)·max(|v| − η·c, 0), then the same with η·l1. */
function softThreshold(w: Float32Array, p: number, learningRate: number, c: number | Float32Array, l1: number): number {
  const bits = new Int32Array(w.buffer, w.byteOffset, w.length);
  const perEdge = typeof c === 'number' ? null : c;
  const uniform = typeof c === 'number' ? learningRate * c : 0;
  const t1 = learningRate * l1;
  let zeroed = 0;
  for (let j = 0; j < p; j++) {
    const row = j * p;
    const end = row + p;
    const diag = row + j;
    for (let i = row; i < end; i++) {
      const v = w[i];
      if (v === 0 || i === diag) continue;
      const a = Math.abs(v) - (perEdge === null ? uniform : learningRate * perEdge[i]);
      if (!(a > 0)) {
        w[i] = 0;
        zeroed++;
        continue;
      }
      const sign = (bits[i] >> 31) | 1;
      const u = Math.fround(a * sign);
      w[i] = u;
      if (t1 !== 0 && u !== 0) zeroed += thresholdStored(w, i, u, sign, t1);
    }
  }
  return zeroed;
}

/** The L2 operator: the shrink v / (1 + 2·η·c), then the L1 threshold with η·l1. */
function shrinkThenThreshold(w: Float32Array, p: number, learningRate: number, c: number | Float32Array, l1: number): number {
  const bits = new Int32Array(w.buffer, w.byteOffset, w.length);
  const t1 = learningRate * l1;
  let zeroed = 0;
  for (let j = 0; j < p; j++) {
    const row = j * p;
    for (let k = 0; k < p; k++) {
      const i = row + k;
      const v = w[i];
      if (v === 0 || k === j) continue;
      const u = Math.fround(v / (1 + 2 * learningRate * (typeof c === 'number' ? c : c[i])));
      w[i] = u;
      if (t1 !== 0 && u !== 0) zeroed += thresholdStored(w, i, u, (bits[i] >> 31) | 1, t1);
    }
  }
  return zeroed;
}

/**
 * Counts penalty evaluations in training that no proximal step followed, and warns
 * once when a proximal regularizer is used without the callback that applies it.
 */
export class ProximalWatch {
  private pending = 0;
  private warned = false;

  constructor(private readonly where: string) {}

  /** Called from the regularizer's `apply` (once per training step). */
  penaltyEvaluated(): void {
    if (++this.pending > 3 && !this.warned) {
      this.warned = true;
      console.warn(
        `${this.where}: proximal mode, but no proximal step was applied in the last ${this.pending - 1} training steps, so this regularizer has no effect. ` +
          "Add nm.callbacks.modulePartition() to model.fit's callbacks (it applies the step after every batch).",
      );
    }
  }

  /** Called after each proximal step. */
  stepApplied(): void {
    this.pending = 0;
  }
}
