/**
 * Arguments of the URN layer, their validation and defaults, resolved once so the
 * layer never sees `undefined` (Golkar, "Emergent Structures and Lifetime Structure
 * Evolution in Artificial Neural Networks", eqs. 3–9; shared/DESIGN.md §3).
 */
import { initializers } from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '../../utils/tfjs_types.js';
import { checkLayerArgs } from '../../utils/layer_args.js';
import { SynapticLengthRegularizer, type SynapticLengthArgs } from '../../regularizers/synaptic_length.js';
import { checkActivation } from '../../activations/validate.js';
import { checkInt, checkNumber, checkOneOf, fail } from '../../utils/errors.js';
import { deserializeObject } from '../../utils/serialization.js';
import { URN_ACTIVATIONS, URN_RESIDUALS, type URNActivation, type URNResidual } from './forward.js';
import { isInitializer } from '../../utils/tfjs_bases.js';

type Initializer = ReturnType<typeof initializers.zeros>;
const isSynaptic = (v: unknown): v is SynapticLengthRegularizer => v instanceof SynapticLengthRegularizer;

/** Arguments of `nm.layers.urn`. */
export interface URNLayerArgs extends LayerArgs {
  /** Total number of neurons S (input, hidden and output neurons together). Required, integer ≥ 2. */
  neurons: number;
  /** Number of applications I of the update rule. Default: 4 (the paper's value). */
  iterations?: number;
  /** Output width d_out: the output is read from the last d_out neurons. Required, integer in [1, S − 1]. */
  outputUnits: number;
  /** Neuron activation φ, a pointwise tfjs-layers activation name (see {@link URN_ACTIVATIONS}). Default: `'relu'`. */
  activation?: URNActivation;
  /** Update rule: `'none'` (eq. 3), `'output'` (eq. 6, accumulating output neurons), `'input'` (eq. 7, input re-fed every step). Default: `'none'`. */
  residual?: URNResidual;
  /** c_W ≥ 0: L1 penalty `c_W·Σ|W|` on the kernel, attached as the kernel's regularizer. Default: 0. */
  weightL1?: number;
  /** c_N ≥ 0: activity penalty `c_N·Σ_{l=1..I} |N⁽ˡ⁾|₁`, averaged over the batch, added to the training loss. Default: 0. */
  activityL1?: number;
  /** Synaptic-length term (eq. 9): a `SynapticLengthRegularizer`, its args, or `{ className: 'SynapticLength', config }`. Default: none. */
  synapticLength?: SynapticLengthRegularizer | SynapticLengthArgs | { className: string; config?: object } | null;
  /** Kernel initializer (instance, name or `{ className, config }`). Default: `'heNormal'` (the paper's). */
  kernelInitializer?: string | Initializer | { className: string; config?: object };
  /** Bias initializer. Default: `'zeros'`. */
  biasInitializer?: string | Initializer | { className: string; config?: object };
}

/** Fully resolved layer options. */
export interface ResolvedURNArgs {
  neurons: number;
  iterations: number;
  outputUnits: number;
  activation: URNActivation;
  residual: URNResidual;
  weightL1: number;
  activityL1: number;
  synapticLength: SynapticLengthRegularizer | null;
  /** True when the layer built the regularizer from a config (and so owns and disposes it). */
  ownsSynapticLength: boolean;
  kernelInitializer: Initializer;
  biasInitializer: Initializer;
}

const URN_KEYS = [
  'neurons',
  'iterations',
  'outputUnits',
  'activation',
  'residual',
  'weightL1',
  'activityL1',
  'synapticLength',
  'kernelInitializer',
  'biasInitializer',
];
/** Largest supported I (the analysis keeps per-iteration activity; keep it sane). */
export const MAX_ITERATIONS = 1000;

/** Validates URN args and fills defaults. Throws ConfigError naming the argument, value and expectation. */
export function resolveURNArgs(args: URNLayerArgs): ResolvedURNArgs {
  const where = 'urn';
  checkLayerArgs(where, args, URN_KEYS, 'an object with at least { neurons, outputUnits }');
  const neurons = checkInt(where, 'neurons', args.neurons, 2);
  const iterations = checkInt(where, 'iterations', args.iterations ?? 4, 1, MAX_ITERATIONS);
  const outputUnits = checkInt(where, 'outputUnits', args.outputUnits, 1, neurons - 1);
  const activation = checkActivation(where, args.activation ?? 'relu', URN_ACTIVATIONS);
  const residual = checkOneOf(where, 'residual', args.residual ?? 'none', URN_RESIDUALS);
  const weightL1 = checkNumber(where, 'weightL1', args.weightL1 ?? 0, 0);
  const activityL1 = checkNumber(where, 'activityL1', args.activityL1 ?? 0, 0);
  let synapticLength: SynapticLengthRegularizer | null = null;
  let ownsSynapticLength = false;
  const syn = args.synapticLength;
  if (syn != null) {
    if (isSynaptic(syn)) synapticLength = syn;
    else if (typeof syn === 'object' && 'className' in syn) {
      synapticLength = deserializeObject(where, 'synapticLength', syn, isSynaptic);
      ownsSynapticLength = true;
    } else if (typeof syn === 'object') {
      synapticLength = new SynapticLengthRegularizer(syn as SynapticLengthArgs);
      ownsSynapticLength = true;
    } else {
      fail(where, 'synapticLength', syn, 'a SynapticLengthRegularizer, its args { rate, positions | geometry, ... }, or null');
    }
    if (synapticLength!.numNeurons !== neurons) {
      fail(
        where,
        'synapticLength',
        `a regularizer placing ${synapticLength!.numNeurons} neurons`,
        `one that places exactly neurons = ${neurons} neurons`,
        'Match the geometry (rows·cols + X·Y·Z + outputs) or the positions array to S.',
      );
    }
  }
  const kernelInitializer = deserializeObject(where, 'kernelInitializer', args.kernelInitializer ?? 'heNormal', isInitializer)!;
  const biasInitializer = deserializeObject(where, 'biasInitializer', args.biasInitializer ?? 'zeros', isInitializer)!;
  return {
    neurons,
    iterations,
    outputUnits,
    activation,
    residual,
    weightL1,
    activityL1,
    synapticLength,
    ownsSynapticLength,
    kernelInitializer,
    biasInitializer,
  };
}
