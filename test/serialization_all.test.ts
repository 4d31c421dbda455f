/**
 * Every option of every serializable class survives serialization (issue #12 §4).
 *
 * One table row per class: how to build it, a value for EVERY option that differs from
 * the default, and how to read the resolved options back from an instance. For each row:
 * 1. the table is complete (the options the instance resolves are exactly the table's
 *    keys) and every non-default value really differs from the default, so a key that
 *    getConfig drops comes back as the default and fails the round trip;
 * 2. `fromConfig(getConfig())` through tfjs' serialization registry (after a JSON
 *    round trip of the config) reproduces the resolved options;
 * 3. the same inside a model: `model.toJSON()` → `tf.models.modelFromJSON`.
 * The callbacks are not tfjs-serializable; their `getConfig()` must rebuild them with `new`.
 *
 * To add an option (e.g. NeuralModule's `graphConstraint`): add one entry to the
 * row's `nonDefault` (and, for a layer, nothing else: `read` takes the resolved
 * options generically, so the completeness check will ask for it).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { useBackend } from './helpers/backends.js';

type Dict = Record<string, unknown>;
interface Serializable {
  getClassName(): string;
  getConfig(): tf.serialization.ConfigDict;
}

/** An initializer / regularizer / other serializable as a comparable `{ className, config }`. */
function ser(v: unknown): unknown {
  if (v == null) return null;
  const s = v as Serializable;
  return { className: s.getClassName(), config: JSON.parse(JSON.stringify(s.getConfig())) };
}

/** Resolved options: nested solver configs become `solver.tol` etc.; serializables become `{ className, config }`. */
function readResolved(options: Dict, skip: string[] = []): Dict {
  const out: Dict = {};
  for (const [k, v] of Object.entries(options)) {
    if (skip.includes(k)) continue;
    if (v != null && typeof (v as Serializable).getClassName === 'function') out[k] = ser(v);
    else if (v != null && typeof v === 'object' && !Array.isArray(v)) for (const [kk, vv] of Object.entries(v)) out[`${k}.${kk}`] = vv;
    else out[k] = v;
  }
  return out;
}

/** Flattens table args the way readResolved flattens resolved options (serializable configs kept whole). */
function argKeys(args: Dict): string[] {
  return Object.entries(args).flatMap(([k, v]) => (isPlain(v) ? Object.keys(v).map((kk) => `${k}.${kk}`) : [k]));
}

const isPlain = (v: unknown): v is Dict =>
  v != null && typeof v === 'object' && !Array.isArray(v) && !('className' in v) && typeof (v as Serializable).getClassName !== 'function';

/** `required` with `nonDefault` laid over it, nested plain objects merged key by key. */
function merge(a: Dict, b: Dict): Dict {
  const out: Dict = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isPlain(v) && isPlain(out[k]) ? merge(out[k] as Dict, v) : v;
  return out;
}

/** Deserializes through tfjs' registry, as model loading does. */
function viaRegistry<T>(obj: Serializable): T {
  const className = obj.getClassName();
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  expect(entry, `${className} is registered`).toBeDefined();
  const [cls, fromConfig] = entry;
  const config = JSON.parse(JSON.stringify(obj.getConfig())) as tf.serialization.ConfigDict;
  return fromConfig(cls, config) as T;
}

interface Row<T> {
  name: string;
  /** Arguments without a default (kept in both instances). */
  required: () => Dict;
  /** A non-default value for every option with a default. */
  nonDefault: () => Dict;
  build: (args: Dict) => T;
  read: (obj: T) => Dict;
  /** Puts the object into a model; `extract` finds it in the reloaded model. */
  inModel: (obj: T, args: Dict) => { model: tf.LayersModel; extract: (m: tf.LayersModel) => T };
}

const N_IN = 3;
const P = 6;
const S = 12;

const positions = (n: number) => Array.from({ length: n }, (_, i) => [i % 3, Math.floor(i / 3) % 2, 0.5 * i]);
const inSequential = (layer: tf.layers.Layer) => {
  const m = tf.sequential();
  m.add(tf.layers.inputLayer({ inputShape: [N_IN] }));
  m.add(layer);
  return m;
};
const nmLayer = (args: Dict) => nm.layers.neuralModule({ units: P, ...args } as nm.layers.NeuralModuleLayerArgs);
const urnLayer = (args: Dict) => nm.layers.urn({ neurons: S, outputUnits: 2, ...args } as nm.layers.URNLayerArgs);
const firstOf =
  <T>(cls: abstract new (...a: never[]) => T) =>
  (m: tf.LayersModel) =>
    m.layers.find((l) => l instanceof cls) as T;

