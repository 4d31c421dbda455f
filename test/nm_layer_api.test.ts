import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { bruteForceSccs, refMask } from './helpers/reference.js';
import { setKernelAndGraph } from './helpers/nm_weights.js';
import * as graph from '../src/graph/index.js';
import * as solvers from '../src/solvers/index.js';
import { Random } from '../src/utils/random.js';

beforeAll(async () => useBackend('cpu'));

function toyData(n: number, seed: number) {
  const r = new Random(seed);
  const x = Array.from({ length: n }, () => Array.from({ length: 6 }, () => r.normal()));
  const y = x.map((row) => (row[0] + row[1] > 0 ? [1, 0] : [0, 1]));
  return { x: tf.tensor2d(x), y: tf.tensor2d(y) };
}

function smallModel(args: Partial<nm.layers.NeuralModuleLayerArgs> = {}) {
  const model = tf.sequential();
  model.add(
    nm.layers.neuralModule({
      inputShape: [6],
      units: 16,
      density: 0.15,
      graphInitializer: new nm.layers.ContractiveGraph({ density: 0.15, seed: 5 }),
      inputInitializer: tf.initializers.glorotUniform({ seed: 6 }),
      ...args,
    }),
  );
  // seeded, so the training tests below see the same loss curve on every run
  model.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }));
  return model;
}

describe('modules and schedule (pure graph code)', () => {
  it('modules equal brute-force SCCs, in topological order, with correct levels', () => {
    const r = new Random(42);
    for (let trial = 0; trial < 40; trial++) {
      const p = 5 + r.int(40);
      const density = 0.01 + 0.2 * r.next();
      const w = Float32Array.from({ length: p * p }, () => r.normal());
      const mask = graph.magnitudeMask(w, p, density, 'graph');
      expect(Array.from(mask.mask)).toEqual(Array.from(refMask(w, p, density, 'graph')));
      const s = graph.buildSchedule(mask);
      const { sets } = bruteForceSccs(mask.mask, p);
      expect(s.modules.map((m) => m.join(',')).sort()).toEqual(sets);
      const moduleOf = new Int32Array(p);
      s.modules.forEach((m, i) => m.forEach((v) => (moduleOf[v] = i)));
      const levelOf = new Int32Array(s.modules.length);
      s.levels.forEach((ids, lv) => ids.forEach((i) => (levelOf[i] = lv)));
      const expectedLevel = new Int32Array(s.modules.length);
      for (let j = 0; j < p; j++) {
        for (let k = 0; k < p; k++) {
          if (!mask.mask[j * p + k] || moduleOf[j] === moduleOf[k]) continue;
          expect(moduleOf[j]).toBeLessThan(moduleOf[k]); // topological order
          expect(levelOf[moduleOf[j]]).toBeLessThan(levelOf[moduleOf[k]]);
        }
      }
      // Level = 1 + max level of predecessors (longest path), 0 for sources.
      for (let m = 0; m < s.modules.length; m++) {
        let lv = 0;
        for (let j = 0; j < p; j++) for (const k of s.modules[m]) if (mask.mask[j * p + k] && moduleOf[j] !== m) lv = Math.max(lv, levelOf[moduleOf[j]] + 1);
        expectedLevel[m] = lv;
      }
      expect(Array.from(levelOf)).toEqual(Array.from(expectedLevel));
      // The permutation places every step contiguously and covers every node once.
      expect(Array.from(s.perm).sort((a, b) => a - b)).toEqual(Array.from({ length: p }, (_, i) => i));
    }
  });

  it('Tarjan is iterative: a 20000-node cycle does not overflow the stack', () => {
    const p = 20000;
    const rowPtr = Int32Array.from({ length: p + 1 }, (_, i) => i);
    const colIdx = Int32Array.from({ length: p }, (_, i) => (i + 1) % p);
    const { components } = graph.stronglyConnectedComponents(p, rowPtr, colIdx);
    expect(components.length).toBe(1);
    expect(components[0].length).toBe(p);
  });
});

