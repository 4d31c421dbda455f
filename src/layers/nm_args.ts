/**
 * Arguments of the Neural Module layer, their validation and their defaults,
 * resolved once so the algorithm never sees `undefined`.
 */
import { initializers, regularizers } from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '../utils/tfjs_types.js';
import type { Topology } from '../graph/mask.js';
import { HOST_SOLVER_NAMES, resolveSolverOptions } from '../solvers/registry.js';
import type { ResolvedSolverOptions, SolverConfig, SolverName } from '../solvers/types.js';
import { checkInt, checkKeys, checkNumber, checkOneOf, fail } from '../utils/errors.js';
import { deserializeObject } from '../utils/serialization.js';
import { ContractiveGraph } from './graph_initializer.js';
import { NODE_ACTIVATIONS, type NodeActivationName } from './node_activation.js';

import type { Initializer, Regularizer } from '../utils/tfjs_types.js';
const InitializerBase = Object.getPrototypeOf(initializers.zeros().constructor);
const RegularizerBase = Object.getPrototypeOf(regularizers.l1().constructor);
const isInitializer = (v: unknown): v is Initializer => v instanceof InitializerBase;
const isRegularizer = (v: unknown): v is Regularizer => v instanceof RegularizerBase;

export const NON_CONVERGENCE_MODES = ['warn', 'throw', 'ignore'] as const;
export const ENGINES = ['auto', 'host', 'tensor'] as const;
export type Engine = (typeof ENGINES)[number];
/** Above this density `engine: 'auto'` keeps the tensor engine (dense matMul beats sparse kernels there). */
export const AUTO_HOST_MAX_DENSITY = 0.3;
export type NonConvergenceMode = (typeof NON_CONVERGENCE_MODES)[number];

/** Arguments of `nm.layers.neuralModule`. */
export interface NeuralModuleLayerArgs extends LayerArgs {
  /** Number of nodes p (the output width). Required, integer ≥ 1. */
  units: number;
  /** Node activation f. Default: `'tanh'`. */
  activation?: NodeActivationName;
  /** Fraction ρ ∈ (0, 1] of off-diagonal edges kept for the solve. Default: 0.05. */
  density?: number;
  /** `'graph'` (complete directed graph) or `'dag'` (strictly upper-triangular edges only). Default: `'graph'`. */
  topology?: Topology;
  /** Forward solver, a name or a config. Default: `{ method: 'anderson', tol: 1e-4, maxIter: 50 }`. */
  solver?: SolverConfig | SolverName;
  /** Adjoint (backward) solver. Default: the forward solver's settings. */
  backwardSolver?: SolverConfig | SolverName;
  /** Initializer of the input kernel U (n × p). Default: `'glorotUniform'`. */
  inputInitializer?: string | Initializer | { className: string; config?: object };
  /** Initializer of the graph W (p × p, diagonal = bias). Default: `ContractiveGraph({ gain: 0.5, density, topology })`. */
  graphInitializer?: string | Initializer | { className: string; config?: object };
  /** Regularizer of the input kernel. Default: none. */
  inputRegularizer?: string | Regularizer | { className: string; config?: object } | null;
  /** Regularizer of the graph (e.g. `nm.regularizers.nm(...)`). Default: none. */
  graphRegularizer?: string | Regularizer | { className: string; config?: object } | null;
  /** What a solve that misses its tolerance does: `'warn'` (once per fit), `'throw'` or `'ignore'`. Default: `'warn'`. */
  onNonConvergence?: NonConvergenceMode;
  /** Check each input batch for NaN/Inf (one device sync per call). Default: true. */
  validateInput?: boolean;
  /**
   * Contraction safeguard: at every re-partition, if the power-iteration estimate of
   * ‖A‖₂ times sup|f'| exceeds this bound, the off-diagonal graph weights are scaled
   * down so that it equals the bound (a projection, like a weight constraint).
   * `null` turns it off. Default: null.
   */
  contractionBound?: number | null;
  /**
   * Where the implicit solves run. `'host'`: on typed arrays with sparse
   * (WebAssembly SIMD) kernels over the kept edges, one read-back per solve; fast on
   * the CPU-resident backends (cpu, wasm), supports the `'picard'` and `'anderson'`
   * solvers. `'tensor'`: one tfjs op per iteration (dense masked matMul); any solver,
   * any backend (webgl keeps the data on the GPU). `'auto'`: host on cpu/wasm when
   * both solvers are picard/anderson and density ≤ 0.3, else tensor. Default: `'auto'`.
   */
  engine?: Engine;
}