const nmRow: Row<nm.layers.NeuralModuleLayer> = {
  name: 'NeuralModule layer',
  required: () => ({ units: 7 }),
  nonDefault: () => ({
    activation: 'sigmoid',
    density: 0.2,
    topology: 'dag',
    solver: { method: 'picard', tol: 1e-3, maxIter: 17, checkEvery: 2, damping: 0.7, memory: 3, beta: 0.8, lambda: 1e-3, switchRatio: 0.3 },
    backwardSolver: { method: 'broyden', tol: 2e-3, maxIter: 23, checkEvery: 3, damping: 0.6, memory: 4, beta: 0.9, lambda: 2e-3, switchRatio: 0.7 },
    inputInitializer: { className: 'RandomNormal', config: { mean: 0.1, stddev: 0.3, seed: 5 } },
    graphInitializer: new nm.layers.ContractiveGraph({ gain: 0.3, density: 0.5, topology: 'dag', seed: 9 }),
    inputRegularizer: { className: 'L1L2', config: { l1: 0.01, l2: 0.02 } },
    graphRegularizer: nm.regularizers.nm({ alpha: 0.02, form: 'size', norm: 'l2' }),
    onNonConvergence: 'ignore',
    validateInput: false,
    graphConstraint: nm.constraints.contractive({ bound: 0.8 }),
    engine: 'tensor',
    stateVersion: 1,
  }),
  build: (args) => nmLayer(args),
  read: (layer) => readResolved(layer.options as unknown as Dict),
  inModel: (layer) => ({ model: inSequential(layer), extract: firstOf(nm.layers.NeuralModuleLayer) }),
};

const urnRow: Row<nm.layers.URNLayer> = {
  name: 'URN layer',
  required: () => ({ neurons: S, outputUnits: 2 }),
  nonDefault: () => ({
    iterations: 6,
    activation: 'tanh',
    residual: 'output',
    weightL1: 0.01,
    activityL1: 0.02,
    synapticLength: { className: 'SynapticLength', config: { rate: 0.03, positions: positions(S), beta: 0.5, power: 2, pairs: 'upper' } },
    kernelInitializer: { className: 'RandomUniform', config: { minval: -0.1, maxval: 0.2, seed: 3 } },
    biasInitializer: { className: 'Constant', config: { value: 0.1 } },
  }),
  build: (args) => urnLayer(args),
  // ownsSynapticLength is bookkeeping (who disposes the regularizer), not an option.
  read: (layer) => readResolved(layer.resolved as unknown as Dict, ['ownsSynapticLength']),
  inModel: (layer) => ({ model: inSequential(layer), extract: firstOf(nm.layers.URNLayer) }),
};

/** Rows of objects that live inside a layer's options. */
function inNmOption<T>(key: 'graphRegularizer' | 'graphInitializer' | 'graphConstraint', units = P): Row<T>['inModel'] {
  return (obj) => ({
    model: inSequential(nmLayer({ units, [key]: obj })),
    extract: (m) => (firstOf(nm.layers.NeuralModuleLayer)(m).options as unknown as Record<string, T>)[key],
  });
}
function inUrnSynapticLength(neurons: number): Row<nm.regularizers.SynapticLengthRegularizer>['inModel'] {
  return (obj) => ({
    model: inSequential(urnLayer({ neurons, synapticLength: obj })),
    extract: (m) => firstOf(nm.layers.URNLayer)(m).resolved.synapticLength!,
  });
}

const readNmReg = (r: nm.regularizers.NMRegularizer): Dict => ({ alpha: r.alpha, form: r.form, norm: r.norm, targetSize: r.targetSize });

