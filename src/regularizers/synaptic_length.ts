/**
 * The synaptic-length regularizer of the URN (Golkar, "Emergent Structures and
 * Lifetime Structure Evolution in Artificial Neural Networks", eq. 9).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, checkKeys, checkNumber, checkOneOf, fail, show } from '../utils/errors.js';
import { geometrySize, resolveGeometry, upliftPositions, type UpliftGeometry } from './uplift_geometry.js';
import { RegularizerBase } from '../utils/tfjs_bases.js';

export const SYNAPSE_PAIRS = ['all', 'upper'] as const;
export type SynapsePairs = (typeof SYNAPSE_PAIRS)[number];

/** Arguments of {@link synapticLength}. Give exactly one of `positions` and `geometry`. */
export interface SynapticLengthArgs {
  /** Strength c_syn ≥ 0. Required. */
  rate: number;
  /** Neuron coordinates `[x, y, z]`, one per neuron (S entries). No default. */
  positions?: number[][];
  /** An uplift of the input grid that places the S neurons; see {@link UpliftGeometry}. No default. */
  geometry?: UpliftGeometry;
  /** β of the metric `d² = dx² + dy² + β·dz²` (eq. 8), ≥ 0. Default: 1. */
  beta?: number;
  /** Distance power γ ≥ 0 (eq. 9). Default: 1. */
  power?: number;
  /**
   * Which synapses pay: `'all'` (every directed synapse W[i,j], i ≠ j; the default) or
   * `'upper'` (the literal `Σ_{i<j}` of eq. 9, which leaves every synapse from a
   * higher-numbered to a lower-numbered neuron free). Default: `'all'`.
   */
  pairs?: SynapsePairs;
}

// 'customObjects' is added by tfjs-layers' deserializer when a model is loaded; it is ignored.
const KNOWN = ['rate', 'positions', 'geometry', 'beta', 'power', 'pairs', 'customObjects'];
const WHERE = 'synapticLength';

/**
 * `rate · Σ |W[i,j]| · d_ij^power` over the synapses selected by `pairs`, with
 * `d_ij` the distance between neurons i and j under `d² = dx² + dy² + β·dz²`.
 *
 * When to use: on the kernel of a URN whose input has a geometry (images), to favour
 * short, locally connected synapses (the paper's Sec. 3). It is an ordinary tfjs
 * `Regularizer`, so it also works as `kernelRegularizer` of any square kernel and
 * survives `model.save` / `tf.loadLayersModel`.
 *
 * Caveats: the S×S length matrix is computed once (in float64, then kept as one
 * float32 tensor of S² entries: 100 MB at S = 5000); call {@link dispose} to free it.
 * The default `pairs: 'all'` differs from the literal `i < j` of eq. 9 on purpose:
 * W is not symmetric, and with neurons numbered by height the literal sum would
 * penalise only upward synapses, leaving downward ones free.
 *
 * @example
 * ```ts
 * const reg = nm.regularizers.synapticLength({
 *   rate: 1e-4, geometry: { inputGrid: [8, 8], lattice: [6, 6, 3], outputs: 10 }, beta: 4,
 * });
 * nm.layers.urn({ inputShape: [64], neurons: reg.numNeurons, outputUnits: 10, synapticLength: reg });
 * ```
 */
export class SynapticLengthRegularizer extends RegularizerBase {
  static className = 'SynapticLength';
  readonly rate: number;
  readonly beta: number;
  readonly power: number;
  readonly pairs: SynapsePairs;
  /** The geometry the positions came from, or null when positions were given. */
  readonly geometry: Required<UpliftGeometry> | null;
  /** Number of neurons S; the regularized kernel must be S × S. */
  readonly numNeurons: number;
  private readonly coords: number[][];
  private dist: Float64Array | null = null;
  private factorTensor: tf.Tensor2D | null = null;

  constructor(args: SynapticLengthArgs) {
    super();
    if (args == null || typeof args !== 'object') fail(WHERE, 'args', args, 'an object { rate, positions | geometry, beta?, power?, pairs? }');
    checkKeys(WHERE, args, KNOWN);
    this.rate = checkNumber(WHERE, 'rate', args.rate, 0);
    this.beta = checkNumber(WHERE, 'beta', args.beta ?? 1, 0);
    this.power = checkNumber(WHERE, 'power', args.power ?? 1, 0);
    this.pairs = checkOneOf(WHERE, 'pairs', args.pairs ?? 'all', SYNAPSE_PAIRS);
    const hasPos = args.positions != null;
    const hasGeo = args.geometry != null;
    if (hasPos === hasGeo) {
      throw new ConfigError(`${WHERE}: give exactly one of 'positions' and 'geometry'; received ${hasPos ? 'both' : 'neither'}.`);
    }
    if (hasGeo) {
      this.geometry = resolveGeometry(WHERE, args.geometry);
      this.coords = upliftPositions(this.geometry);
    } else {
      this.geometry = null;
      this.coords = checkPositions(args.positions);
    }
    this.numNeurons = this.coords.length;
    if (hasGeo && this.numNeurons !== geometrySize(this.geometry!)) throw new Error('synapticLength: internal geometry size mismatch');
  }

