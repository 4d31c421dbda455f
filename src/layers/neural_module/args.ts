/**
 * Arguments of the Neural Module layer, their validation and their defaults,
 * resolved once so the algorithm never sees `undefined`.
 */
import { initializers } from '@tensorflow/tfjs-layers';
import type { Initializer, LayerArgs, Regularizer } from '../../utils/tfjs_types.js';
import { checkLayerArgs } from '../../utils/layer_args.js';
import type { Topology } from '../../graph/mask.js';
import { ContractiveConstraint } from '../../constraints/contractive.js';
import { isConstraint, isInitializer, isRegularizer, type Constraint } from '../../utils/tfjs_bases.js';
import { checkEngineOptions, ENGINES, type Engine } from './engine/engine_registry.js';
import { resolveSolverOptions } from '../../solvers/registry.js';
import { NON_CONVERGENCE_MODES, type NonConvergenceMode, type ResolvedSolverOptions, type SolverConfig, type SolverName } from '../../solvers/solver_types.js';
import { checkActivation } from '../../activations/validate.js';
import { checkInt, checkNumber, checkOneOf, fail } from '../../utils/errors.js';
import { deserializeObject } from '../../utils/serialization.js';
import { ContractiveGraph } from './graph_initializer.js';
import { NODE_ACTIVATIONS, type NodeActivationName } from '../../activations/index.js';

/**
 * Largest `units`: the p×p graph, its gradient and the optimizer's slots are dense
 * float32 (4·p² bytes each, 1 GiB at p = 16384), beyond what a tfjs backend allocates.
 */
export const MAX_UNITS = 16384;
export type { Engine };
/**
 * Version of the layer's saved state. 2: the kept-edge mask is a non-trainable
 * weight (`keptEdges`), so a loaded model computes with the mask it was trained
 * with. 1: models saved before that; their mask is re-derived from the weights.
 */
export const STATE_VERSION = 2;
/** Bound of the default graph constraint, `nm.constraints.contractive({ bound: 0.9 })` (topology 'graph'). */
export const DEFAULT_CONTRACTION_BOUND = 0.9;

/**
 * The default density of a layer of `units` nodes: min(0.05, 5/(units − 1)) on a complete
 * graph, so that it keeps at most about 5 edges per node (0.05 up to 100 units), and 0.05
 * for a DAG. Ours, measured: at a fixed density the kept edges grow as p², and at 300
 * nodes and 0.05 (15 per node) most of them sit near zero and close one large module
 * (docs/STRUCTURE.md, "A density rule for larger layers").
 */
export function defaultDensity(units: number, topology: Topology): number {
  return topology === 'graph' ? Math.min(0.05, 5 / (units - 1)) : 0.05; // units 1: 5/0 = ∞, so 0.05
}

