/**
 * The optimizer kernels of the catalog (catalog.ts): one step of tfjs' Adam and of SGD
 * with momentum over a weight array, with the same f32 rounding as tfjs' optimizers.
 */
import { ConfigError } from '../utils/errors.js';
import { checkCoefficients, checkUpdateArrays } from './checks.js';
import { ELEMENTS, arg, kernel, param } from './entry.js';

const { ptr, len, int, f32 } = param;

/**
 * The scalars of one momentum step, as tfjs' MomentumOptimizer holds them (`momentum`
 * and `negLearningRate = −learningRate` are rounded to f32 by the kernels).
 *
 * @example
 * const c = { momentum: 0.9, negLearningRate: -0.01, nesterov: false };
 */
export interface MomentumCoefficients {
  momentum: number;
  negLearningRate: number;
  nesterov: boolean;
}

/**
 * The scalars of one Adam step, as tfjs' AdamOptimizer holds them (each is rounded
 * to f32 by the kernels): `oneMinusBeta1 = 1 − beta1` computed in f64 like tfjs'
 * `1 - this.beta1`, `biasCorrection1 = 1 − β1ᵗ` (tfjs: `sub(1, accBeta1)` in f32),
 * `negLearningRate = −learningRate`.
 *
 * @example
 * const c = { beta1: 0.9, oneMinusBeta1: 1 - 0.9, beta2: 0.999, oneMinusBeta2: 1 - 0.999,
 *   biasCorrection1: Math.fround(1 - Math.fround(0.9)), biasCorrection2: Math.fround(1 - Math.fround(0.999)),
 *   epsilon: 1e-7, negLearningRate: -1e-3 };
 */
export interface AdamCoefficients {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  biasCorrection1: number;
  biasCorrection2: number;
  epsilon: number;
  negLearningRate: number;
}

/** The AdamCoefficients in the order adamUpdate takes them: the moments' coefficients, then the step's. */
const ADAM_SCALARS = [
  ...[f32('beta1'), f32('oneMinusBeta1'), f32('beta2'), f32('oneMinusBeta2')],
  ...[f32('biasCorrection1'), f32('biasCorrection2'), f32('epsilon'), f32('negLearningRate')],
] as const;

/**
 * One step of tfjs' Adam over i < w.length (g, m, v the same length; w, m, v
 * updated in place, pairwise disjoint and disjoint from g), every operation
 * rounded to f32 in the order of tfjs' AdamOptimizer:
 *   m_i = m_i·β1 + g_i·(1−β1);  v_i = v_i·β2 + g_i²·(1−β2);
 *   w_i = ((m_i / (1−β1ᵗ)) / (sqrt(v_i / (1−β2ᵗ)) + ε))·(−lr) + w_i.
 * The coefficients are rounded to f32 first (see {@link AdamCoefficients}).
 */
export const ADAM_UPDATE = kernel({
  args: [arg.f32('w'), arg.f32('g'), arg.f32('m'), arg.f32('v'), arg.value<AdamCoefficients>('c')],
  exports: {
    /** The f32 parameters are the AdamCoefficients in order; out: where the new w goes (w itself, or a disjoint array). */
    adamUpdate: {
      params: [ptr('w'), ptr('g'), ptr('m'), ptr('v'), len('n'), ...ADAM_SCALARS, ptr('out')],
      split: ELEMENTS,
    },
  },
  check(w, g, m, v, c) {
    const where = 'adamUpdate';
    checkUpdateArrays(where, w, { g, w, m, v });
    checkCoefficients(where, c, 'Adam', [
      'beta1',
      'oneMinusBeta1',
      'beta2',
      'oneMinusBeta2',
      'biasCorrection1',
      'biasCorrection2',
      'epsilon',
      'negLearningRate',
    ]);
  },
  call: (k, w, g, m, v, c) =>
    k.adamUpdate(
      w.byteOffset,
      g.byteOffset,
      m.byteOffset,
      v.byteOffset,
      w.length,
      c.beta1,
      c.oneMinusBeta1,
      c.beta2,
      c.oneMinusBeta2,
      c.biasCorrection1,
      c.biasCorrection2,
      c.epsilon,
      c.negLearningRate,
      w.byteOffset,
    ),
});

/**
 * One step of tfjs' SGD with momentum over i < w.length (g, a the same length; w and
 * a updated in place, disjoint from each other and from g), every operation rounded
 * to f32 in the order of tfjs' MomentumOptimizer:
 *   a_i = a_i·μ + g_i;  w_i = a_i·(−lr) + w_i, or with Nesterov w_i = (g_i + a_i·μ)·(−lr) + w_i.
 */
export const MOMENTUM_UPDATE = kernel({
  args: [arg.f32('w'), arg.f32('g'), arg.f32('a'), arg.value<MomentumCoefficients>('c')],
  exports: {
    /** nesterov: 1 or 0; out: where the new w goes (w itself, or a disjoint array). */
    momentumUpdate: {
      params: [ptr('w'), ptr('g'), ptr('a'), len('n'), f32('momentum'), f32('negLearningRate'), int('nesterov'), ptr('out')],
      split: ELEMENTS,
    },
  },
  check(w, g, a, c) {
    const where = 'momentumUpdate';
    checkUpdateArrays(where, w, { g, w, a });
    checkCoefficients(where, c, 'momentum', ['momentum', 'negLearningRate']);
    if (typeof c.nesterov !== 'boolean') throw new ConfigError(`${where}: coefficient 'nesterov' must be a boolean; received ${String(c.nesterov)}.`);
  },
  call: (k, w, g, a, c) =>
    k.momentumUpdate(w.byteOffset, g.byteOffset, a.byteOffset, w.length, c.momentum, c.negLearningRate, c.nesterov ? 1 : 0, w.byteOffset),
});
