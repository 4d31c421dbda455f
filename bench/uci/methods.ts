/**
 * The compared methods (shared/DESIGN.md §4) and their tuning designs.
 *
 * Protocols v2 (the default) and paper: per run, B configurations drawn
 * from independent grids ({@link V2_GRIDS}, {@link drawConfigs}); `NMs&NM+sched` is
 * NMs&NM with the `nmAlphaSchedule` callback (its defaults).
 *
 * Protocol v1 (the first report): every method gets the same number of configurations (the budget B ∈ {1, 2, 4}):
 * - NN, DEQ, OPTNET (only the learning rate applies): lr ∈ {0.01, 0.003} at B = 2, plus
 *   0.001 and 0.03 at B = 4.
 * - NMs (lr, ρ): the full 2×2 factorial at B = 4; {(0,0), (1,1)} at B = 2.
 * - DAG, NMs&L1 (lr, ρ, λ) and NMs&NM (lr, ρ, α): the orthogonal half-fraction L4 of
 *   the 2×2×2 factorial at B = 4 (every pair of factors sees all four level pairs);
 *   {(0,0,0), (1,1,1)} at B = 2.
 * CFF (nm.cff, the v4 paper's Table 2 baseline) is tuned over the learning rate like NN.
 * B = 1 is level 0 of every factor. Levels: lr {0.01, 0.003}; ρ {0.05, 0.01} (the papers'
 * Table 5 values); λ and α {1e-3, 1e-4} (tfjs adds the penalty to a batch-mean loss,
 * see the NMRegularizer caveats). DEQ is ρ = 1 by definition. All use Adam.
 */
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';
import { BenchConfigError, type MethodName } from './config.js';
import { fixedSettings, isFixedMethod, LAYER_DENSITY } from './fixed_settings.js';
import { v3Configs, type V3Config } from './grids_v3.js';
import { hashSeed } from './seeded_random.js';

/**
 * One tuning configuration. `density`/`l1`/`alpha` only where the method has them; `momentum` selects SGD with momentum (the paper
 * protocol) instead of Adam; `contractive` (protocol v3 only) sets the graph constraint: true =
 * `nm.constraints.contractive({ bound: 0.9 })`, false or absent (protocols v1, v2, paper) = none.
 */
export interface MethodConfig extends V3Config {
  momentum?: number;
}

const LR = [0.01, 0.003];
const LR_WIDE = [0.01, 0.003, 0.001, 0.03];
const RHO = [0.05, 0.01];
const REG = [1e-3, 1e-4];