  /** Neuron coordinates `[x, y, z]` (a copy). */
  positions(): number[][] {
    return this.coords.map((p) => p.slice());
  }

  /** Row-major S×S distances `d_ij` (power 1), computed once in float64. Do not modify. */
  distances(): Float64Array {
    if (this.dist == null) {
      const S = this.numNeurons;
      const d = new Float64Array(S * S);
      for (let i = 0; i < S; i++) {
        const [xi, yi, zi] = this.coords[i];
        for (let j = i + 1; j < S; j++) {
          const [xj, yj, zj] = this.coords[j];
          const v = Math.sqrt((xi - xj) ** 2 + (yi - yj) ** 2 + this.beta * (zi - zj) ** 2);
          d[i * S + j] = v;
          d[j * S + i] = v;
        }
      }
      this.dist = d;
    }
    return this.dist;
  }

  /** Per-synapse factors `d_ij^power` (0 on the diagonal and on unselected pairs), row-major. */
  lengthFactors(): Float32Array {
    const S = this.numNeurons;
    const d = this.distances();
    const f = new Float32Array(S * S);
    for (let i = 0; i < S; i++) {
      for (let j = this.pairs === 'upper' ? i + 1 : 0; j < S; j++) {
        if (i !== j) f[i * S + j] = Math.pow(d[i * S + j], this.power);
      }
    }
    return f;
  }

  /** The penalty of a kernel `W` (S × S). */
  apply(x: tf.Tensor): tf.Scalar {
    const S = this.numNeurons;
    if (x.rank !== 2 || x.shape[0] !== S || x.shape[1] !== S) {
      throw new ConfigError(
        `${WHERE}: the regularized weight must be ${S} × ${S} (one row and column per positioned neuron); received shape ${show(x.shape)}.`,
      );
    }
    return tf.tidy(() => tf.mul(tf.scalar(this.rate), tf.sum(tf.mul(tf.abs(x), this.factors()))) as tf.Scalar);
  }

  /** Frees the cached S×S factor tensor (it is rebuilt on the next `apply`). */
  dispose(): void {
    this.factorTensor?.dispose();
    this.factorTensor = null;
  }

  getConfig(): tf.serialization.ConfigDict {
    const base = { rate: this.rate, beta: this.beta, power: this.power, pairs: this.pairs };
    if (this.geometry != null) {
      const g = this.geometry;
      return { ...base, geometry: { inputGrid: [...g.inputGrid], lattice: [...g.lattice], outputs: g.outputs } };
    }
    return { ...base, positions: this.positions() };
  }

  private factors(): tf.Tensor2D {
    if (this.factorTensor == null || this.factorTensor.isDisposed) {
      this.factorTensor = tf.keep(tf.tensor2d(this.lengthFactors(), [this.numNeurons, this.numNeurons]));
    }
    return this.factorTensor;
  }
}
tf.serialization.registerClass(SynapticLengthRegularizer);

function checkPositions(value: unknown): number[][] {
  if (!Array.isArray(value) || value.length < 1) fail(WHERE, 'positions', value, 'a non-empty array of [x, y, z] coordinates, one per neuron');
  return value.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 3 || !p.every((c) => typeof c === 'number' && Number.isFinite(c))) {
      fail(WHERE, `positions[${i}]`, p, 'an array of 3 finite numbers [x, y, z]');
    }
    return p.slice() as number[];
  });
}

/**
 * Creates a {@link SynapticLengthRegularizer}: `rate · Σ |W_ij| · d_ij^power`
 * (Golkar, "Emergent Structures ...", eq. 9).
 * @example nm.regularizers.synapticLength({ rate: 1e-4, geometry: { inputGrid: [8, 8], lattice: [6, 6, 3], outputs: 10 } })
 */
export function synapticLength(args: SynapticLengthArgs): SynapticLengthRegularizer {
  return new SynapticLengthRegularizer(args);
}