/** Arguments of `nm.layers.neuralModule`. */
export interface NeuralModuleLayerArgs extends LayerArgs {
  /** Number of nodes p (the output width). Required, integer in [1, 16384] (the dense p×p graph). */
  units: number;
  /** Node activation f, a pointwise tfjs-layers activation name (see {@link NODE_ACTIVATIONS}). Default: `'tanh'`. */
  activation?: NodeActivationName;
  /**
   * Fraction ρ ∈ (0, 1] of off-diagonal edges kept for the solve. Default (see
   * {@link defaultDensity}): min(0.05, 5/(units − 1)) on a complete graph, at most about 5
   * kept edges per node, so 0.05 up to 100 units; 0.05 for a DAG.
   */
  density?: number;
  /** `'graph'` (complete directed graph) or `'dag'` (strictly upper-triangular edges only). Default: `'graph'`. */
  topology?: Topology;
  /** Forward solver, a name or a config. Default: `{ method: 'auto', tol: 1e-4, maxIter: 50 }` (Picard, then Anderson when the contraction is slow). */
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
  /**
   * What a solve that misses its tolerance does: `'warn'` (once per `fit` call, and
   * once per kind of call — predict, evaluate, direct — between fits; forward and
   * backward separately), `'throw'` (a NonConvergenceError) or `'ignore'`.
   * A non-finite result always throws a NonFiniteError. Default: `'warn'`.
   */
  onNonConvergence?: NonConvergenceMode;
  /** Check each input batch for NaN/Inf (one device sync per call). Default: true. */
  validateInput?: boolean;
  /**
   * Constraint on the graph W, applied at every re-partition (build, `repartition()`,
   * the `modulePartition` callback), never on load. `nm.constraints.contractive({ bound })`
   * keeps ‖M∘W‖₂·sup|f'| ≤ bound (the contraction safeguard); any tfjs constraint
   * (`'nonNeg'`, `tf.constraints.maxNorm(...)`) is applied to the whole graph; `null`
   * applies none. Default: `nm.constraints.contractive({ bound: 0.9 })` for topology
   * `'graph'` (a safe default: without it, edges that grew outside the mask enter it at
   * a re-partition at full size and the solves stop converging, docs/STRUCTURE.md),
   * none for `'dag'` (an acyclic graph is solved exactly).
   */
  graphConstraint?: string | Constraint | { className: string; config?: object } | null;
  /**
   * Deprecated: `contractionBound: b` is `graphConstraint: nm.constraints.contractive({ bound: b })`.
   * Kept so that configs saved by 0.1 load. Default: null.
   */
  contractionBound?: number | null;
  /** Format of the saved layer state, written by `getConfig`; leave unset (see {@link STATE_VERSION}). */
  stateVersion?: number;
  /**
   * Where the implicit solves run. `'host'`: on typed arrays with sparse
   * (WebAssembly SIMD) kernels over the kept edges, one read-back per solve; fast on
   * the CPU-resident backends (cpu, wasm), supports the `'picard'`, `'anderson'` and `'auto'`
   * solvers. `'tensor'`: one tfjs op per iteration (dense masked matMul); any solver,
   * any backend (webgl keeps the data on the GPU). `'auto'`: host on cpu/wasm when
   * both solvers are picard/anderson/auto (at any density), else tensor. Default: `'auto'`.
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
  graphConstraint: Constraint | null;
  engine: Engine;
  stateVersion: number;
}

const OWN_KEYS = [
  'units',
  'activation',
  'density',
  'topology',
  'solver',
  'backwardSolver',
  'inputInitializer',
  'graphInitializer',
  'inputRegularizer',
  'graphRegularizer',
  'onNonConvergence',
  'validateInput',
  'graphConstraint',
  'contractionBound',
  'engine',
  'stateVersion',
];

/** Validates `args` and fills every default. */
export function resolveNeuralModuleArgs(args: NeuralModuleLayerArgs): ResolvedNeuralModuleArgs {
  const where = `neuralModule${args?.name ? ` '${args.name}'` : ''}`;
  checkLayerArgs(where, args, OWN_KEYS, 'an object such as { units: 100 }');
  const units = checkInt(where, 'units', args.units, 1, MAX_UNITS);
  const topology = checkOneOf(where, 'topology', args.topology ?? 'graph', ['graph', 'dag'] as const);
  const density = checkNumber(where, 'density', args.density ?? defaultDensity(units, topology), 0, 1, { lo: true });
  const activation = checkActivation(where, args.activation ?? 'tanh', NODE_ACTIVATIONS);
  const solver = resolveSolverOptions(args.solver, `${where}: solver`);
  const backwardSolver = resolveSolverOptions(args.backwardSolver, `${where}: backwardSolver`, solver);
  const onNonConvergence = checkOneOf(where, 'onNonConvergence', args.onNonConvergence ?? 'warn', NON_CONVERGENCE_MODES);
  const validateInput = args.validateInput ?? true;
  if (typeof validateInput !== 'boolean') fail(where, 'validateInput', validateInput, 'a boolean');
  const contractionBound = args.contractionBound == null ? null : checkNumber(where, 'contractionBound', args.contractionBound, 0, Infinity, { lo: true });
  if (contractionBound != null && args.graphConstraint != null) {
    fail(where, 'contractionBound', contractionBound, 'null when graphConstraint is set', 'Use graphConstraint: nm.constraints.contractive({ bound }) alone.');
  }
  const graphConstraint =
    contractionBound != null
      ? new ContractiveConstraint({ bound: contractionBound })
      : args.graphConstraint === undefined
        ? topology === 'graph'
          ? new ContractiveConstraint({ bound: DEFAULT_CONTRACTION_BOUND })
          : null
        : deserializeObject<Constraint>(where, 'graphConstraint', args.graphConstraint, isConstraint);
  const engine = checkOneOf(where, 'engine', args.engine ?? 'auto', ENGINES);
  checkEngineOptions(where, { engine, solver, backwardSolver });
  const stateVersion = checkInt(where, 'stateVersion', args.stateVersion ?? STATE_VERSION, 1, STATE_VERSION);
  const init = (arg: string, v: unknown, dflt: () => Initializer) => (v == null ? dflt() : deserializeObject<Initializer>(where, arg, v, isInitializer)!);
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
    graphConstraint,
    engine,
    stateVersion,
  };
}