/** Fully resolved layer options. */
export interface ResolvedNeuralModuleArgs {
  units: number;
  activation: NodeActivationName;
  density: number;
  topology: Topology;
  solver: ResolvedSolverOptions;
  backwardSolver: ResolvedSolverOptions;
  inputInitializer: Initializer;
  graphInitializer: Initializer;
  inputRegularizer: Regularizer | null;
  graphRegularizer: Regularizer | null;
  onNonConvergence: NonConvergenceMode;
  validateInput: boolean;
  contractionBound: number | null;
  engine: Engine;
}

const OWN_KEYS = [
  'units', 'activation', 'density', 'topology', 'solver', 'backwardSolver', 'inputInitializer', 'graphInitializer',
  'inputRegularizer', 'graphRegularizer', 'onNonConvergence', 'validateInput', 'contractionBound', 'engine',
];
// LayerArgs keys, plus 'customObjects', which tfjs passes when deserializing.
const BASE_KEYS = ['inputShape', 'batchInputShape', 'batchSize', 'dtype', 'name', 'trainable', 'weights', 'inputDType', 'customObjects'];

/** Validates `args` and fills every default. */
export function resolveNeuralModuleArgs(args: NeuralModuleLayerArgs): ResolvedNeuralModuleArgs {
  const where = `neuralModule${args?.name ? ` '${args.name}'` : ''}`;
  if (args == null || typeof args !== 'object') fail(where, 'args', args, 'an object such as { units: 100 }');
  checkKeys(where, args, [...OWN_KEYS, ...BASE_KEYS]);
  const units = checkInt(where, 'units', args.units, 1);
  const density = checkNumber(where, 'density', args.density ?? 0.05, 0, 1, { lo: true });
  const topology = checkOneOf(where, 'topology', args.topology ?? 'graph', ['graph', 'dag'] as const);
  const activation = checkOneOf(where, 'activation', args.activation ?? 'tanh', NODE_ACTIVATIONS);
  const solver = resolveSolverOptions(args.solver, `${where}: solver`);
  const backwardSolver = resolveSolverOptions(args.backwardSolver, `${where}: backwardSolver`, solver);
  const onNonConvergence = checkOneOf(where, 'onNonConvergence', args.onNonConvergence ?? 'warn', NON_CONVERGENCE_MODES);
  const validateInput = args.validateInput ?? true;
  if (typeof validateInput !== 'boolean') fail(where, 'validateInput', validateInput, 'a boolean');
  const contractionBound = args.contractionBound == null ? null : checkNumber(where, 'contractionBound', args.contractionBound, 0, Infinity, { lo: true });
  const engine = checkOneOf(where, 'engine', args.engine ?? 'auto', ENGINES);
  if (engine === 'host') {
    for (const [arg, o] of [['solver', solver], ['backwardSolver', backwardSolver]] as const) {
      if (!(HOST_SOLVER_NAMES as readonly string[]).includes(o.method)) {
        fail(where, `${arg}.method`, o.method, `one of ${HOST_SOLVER_NAMES.map((n) => `'${n}'`).join(', ')} with engine 'host'`, `Use engine 'tensor' or 'auto' for '${o.method}'.`);
      }
    }
  }
  const init = (arg: string, v: unknown, dflt: () => Initializer) =>
    v == null ? dflt() : deserializeObject<Initializer>(where, arg, v, isInitializer)!;
  const reg = (arg: string, v: unknown) => deserializeObject<Regularizer>(where, arg, v, isRegularizer);
  return {
    units,
    activation,
    density,
    topology,
    solver,
    backwardSolver,
    inputInitializer: init('inputInitializer', args.inputInitializer, () => initializers.glorotUniform({})),
    graphInitializer: init('graphInitializer', args.graphInitializer, () => new ContractiveGraph({ density, topology })),
    inputRegularizer: reg('inputRegularizer', args.inputRegularizer),
    graphRegularizer: reg('graphRegularizer', args.graphRegularizer),
    onNonConvergence,
    validateInput,
    contractionBound,
    engine,
  };
}