// The default form is 'excess', and targetSize only exists for it: one row per case.
const nmRegRow: Row<nm.regularizers.NMRegularizer> = {
  name: 'NMRegularizer (excess)',
  required: () => ({ form: 'excess' }),
  nonDefault: () => ({ alpha: 0.37, norm: 'l2', targetSize: 7 }),
  build: (args) => nm.regularizers.nm(args as unknown as nm.regularizers.NMRegularizerArgs),
  read: readNmReg,
  inModel: inNmOption('graphRegularizer'),
};

const nmRegFormRow: Row<nm.regularizers.NMRegularizer> = {
  name: 'NMRegularizer (size)',
  required: () => ({ targetSize: null }),
  nonDefault: () => ({ alpha: 0.37, form: 'size', norm: 'l2' }),
  build: (args) => nm.regularizers.nm(args as unknown as nm.regularizers.NMRegularizerArgs),
  read: readNmReg,
  inModel: inNmOption('graphRegularizer'),
};

const offDiagRow: Row<nm.regularizers.OffDiagonalL1> = {
  name: 'OffDiagonalL1',
  required: () => ({}),
  nonDefault: () => ({ l1: 0.05 }),
  build: (args) => nm.regularizers.offDiagonalL1(args),
  read: (r) => ({ l1: r.l1 }),
  inModel: inNmOption('graphRegularizer'),
};

const readSynaptic = (r: nm.regularizers.SynapticLengthRegularizer): Dict => ({
  rate: r.rate,
  beta: r.beta,
  power: r.power,
  pairs: r.pairs,
  ...(r.geometry
    ? { 'geometry.inputGrid': r.geometry.inputGrid, 'geometry.lattice': r.geometry.lattice, 'geometry.outputs': r.geometry.outputs }
    : { positions: r.positions() }),
});

const synapticRow: Row<nm.regularizers.SynapticLengthRegularizer> = {
  name: 'SynapticLength (positions)',
  required: () => ({ rate: 0.02, positions: positions(S) }),
  nonDefault: () => ({ beta: 0.5, power: 2, pairs: 'upper' }),
  build: (args) => nm.regularizers.synapticLength(args as unknown as nm.regularizers.SynapticLengthArgs),
  read: readSynaptic,
  inModel: inUrnSynapticLength(S),
};

// 2·2 inputs + 2·2·2 lattice + 2 outputs = 14 neurons.
const synapticGeoRow: Row<nm.regularizers.SynapticLengthRegularizer> = {
  name: 'SynapticLength (geometry)',
  required: () => ({ rate: 0.02, geometry: { inputGrid: [2, 2], lattice: [2, 2, 2] } }),
  nonDefault: () => ({ beta: 0.25, power: 1.5, pairs: 'upper', geometry: { outputs: 2 } }),
  build: (args) => nm.regularizers.synapticLength(args as unknown as nm.regularizers.SynapticLengthArgs),
  read: readSynaptic,
  inModel: inUrnSynapticLength(14),
};

const contractiveRow: Row<nm.layers.ContractiveGraph> = {
  name: 'ContractiveGraph initializer',
  required: () => ({}),
  nonDefault: () => ({ gain: 0.3, density: 0.5, topology: 'dag', seed: 9 }),
  build: (args) => new nm.layers.ContractiveGraph(args),
  read: (g) => ({ gain: g.gain, density: g.density, topology: g.topology, seed: g.seed }),
  inModel: inNmOption('graphInitializer'),
};

const contractiveConstraintRow: Row<nm.constraints.ContractiveConstraint> = {
  name: 'ContractiveConstraint',
  required: () => ({}),
  nonDefault: () => ({ bound: 0.55 }),
  build: (args) => nm.constraints.contractive(args),
  read: (c) => ({ bound: c.bound }),
  inModel: inNmOption('graphConstraint'),
};

const ROWS = [nmRow, urnRow, nmRegRow, nmRegFormRow, offDiagRow, synapticRow, synapticGeoRow, contractiveRow, contractiveConstraintRow] as Row<unknown>[];

