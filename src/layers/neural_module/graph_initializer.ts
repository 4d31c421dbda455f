/**
 * The default initializer of the Neural Module graph: it keeps the initial solve
 * contractive (DESIGN.md §1, "Well-posedness").
 *
 * Off-diagonal entries are drawn N(0, 1), the diagonal (bias) is 0; then the whole
 * matrix is scaled so that the spectral norm of its magnitude-masked part (the
 * active graph A at the layer's density and topology) equals `gain`. With a
 * 1-Lipschitz activation, `gain < 1` makes the initial fixed-point map a contraction,
 * so Picard converges at rate ≤ gain. For `topology: 'dag'` the lower triangle is 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InitializerBase } from '../../utils/tfjs_bases.js';
import { serialization } from '@tensorflow/tfjs-core';
import { magnitudeMask, type Topology } from '../../graph/mask.js';
import { spectralNormEstimate } from '../../graph/spectral.js';
import { checkNumber, checkOneOf } from '../../utils/errors.js';
import { Random } from '../../utils/random.js';

/** Arguments of {@link ContractiveGraph}. */
export interface ContractiveGraphArgs {
  /** Target spectral norm of the masked graph. Default: 0.5. */
  gain?: number;
  /** Density ρ of the mask the norm is measured on. Default: 1. */
  density?: number;
  /** Topology of the mask. Default: `'graph'`. */
  topology?: Topology;
  /** Seed of the normal draws. Default: drawn from Math.random. */
  seed?: number;
}

/** Contraction-preserving graph initializer (className `'NMContractiveGraph'`). */
export class ContractiveGraph extends InitializerBase {
  static className = 'NMContractiveGraph';
  readonly gain: number;
  readonly density: number;
  readonly topology: Topology;
  readonly seed: number | null;

  constructor(args: ContractiveGraphArgs = {}) {
    super();
    const where = 'ContractiveGraph';
    this.gain = checkNumber(where, 'gain', args.gain ?? 0.5, 0, Infinity, { lo: true });
    this.density = checkNumber(where, 'density', args.density ?? 1, 0, 1, { lo: true });
    this.topology = checkOneOf(where, 'topology', args.topology ?? 'graph', ['graph', 'dag'] as const);
    this.seed = args.seed ?? null;
  }

  override apply(shape: Array<number | null>): tf.Tensor {
    const dims = shape as number[];
    const [p, q] = dims;
    if (dims.length !== 2 || p !== q) {
      throw new Error(`ContractiveGraph: expected a square 2-D shape [p, p]; received [${shape.join(', ')}].`);
    }
    const rng = new Random(this.seed ?? Math.floor(Math.random() * 2 ** 31));
    const w = new Float32Array(p * p);
    for (let j = 0; j < p; j++) {
      for (let k = 0; k < p; k++) if (j !== k && (this.topology === 'graph' || k > j)) w[j * p + k] = rng.normal();
    }
    if (p > 1) {
      const mask = magnitudeMask(w, p, this.density, this.topology);
      const norm = spectralNormEstimate(w, mask);
      const scale = norm > 0 ? this.gain / norm : 1;
      for (let i = 0; i < w.length; i++) w[i] *= scale;
    }
    return tf.tensor2d(w, [p, p]);
  }

  override getConfig(): serialization.ConfigDict {
    return { gain: this.gain, density: this.density, topology: this.topology, seed: this.seed };
  }
}
serialization.registerClass(ContractiveGraph as unknown as serialization.SerializableConstructor<serialization.Serializable>);