/** Protocol v2's grids (independent per factor; see {@link drawConfigs}). */
export const V2_GRIDS = {
  /** Adam learning rate. */
  lr: [0.03, 0.01, 0.003, 0.001],
  /** Kept density ρ (the papers' Table 5 uses 0.01 and 0.05). */
  density: [0.01, 0.02, 0.05, 0.1],
  /** L1 λ or NM α: a log grid covering 1e-4…1e-1. */
  reg: [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
} as const;
/** Bound of `nm.constraints.contractive` when a v3 configuration has `contractive: true` (the layer's default bound). */
export const CONTRACTION_BOUND = 0.9;
/** The papers' optimizer (neural-modules-v3 Table 5): SGD, learning rate 0.1, momentum 0.5. */
export const PAPER_SGD = { lr: 0.1, momentum: 0.5 } as const;

/** Level-index designs per factor count and budget (see the file comment). */
const DESIGNS: Record<2 | 3, Record<1 | 2 | 4, number[][]>> = {
  2: {
    1: [[0, 0]],
    2: [
      [0, 0],
      [1, 1],
    ],
    4: [
      [0, 0],
      [1, 1],
      [0, 1],
      [1, 0],
    ],
  },
  3: {
    1: [[0, 0, 0]],
    2: [
      [0, 0, 0],
      [1, 1, 1],
    ],
    4: [
      [0, 0, 0],
      [0, 1, 1],
      [1, 0, 1],
      [1, 1, 0],
    ],
  },
};

/** The factors a method is tuned over (besides the learning rate, which protocol `paper` fixes). */
function methodFactors(method: MethodName): ('density' | 'l1' | 'alpha')[] {
  switch (method) {
    case 'NN':
    case 'DEQ':
    case 'CFF':
    case 'OPTNET':
    case 'NM-default':
    case 'NM-recipe':
      return [];
    case 'NMs':
      return ['density'];
    case 'DAG':
    case 'NMs&L1':
      return ['density', 'l1'];
    case 'NMs&NM':
    case 'NMs&NM+sched':
      return ['density', 'alpha'];
  }
}

/** A small seeded generator (mulberry32) for the configuration draws. */
function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** B levels of one factor: shuffled passes over the grid, so every level appears before any repeats (a Latin-hypercube draw). */
function drawLevels<T>(grid: readonly T[], budget: number, next: () => number): T[] {
  const out: T[] = [];
  while (out.length < budget) {
    const pass = grid.slice();
    for (let i = pass.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [pass[i], pass[j]] = [pass[j], pass[i]];
    }
    out.push(...pass);
  }
  return out.slice(0, budget);
}

/**
 * Protocol v2 / paper: `budget` configurations of `method` drawn from independent grids
 * ({@link V2_GRIDS}), each factor an independent Latin-hypercube draw seeded by `drawSeed`
 * (the runner derives it from the run: dataset, nodes, seed, method), so every run of every
 * method gets the same number of fresh draws. `paper` fixes the optimizer to
 * {@link PAPER_SGD}; a method with nothing left to tune (NN, DEQ, CFF, OPTNET) then has one
 * configuration. Duplicate draws are kept out (a method whose grid is smaller than the
 * budget gets fewer configurations).
 */
export function drawConfigs(method: MethodName, budget: number, protocol: 'v2' | 'paper', drawSeed: number): MethodConfig[] {
  const next = mulberry(drawSeed);
  const factors = methodFactors(method);
  const size =
    (protocol === 'v2' ? V2_GRIDS.lr.length : 1) * factors.reduce((n, f) => n * (f === 'density' ? V2_GRIDS.density.length : V2_GRIDS.reg.length), 1);
  const b = Math.min(budget, size);
  const lrs = protocol === 'v2' ? drawLevels(V2_GRIDS.lr, b, next) : Array<number>(b).fill(PAPER_SGD.lr);
  const columns = factors.map((f) => drawLevels(f === 'density' ? V2_GRIDS.density : V2_GRIDS.reg, b, next));
  const out: MethodConfig[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < b; i++) {
    const c: MethodConfig = { lr: lrs[i] };
    factors.forEach((f, k) => (c[f] = columns[k][i]));
    if (protocol === 'paper') c.momentum = PAPER_SGD.momentum;
    const id = JSON.stringify(c);
    if (!seen.has(id)) {
      seen.add(id);
      out.push(c);
    }
  }
  return out;
}

/** The configurations a method is tuned over, in a fixed order (protocol v1; v2 and paper: {@link drawConfigs}). */
export function tuningGrid(method: MethodName, budget: 1 | 2 | 4): MethodConfig[] {
  switch (method) {
    case 'NN':
    case 'DEQ':
    case 'CFF':
    case 'OPTNET':
    case 'NM-default':
    case 'NM-recipe':
      return LR_WIDE.slice(0, budget).map((lr) => ({ lr }));
    case 'NMs':
      return DESIGNS[2][budget].map(([a, b]) => ({ lr: LR[a], density: RHO[b] }));
    case 'DAG':
    case 'NMs&L1':
      return DESIGNS[3][budget].map(([a, b, c]) => ({ lr: LR[a], density: RHO[b], l1: REG[c] }));
    case 'NMs&NM':
    case 'NMs&NM+sched':
      return DESIGNS[3][budget].map(([a, b, c]) => ({ lr: LR[a], density: RHO[b], alpha: REG[c] }));
  }
}

/** The configurations of one run under the protocol of `cfg`. */
export function runConfigs(
  method: MethodName,
  cfg: { budget: number; protocol: 'v1' | 'v2' | 'paper' | 'v3' },
  run: { dataset: string; nodes: number; seed: number },
): MethodConfig[] {
  if (cfg.protocol === 'v1') return tuningGrid(method, cfg.budget as 1 | 2 | 4);
  if (cfg.protocol === 'v3') return v3Configs(method, cfg.budget, run);
  return drawConfigs(method, cfg.budget, cfg.protocol, hashSeed(`${cfg.protocol}|${run.dataset}|${run.nodes}|${run.seed}|${method}`));
}

type Factory = (args: Record<string, unknown>) => unknown;

/** A regularizer factory of `nm.regularizers`, or null while it is not exported. */
function regularizerFactory(name: 'nm' | 'offDiagonalL1'): Factory | null {
  const f = (nm.regularizers as unknown as Record<string, unknown>)[name];
  return typeof f === 'function' ? (f as Factory) : null;
}

/** Methods that cannot run because a regularizer they need is not exported from nm.regularizers. */
export function unavailableMethods(methods: readonly MethodName[]): { method: MethodName; missing: string }[] {
  const need: Partial<Record<MethodName, 'nm' | 'offDiagonalL1'>> = {
    DAG: 'offDiagonalL1',
    'NMs&L1': 'offDiagonalL1',
    'NMs&NM': 'nm',
    'NMs&NM+sched': 'nm',
    'NM-default': 'nm',
    'NM-recipe': 'nm',
  };
  return methods.flatMap((m) => {
    const r = need[m];
    return r && !regularizerFactory(r) ? [{ method: m, missing: `nm.regularizers.${r}` }] : [];
  });
}

function graphRegularizer(name: 'nm' | 'offDiagonalL1', args: Record<string, unknown>): nm.layers.NeuralModuleLayerArgs['graphRegularizer'] {
  const f = regularizerFactory(name);
  if (!f)
    throw new BenchConfigError(`nm.regularizers.${name} is not exported by src/regularizers/index.ts yet; leave out the methods that need it (--methods).`);
  return f(args) as nm.layers.NeuralModuleLayerArgs['graphRegularizer'];
}

/** What a built model needs to be trained and inspected. */
export interface BuiltModel {
  model: tf.Sequential;
  /** The Neural Module layer, or null for NN and OPTNET. */
  nmLayer: InstanceType<typeof nm.layers.NeuralModuleLayer> | null;
  /** Callbacks the method needs during fit (the partition callback for NM layers). */
  callbacks: tf.CustomCallbackArgs[] | tf.Callback[];
  /** Frees what the model does not own (regularizer caches). */
  dispose(): void;
}

/** Builds and compiles the model of `method` with `config`: hidden layer of p nodes, softmax output. */
export function buildModel(
  method: MethodName,
  config: MethodConfig,
  shape: { features: number; classes: number; nodes: number },
  nmForm: 'repulsion' | 'size',
  engine: 'auto' | 'host' | 'tensor' = 'auto',
): BuiltModel {
  if (method === 'CFF') throw new BenchConfigError('CFF is not a tf.Sequential model: build it with buildCff and train it with trainCffTrial.');
  const { features, classes, nodes } = shape;
  const model = tf.sequential();
  let nmLayer: BuiltModel['nmLayer'] = null;
  let reg: unknown = null;
  const fixed = isFixedMethod(method) ? fixedSettings(method, nodes) : null;
  if (method === 'NN') {
    model.add(tf.layers.dense({ inputShape: [features], units: nodes, activation: 'tanh' }));
  } else if (method === 'OPTNET') {
    // OptNet (Amos & Kolter 2017): z* of a QP with p variables and p inequalities; no modules.
    model.add(nm.layers.optNet({ inputShape: [features], units: nodes, inequalities: nodes, onNonConvergence: 'ignore' }));
  } else if (fixed) {
    // The library's own settings: every layer default (solver 'auto', the default contraction), the definition's density
    // and the method's fixed regularizer (fixed_settings.ts, versioned in the trial key).
    reg = graphRegularizer('nm', fixed.regularizer);
    nmLayer = nm.layers.neuralModule({
      inputShape: [features],
      units: nodes,
      density: fixed.density ?? LAYER_DENSITY, // explicit: the definition, not the layer default of this commit
      graphRegularizer: reg as nm.layers.NeuralModuleLayerArgs['graphRegularizer'],
      onNonConvergence: 'ignore', // counted per trial (solverStats) instead of warned
      validateInput: false,
    });
    model.add(nmLayer);
  } else {
    const args: nm.layers.NeuralModuleLayerArgs = {
      inputShape: [features],
      units: nodes,
      activation: 'tanh',
      density: method === 'DEQ' ? 1 : config.density!,
      topology: method === 'DAG' ? 'dag' : 'graph',
      solver: { method: 'anderson', tol: 1e-4, maxIter: 50 },
      engine, // config.ts layerEngine: named for DEQ, 'auto' otherwise
      onNonConvergence: 'ignore', // recorded per run (solverStats) instead of warned
      validateInput: false, // inputs are standardized finite CSV values (checked at load)
    };
    // Protocol v3 sets the constraint explicitly (a grid factor). Protocols v1, v2 and paper build the layer without
    // one, as it was when their stores were run (the contraction became the layer's default later): a resumed or
    // repeated run then trains what the stored trials trained.
    args.graphConstraint = config.contractive ? nm.constraints.contractive({ bound: CONTRACTION_BOUND }) : null;
    if (method === 'DAG' || method === 'NMs&L1') args.graphRegularizer = graphRegularizer('offDiagonalL1', { l1: config.l1! });
    if (method === 'NMs&NM' || method === 'NMs&NM+sched') args.graphRegularizer = graphRegularizer('nm', { alpha: config.alpha!, form: nmForm, norm: 'l1' });
    reg = args.graphRegularizer ?? null;
    nmLayer = nm.layers.neuralModule(args);
    model.add(nmLayer);
  }
  model.add(tf.layers.dense({ units: classes, activation: 'softmax' }));
  const optimizer = config.momentum != null ? tf.train.momentum(config.lr, config.momentum) : tf.train.adam(config.lr);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const callbacks: tf.Callback[] = [];
  if (nmLayer) callbacks.push(nm.callbacks.modulePartition({ every: fixed?.every ?? 'epoch' }));
  // The adaptive α (neural-modules-v3 §3.5), with its documented defaults; after modulePartition so it sees this epoch's modules.
  if (method === 'NMs&NM+sched') callbacks.push(nm.callbacks.nmAlphaSchedule());
  return {
    model,
    nmLayer,
    callbacks,
    dispose() {
      model.optimizer?.dispose(); // Adam's moment variables are not owned by the model
      model.dispose();
      const d = (reg as { dispose?: () => void } | null)?.dispose;
      if (typeof d === 'function') d.call(reg);
    },
  };
}

/** Units of the CFF graph for p hidden nodes: min(4, p) units on a bidirectional ring, sizes as equal as possible (docs/guide/cff.md). */
export function cffUnitSizes(nodes: number): number[] {
  const units = Math.min(4, nodes);
  return Array.from({ length: units }, (_, u) => Math.floor(nodes / units) + (u < nodes % units ? 1 : 0));
}

/** Builds the CFF network of p hidden nodes (trained by its own fit, bench/uci/train.ts `trainCffTrial`). */
export function buildCff(config: MethodConfig, shape: { features: number; classes: number; nodes: number }): InstanceType<typeof nm.cff.CFFNetwork> {
  return nm.cff.cyclicForwardForward({
    inputDim: shape.features,
    numClasses: shape.classes,
    unitSizes: cffUnitSizes(shape.nodes),
    learningRate: config.lr,
    seed: Math.floor(Math.random() * 2 ** 31), // Math.random is seeded per trial by the runner
  });
}