describe('serialization of every option', () => {
  beforeAll(async () => useBackend('cpu'));
  afterAll(() => tf.disposeVariables());

  describe.each(ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const custom = () => row.build(merge(row.required(), row.nonDefault()));

    it('the table sets every option, each to a value that differs from its default', () => {
      const defaults = row.read(row.build(row.required()));
      const resolved = row.read(custom());
      const tableKeys = argKeys(merge(row.required(), row.nonDefault())).sort();
      expect(Object.keys(resolved).sort(), 'resolved options vs table keys').toEqual(tableKeys);
      for (const key of argKeys(row.nonDefault())) {
        expect(resolved[key], `option '${key}' must differ from its default`).not.toEqual(defaults[key]);
      }
    });

    it('fromConfig(getConfig()) through the serialization registry reproduces the options', () => {
      const obj = custom() as Serializable;
      expect(row.read(viaRegistry(obj))).toEqual(row.read(obj));
    });

    it('model.toJSON → tf.models.modelFromJSON reproduces the options', async () => {
      const obj = custom();
      const { model, extract } = row.inModel(obj, row.nonDefault());
      const json = model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'];
      const loaded = await tf.models.modelFromJSON({ modelTopology: JSON.parse(JSON.stringify(json)) } as never);
      expect(row.read(extract(loaded))).toEqual(row.read(extract(model)));
      expect(row.read(extract(model))).toEqual(row.read(obj));
      model.dispose();
      loaded.dispose();
    });
  });
});

/** The callbacks: no tfjs registry, but `new Cls(cb.getConfig())` must rebuild them. */
interface CallbackRow {
  name: string;
  nonDefault: Dict;
  build: (args: Dict) => { getConfig(): object };
  read: (cb: never) => Dict;
}

const write = (_t: string) => {};
const CALLBACK_ROWS: CallbackRow[] = [
  {
    name: 'modulePartition',
    nonDefault: { every: 3, verbose: true, proximalRate: 'initial', decayWhenSettled: { factor: 0.2, patience: 3, agreement: 0.9, latest: 0.6 } },
    build: (a) => new nm.callbacks.ModulePartitionCallback(a),
    read: (cb: nm.callbacks.ModulePartitionCallback) => ({
      every: cb.everyBatches,
      verbose: cb.verbose,
      proximalRate: cb.proximalRate,
      decayWhenSettled: cb.decayWhenSettled,
    }),
  },
  {
    name: 'nmAlphaSchedule',
    nonDefault: { targetSize: 4, factor: 1.5, min: 0.5, max: 7, every: 2, verbose: true },
    build: (a) => new nm.callbacks.NMAlphaScheduleCallback(a),
    read: (cb: nm.callbacks.NMAlphaScheduleCallback) => ({
      targetSize: cb.targetSize,
      factor: cb.factor,
      min: cb.min,
      max: cb.max,
      every: cb.every,
      verbose: cb.verbose,
    }),
  },
  {
    name: 'structureLogger',
    nonDefault: { dir: 'out/never-written', every: 3, formats: ['png'], render: { cellSize: 4 }, verbose: true },
    build: (a) => new nm.callbacks.StructureLoggerCallback(a),
    read: (cb: nm.callbacks.StructureLoggerCallback) => ({ dir: cb.dir, every: cb.every, formats: cb.formats, render: cb.render, verbose: cb.verbose }),
  },
  {
    name: 'progress',
    nonDefault: { label: 'run', write, inPlace: true },
    build: (a) => new nm.callbacks.ProgressCallback(a),
    read: (cb: nm.callbacks.ProgressCallback) => ({ label: cb.label, write: cb.write, inPlace: cb.inPlace }),
  },
];

describe.each(CALLBACK_ROWS.map((r) => [r.name, r] as const))('callback %s: getConfig', (_name, row) => {
  it('sets every option to a non-default value, and new Cls(getConfig()) reproduces them', () => {
    const read = row.read as (cb: unknown) => Dict;
    const defaults = read(row.build({}));
    const cb = row.build(row.nonDefault);
    const resolved = read(cb);
    expect(Object.keys(resolved).sort()).toEqual(Object.keys(row.nonDefault).sort());
    for (const key of Object.keys(row.nonDefault)) expect(resolved[key], `option '${key}' must differ from its default`).not.toEqual(defaults[key]);
    expect(Object.keys(cb.getConfig()).sort()).toEqual(Object.keys(row.nonDefault).sort());
    expect(read(row.build(cb.getConfig() as Dict))).toEqual(resolved);
    // And the defaults survive too.
    const plain = row.build({});
    expect(read(row.build(plain.getConfig() as Dict))).toEqual(read(plain));
  });
});