describe('the default density', () => {
  it('keeps at most about 5 edges per node on a complete graph: min(0.05, 5/(p − 1)); 0.05 for a DAG; an explicit density and a saved one win', () => {
    const density = (args: Partial<nm.layers.NeuralModuleLayerArgs>) =>
      (nm.layers.neuralModule({ units: 1, ...args }).getConfig() as { density: number }).density;
    expect(density({ units: 1 })).toBe(0.05);
    expect(density({ units: 2 })).toBe(0.05);
    expect(density({ units: 100 })).toBe(0.05); // 5/99 > 0.05
    expect(density({ units: 102 })).toBe(5 / 101);
    expect(density({ units: 300 })).toBe(5 / 299);
    expect(density({ units: 300, topology: 'dag' })).toBe(0.05);
    expect(density({ units: 300, density: 0.05 })).toBe(0.05);
    // K = ⌈ρ·p·(p − 1)⌉ = 1500 at 300 nodes, about 5 per node.
    const layer = nm.layers.neuralModule({ units: 300 });
    tf.dispose(layer.apply(tf.zeros([1, 4])) as tf.Tensor);
    expect(layer.edges().edges).toBe(1500);
    // A saved config carries its density, so a model saved at 0.05 loads at 0.05.
    const restored = nm.layers.NeuralModuleLayer.fromConfig(nm.layers.NeuralModuleLayer, { ...layer.getConfig(), density: 0.05 });
    expect((restored.getConfig() as { density: number }).density).toBe(0.05);
    layer.dispose();
  });
});

describe('bad arguments', () => {
  const make = (args: object) => () => nm.layers.neuralModule({ units: 4, ...args } as nm.layers.NeuralModuleLayerArgs);
  it('rejects each bad option with its name, the value and the expectation', () => {
    expect(make({ density: 0 })).toThrow(/'density' must be a finite number in \(0, 1\]; received 0/);
    expect(make({ density: 1.5 })).toThrow(/'density' must be a finite number in \(0, 1\]; received 1.5/);
    expect(make({ density: NaN })).toThrow(/'density'.*received NaN/);
    expect(make({ units: 0 })).toThrow(/'units' must be an integer in \[1, 16384\]; received 0/);
    expect(make({ units: 2.5 })).toThrow(/'units' must be an integer in \[1, 16384\]; received 2.5/);
    expect(make({ activation: 'bogus' })).toThrow(
      /'activation' must be one of 'tanh', 'sigmoid', 'relu', 'softplus', 'linear', 'elu', .*'leakyRelu'; received "bogus"/,
    );
    expect(make({ solver: { method: 'gauss' } })).toThrow(
      /solver: 'method' must be one of 'picard', 'anderson', 'broyden', 'newton', 'auto'; received "gauss"/,
    );
    expect(make({ solver: 'gauss' })).toThrow(/'method' must be one of 'picard', 'anderson', 'broyden', 'newton', 'auto'/);
    expect(make({ solver: { maxIter: 0 } })).toThrow(/'maxIter' must be an integer in \[1, 100000\]; received 0/);
    expect(make({ solver: { tol: -1 } })).toThrow(/'tol' must be a finite number in \(0, inf\); received -1/);
    expect(make({ topology: 'tree' })).toThrow(/'topology' must be one of 'graph', 'dag'; received "tree"/);
    expect(make({ onNonConvergence: 'panic' })).toThrow(/'onNonConvergence' must be one of 'warn', 'throw', 'ignore'/);
    expect(make({ desnity: 0.1 })).toThrow(/unknown option 'desnity'/);
    expect(make({ graphRegularizer: 'noSuchReg' })).toThrow(/'graphRegularizer' names an unknown class "noSuchReg"/);
    expect(() => solvers.getSolver('magic')).toThrow(/'method' must be one of 'picard', 'anderson', 'broyden', 'newton', 'auto'; received "magic"/);
    expect(() => nm.callbacks.modulePartition({ every: 0 })).toThrow(/'every' must be 'epoch', 'batch' or an integer >= 1; received 0/);
  });

  it('rejects input of rank != 2 and NaN/Inf input', () => {
    const layer = nm.layers.neuralModule({ units: 4 });
    expect(() => layer.apply(tf.zeros([2, 3, 4]))).toThrow(/input must have rank 2.*received shape \[2, 3, 4\]/);
    const ok = nm.layers.neuralModule({ units: 4 });
    ok.apply(tf.zeros([2, 3]));
    expect(() =>
      ok.apply(
        tf.tensor2d([
          [0, 1, 2],
          [0, NaN, 1],
        ]),
      ),
    ).toThrow(/contains NaN or Inf \(first at row 1 of 2\)/);
    expect(() => ok.apply(tf.tensor2d([[Infinity, 1, 2]]))).toThrow(/contains NaN or Inf \(first at row 0 of 1\)/);
    expect(() => ok.apply(tf.zeros([2, 5]))).toThrow(/input has 5 features; the layer was built for 3/);
  });

  it('reports non-convergence with residual and iteration count, or throws, as configured', () => {
    const w = tf.tensor2d([
      [0, 3, 0],
      [3, 0, 0],
      [0, 0, 0],
    ]);
    const build = (mode: 'throw' | 'warn') => {
      const l = nm.layers.neuralModule({ units: 3, density: 0.5, activation: 'linear', onNonConvergence: mode, solver: { method: 'picard', maxIter: 5 } });
      l.build([null, 2]);
      setKernelAndGraph(l, tf.ones([2, 3]), w);
      return l;
    };
    expect(() => build('throw').apply(tf.ones([1, 2]))).toThrow(
      /forward solve did not converge: residual \d\.\d+e[-+]\d+ > tol 0.0001 at row 0 of 1, after 5 iterations/,
    );
    const warns: string[] = [];
    const orig = console.warn;
    console.warn = (m: string) => warns.push(m);
    try {
      const l = nm.layers.neuralModule({ units: 3, density: 0.5, activation: 'tanh', onNonConvergence: 'warn', solver: { method: 'picard', maxIter: 3 } });
      l.build([null, 2]);
      setKernelAndGraph(
        l,
        tf.ones([2, 3]),
        tf.tensor2d([
          [0, 0.9, 0],
          [0.9, 0, 0],
          [0, 0, 0],
        ]),
      );
      l.apply(tf.ones([1, 2]));
      l.apply(tf.ones([1, 2]));
      expect(l.solverStats().forward.converged).toBe(false);
      expect(l.solverStats().forward.iterations).toBe(3);
      expect(l.solverStats().forward.residual).toBeGreaterThan(1e-4);
    } finally {
      console.warn = orig;
    }
    expect(warns.length).toBe(1);
    expect(warns[0]).toMatch(
      /did not converge: residual \d\.\d+e[-+]\d+ > tol 0.0001 at row 0 of 1, after 3 iterations \(method 'picard', maxIter 3\). Use solver 'anderson'/,
    );
  });
});

describe.each(BACKENDS)('training and serialization on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it('config round trip reproduces the config', () => {
    const layer = nm.layers.neuralModule({
      units: 7,
      density: 0.2,
      topology: 'dag',
      activation: 'sigmoid',
      solver: { method: 'broyden', tol: 1e-5, memory: 4 },
      onNonConvergence: 'throw',
    });
    const config = layer.getConfig();
    const again = nm.layers.NeuralModuleLayer.fromConfig(nm.layers.NeuralModuleLayer, config) as nm.layers.NeuralModuleLayer;
    expect(JSON.parse(JSON.stringify(again.getConfig()))).toEqual(JSON.parse(JSON.stringify(config)));
    expect(again.options.solver.method).toBe('broyden');
    expect(again.options.backwardSolver.memory).toBe(4);
  });

  it('save/load round trip: identical predictions and modules', async () => {
    const model = smallModel();
    model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const { x, y } = toyData(64, 1);
    await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0, callbacks: [nm.callbacks.modulePartition()] });
    let saved: tf.io.ModelArtifacts | null = null;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    const s1 = (model.layers[0] as nm.layers.NeuralModuleLayer).structure();
    const s2 = (loaded.layers[0] as nm.layers.NeuralModuleLayer).structure();
    expect(s2.modules).toEqual(s1.modules);
    expect(loaded.layers[0]).toBeInstanceOf(nm.layers.NeuralModuleLayer);
  });

  it.each(['host', 'tensor'] as const)('trains with model.fit (%s engine), logs module stats, and leaks no tensors across epochs', async (engine) => {
    const model = smallModel({ solver: { method: 'anderson', tol: 1e-5 }, engine });
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const { x, y } = toyData(96, 2);
    const cb = () => [nm.callbacks.modulePartition({ every: 'batch' })];
    await model.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0, callbacks: cb() });
    const before = tf.memory().numTensors;
    const h = await model.fit(x, y, { epochs: 4, batchSize: 32, shuffle: false, verbose: 0, callbacks: cb() });
    expect(tf.memory().numTensors).toBe(before);
    expect(h.history.nm_modules.length).toBe(4);
    expect(h.history.nm_largest[3]).toBeGreaterThanOrEqual(1);
    expect(h.history.nm_fwd_iters[3]).toBeGreaterThan(0);
    expect(h.history.nm_bwd_iters[3]).toBeGreaterThan(0);
    expect(h.history.loss[3] as number).toBeLessThan(h.history.loss[0] as number);
    const layer = model.layers[0] as nm.layers.NeuralModuleLayer;
    expect(layer.structure().edges).toBe(layer.keptEdgeTarget());
  });
});
