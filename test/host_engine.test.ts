/**
 * The host engine (typed-array solves with sparse kernels) against the tensor
 * engine: identical forward values and gradients on a graph with several modules
 * and levels; engine resolution; bad engine arguments.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { setKernelAndGraph } from './helpers/nm_weights.js';
import { Random } from '../src/utils/random.js';
import { expectClose } from './helpers/close.js';
import { hostEngine, nodeActivation, Partition } from '../src/internal.js';

const P = 40;
const N = 5;
const B = 6;

/** A random graph whose mask at density 0.04 splits into several modules and levels. */
function weights(seed: number) {
  const r = new Random(seed);
  const u = () => r.next() * 2 - 1;
  const w = Float32Array.from({ length: P * P }, (_, i) => (i % (P + 1) === 0 ? 0.3 * u() : 0.45 * u()));
  const k = Float32Array.from({ length: N * P }, () => 0.5 * u());
  const x = Float32Array.from({ length: B * N }, () => u());
  return { w, k, x };
}

function pair(args: Partial<nm.layers.NeuralModuleLayerArgs>, seed = 2, graphScale = 1) {
  const { k, x } = weights(seed);
  const w = weights(seed).w.map((v) => v * graphScale);
  const make = (engine: 'host' | 'tensor') => {
    const layer = nm.layers.neuralModule({ units: P, density: 0.04, engine, solver: { tol: 1e-7, maxIter: 400 }, ...args });
    layer.build([null, N]);
    setKernelAndGraph(layer, tf.tensor2d(k, [N, P]), tf.tensor2d(w, [P, P]));
    return layer;
  };
  return { host: make('host'), tensor: make('tensor'), x: tf.tensor2d(x, [B, N]) };
}

function gradsOf(layer: nm.layers.NeuralModuleLayer, x: tf.Tensor2D, r: tf.Tensor) {
  const f = (u: tf.Tensor) => tf.sum(tf.mul(layer.apply(u) as tf.Tensor, r)) as tf.Scalar;
  const { value, grads } = tf.variableGrads(() => f(x));
  const gx = tf.grad(f)(x);
  return { value: value.dataSync()[0], gk: grads[layer.weights[0].name].dataSync(), gw: grads[layer.weights[1].name].dataSync(), gx: gx.dataSync() };
}

describe.each(BACKENDS)('host engine on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it('the test graph has several modules and levels', () => {
    const s = pair({}).host.structure();
    expect(s.modules.length).toBeGreaterThan(3);
    expect(s.largestModule).toBeGreaterThan(1);
    expect(s.levels.length).toBeGreaterThan(2);
  });

  for (const method of ['picard', 'anderson'] as const) {
    for (const activation of ['tanh', 'sigmoid', 'relu'] as const) {
      it(`matches the tensor engine: values and every gradient (${method}, ${activation})`, () => {
        const { host, tensor, x } = pair({ activation, solver: { method, tol: 1e-7, maxIter: 400 } });
        expect(host.activeEngine()).toBe('host');
        expect(tensor.activeEngine()).toBe('tensor');
        expectClose((host.apply(x) as tf.Tensor).dataSync(), (tensor.apply(x) as tf.Tensor).dataSync(), { atol: 1e-5, rtol: 1e-5 });
        expect(host.structure().modules).toEqual(tensor.structure().modules);
        const r = tf.randomNormal([B, P], 0, 1, 'float32', 4);
        const gh = gradsOf(host, x, r);
        const gt = gradsOf(tensor, x, r);
        expectClose([gh.value], [gt.value], { atol: 1e-5, rtol: 1e-5 });
        expectClose(gh.gw, gt.gw, { atol: 1e-4, rtol: 1e-4 });
        expectClose(gh.gk, gt.gk, { atol: 1e-4, rtol: 1e-4 });
        expectClose(gh.gx, gt.gx, { atol: 1e-4, rtol: 1e-4 });
        expect(host.solverStats().forward.converged && host.solverStats().backward.converged).toBe(true);
        expect(host.solverStats().forward.iterations).toBeGreaterThan(0);
      });
    }
  }

  it('matches the tensor engine with every edge kept (density 1, the DEQ form), which engine auto now runs on the host', async () => {
    // Scaled so the dense 40-node graph contracts: one module of 40 nodes, solved to 1e-7.
    const { host, tensor, x } = pair({ density: 1, solver: { method: 'anderson', tol: 1e-7, maxIter: 400 } }, 2, 0.25);
    // One module keeps every node in place: the tensor engine skips its permutation gathers (forward and
    // adjoint), which a graph of several modules needs.
    const r0 = tf.randomNormal([B, P], 0, 1, 'float32', 4);
    const gathers = async (layer: nm.layers.NeuralModuleLayer) =>
      (await tf.profile(() => void gradsOf(layer, x, r0))).kernels.filter((k) => k.name === 'GatherV2').length;
    // gradsOf runs two forward and two adjoint passes; each forward reads the bias (the graph's diagonal) by a
    // gather on every engine. With several modules each forward also permutes A (twice), z and x back, each
    // adjoint q, f'(x*) and v back.
    expect(await gathers(tensor)).toBe(2);
    expect(await gathers(pair({}).tensor)).toBe(2 * (1 + 4) + 2 * 3);
    const auto = pair({ density: 1, engine: 'auto', solver: { method: 'anderson', tol: 1e-7, maxIter: 400 } }, 2, 0.25).host;
    expect(auto.activeEngine()).toBe('host');
    expect(host.structure().largestModule).toBe(P);
    expectClose((host.apply(x) as tf.Tensor).dataSync(), (tensor.apply(x) as tf.Tensor).dataSync(), { atol: 1e-5, rtol: 1e-5 });
    const r = tf.randomNormal([B, P], 0, 1, 'float32', 4);
    const gh = gradsOf(host, x, r);
    const gt = gradsOf(tensor, x, r);
    expectClose(gh.gw, gt.gw, { atol: 1e-4, rtol: 1e-4 });
    expectClose(gh.gk, gt.gk, { atol: 1e-4, rtol: 1e-4 });
    expectClose(gh.gx, gt.gx, { atol: 1e-4, rtol: 1e-4 });
  });

  it('two stacked layers share the kernel arena: same loss and gradients as the tensor engine', () => {
    const { w, k, x } = weights(8);
    const grads = (engine: 'host' | 'tensor') => {
      const first = nm.layers.neuralModule({ units: P, density: 0.04, engine, solver: { tol: 1e-7, maxIter: 400 } });
      const second = nm.layers.neuralModule({ units: P, density: 0.04, engine, solver: { method: 'picard', tol: 1e-7, maxIter: 400 } });
      first.build([null, N]);
      second.build([null, P]);
      setKernelAndGraph(first, tf.tensor2d(k, [N, P]), tf.tensor2d(w, [P, P]));
      setKernelAndGraph(
        second,
        tf.tensor2d(
          Float32Array.from({ length: P * P }, (_, i) => 0.3 * Math.sin(i)),
          [P, P],
        ),
        tf.tensor2d(
          w.map((v) => 0.8 * v),
          [P, P],
        ),
      );
      const xs = tf.tensor2d(x, [B, N]);
      const { value, grads: g } = tf.variableGrads(() => tf.sum(tf.square(second.apply(first.apply(xs) as tf.Tensor) as tf.Tensor)) as tf.Scalar);
      expect(first.activeEngine()).toBe(engine);
      return [value.dataSync()[0], ...[...first.trainableWeights, ...second.trainableWeights].map((v) => g[v.name].dataSync())] as const;
    };
    const [lh, ...gh] = grads('host');
    const [lt, ...gt] = grads('tensor');
    expectClose([lh], [lt], { atol: 1e-5, rtol: 1e-5 });
    gh.forEach((g, i) => expectClose(g, gt[i], { atol: 1e-4, rtol: 1e-4 }));
  });

  it('one layer applied twice before the backward pass: each adjoint reads its own forward state, as the tensor engine', () => {
    // Two forward solves are alive at once and their adjoints run in reverse order; the
    // saved-state arrays go back to the reuse pool only after their own adjoint, so a
    // third step reuses them without changing a result.
    const { host, tensor, x } = pair({});
    const run = (layer: nm.layers.NeuralModuleLayer) => {
      const f = () => {
        const once = layer.apply(x) as tf.Tensor2D;
        const twice = layer.apply(tf.slice(once, [0, 0], [B, N])) as tf.Tensor2D;
        return tf.sum(tf.mul(tf.add(once, tf.square(twice)), tf.range(0, P).div(P))) as tf.Scalar;
      };
      return [0, 1, 2].map(() => {
        const { value, grads } = tf.variableGrads(f);
        return [value.dataSync()[0], ...layer.trainableWeights.map((v) => grads[v.name].dataSync())] as const;
      });
    };
    const gh = run(host);
    const gt = run(tensor);
    for (let step = 0; step < 3; step++) {
      const [lh, ...wh] = gh[step];
      const [lt, ...wt] = gt[step];
      expectClose([lh], [lt], { atol: 1e-5, rtol: 1e-5 });
      wh.forEach((g, i) => expectClose(g, wt[i], { atol: 1e-4, rtol: 1e-4 }));
    }
  });

  it('a layer with enough kept weights for the heap gather (on wasm) matches the tensor engine', () => {
    // 200 nodes at density 0.45: about 18 000 kept weights, above the size where the host
    // engine reads them with the kernels' gather over tfjs-wasm's memory.
    const make = (engine: 'host' | 'tensor') => {
      const layer = nm.layers.neuralModule({
        units: 200,
        density: 0.45,
        engine,
        solver: { tol: 1e-7, maxIter: 400 },
        graphInitializer: new nm.layers.ContractiveGraph({ density: 0.45, seed: 3 }),
        inputInitializer: tf.initializers.randomNormal({ stddev: 0.5, seed: 4 }),
      });
      layer.build([null, N]);
      return layer;
    };
    const host = make('host');
    const tensor = make('tensor');
    tensor.setWeights(host.getWeights());
    const x = tf.randomNormal([B, N], 0, 1, 'float32', 5) as tf.Tensor2D;
    expectClose((host.apply(x) as tf.Tensor).dataSync(), (tensor.apply(x) as tf.Tensor).dataSync(), { atol: 1e-5, rtol: 1e-5 });
    const r = tf.randomNormal([B, 200], 0, 1, 'float32', 6);
    const g = (layer: nm.layers.NeuralModuleLayer) =>
      tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar).grads[layer.weights[1].name].dataSync();
    expectClose(g(host), g(tensor), { atol: 1e-4, rtol: 1e-4 });
    expect(host.structure().modules).toEqual(tensor.structure().modules);
  });

  it('refuses a second adjoint of a forward solve whose state was released', () => {
    const { host, x } = pair({});
    const partition = new Partition(host.edges());
    const ctx = { partition, act: nodeActivation('tanh'), solver: host.options.solver, backwardSolver: host.options.backwardSolver, where: 'test' };
    const z = tf.matMul(x, host.getWeights()[0] as tf.Tensor2D) as tf.Tensor2D;
    const fwd = hostEngine.forward(z, host.getWeights()[1] as tf.Tensor2D, ctx);
    const dy = tf.onesLike(fwd.h) as tf.Tensor2D;
    const first = hostEngine.adjoint(dy, [], fwd.state, ctx);
    const again = hostEngine.adjoint(dy, [], fwd.state, ctx);
    expectClose(again.v.dataSync(), first.v.dataSync(), { atol: 0, rtol: 0 });
    hostEngine.release!(fwd.state);
    expect(() => hostEngine.adjoint(dy, [], fwd.state, ctx)).toThrow(/saved state was already released/);
    tf.dispose([z, fwd.h, dy, first.v, again.v]);
    partition.dispose();
  });

  it("resolves engine 'auto' from the backend and the solvers, at any density", () => {
    const mk = (args: Partial<nm.layers.NeuralModuleLayerArgs>) => nm.layers.neuralModule({ units: 8, ...args });
    expect(mk({}).activeEngine()).toBe('host');
    expect(mk({ solver: 'picard' }).activeEngine()).toBe('host');
    expect(mk({ density: 1 }).activeEngine()).toBe('host');
    expect(mk({ solver: 'newton' }).activeEngine()).toBe('tensor');
    expect(mk({ backwardSolver: 'broyden' }).activeEngine()).toBe('tensor');
    expect(mk({ engine: 'tensor' }).activeEngine()).toBe('tensor');
    expect(mk({ engine: 'host', density: 1 }).activeEngine()).toBe('host');
  });

  it('throws a NonFiniteError naming the layer when the graph is not finite', () => {
    const { host, x } = pair({ name: 'nm_nan' });
    const w = host.getWeights()[1].arraySync() as number[][];
    w[7][7] = NaN; // a bias: every input reaches node 7
    setKernelAndGraph(host, host.getWeights()[0], tf.tensor2d(w));
    expect(() => host.apply(x)).toThrow(nm.NonFiniteError);
    expect(() => host.apply(x)).toThrow(/NeuralModule 'nm_nan'.*NaN/);
  });

  it('names the first row whose forward or adjoint solution is not finite (an acyclic graph: no residual to show it)', () => {
    // A strictly upper-triangular graph: every module is one node, so no step is iterative
    // and only the check of the solutions can see a non-finite row.
    const acyclic = (name: string) => {
      const { host, x } = pair({ name, activation: 'linear' });
      const w = host.getWeights()[1].arraySync() as number[][];
      const k = host.getWeights()[0].arraySync() as number[][];
      k[0] = k[0].map(() => 2);
      setKernelAndGraph(host, tf.tensor2d(k), tf.tensor2d(w.map((row, j) => row.map((v, c) => (c > j || c === j ? v : 0)))));
      expect(host.structure().largestModule).toBe(1);
      return { host, x };
    };
    const { host, x } = acyclic('nm_rows');
    // Rows 3 and 5: u·U overflows to +Infinity, which the linear activation keeps; the other rows stay finite.
    const rows = x.arraySync();
    rows[3][0] = 3e38;
    rows[5][0] = 3e38;
    expect(() => host.apply(tf.tensor2d(rows))).toThrow(/forward solution contains NaN\/Inf or diverged \(first at row 3 of a batch of 6,/);
    // A finite forward pass, and an upstream gradient with Infinity in rows 2 and 4 only.
    const { host: fine } = acyclic('nm_rows_adjoint');
    const r = tf.tensor2d(Array.from({ length: B }, (_, b) => Array.from({ length: P }, (_, j) => (j === 5 && (b === 2 || b === 4) ? Infinity : 1))));
    expect(() => tf.grad((u: tf.Tensor) => tf.sum(tf.mul(fine.apply(u) as tf.Tensor, r)))(x)).toThrow(
      /adjoint \(gradient\) solution contains NaN\/Inf or diverged \(first at row 2 of a batch of 6,/,
    );
  });

  it('reports non-convergence with its residual and iteration count', () => {
    const { host, x } = pair({ onNonConvergence: 'throw', solver: { method: 'picard', tol: 1e-12, maxIter: 3 } });
    expect(() => host.apply(x)).toThrow(/did not converge: residual .* > tol 1e-12 at row \d+ of \d+, after \d+ iterations \(method 'picard', maxIter 3\)/);
  });

  afterAll(() => tf.disposeVariables());
});

describe('engine arguments', () => {
  it('rejects an unknown engine and a host engine with a tensor-only solver', () => {
    expect(() => nm.layers.neuralModule({ units: 4, engine: 'gpu' as never })).toThrow(/'engine' must be one of 'auto', 'host', 'tensor'; received "gpu"/);
    expect(() => nm.layers.neuralModule({ units: 4, engine: 'host', solver: 'newton' })).toThrow(
      /'solver.method' must be one of 'picard', 'anderson', 'auto' with engine 'host'; received "newton". Use engine 'tensor' or 'auto'/,
    );
    expect(() => nm.layers.neuralModule({ units: 4, engine: 'host', backwardSolver: 'broyden' })).toThrow(/'backwardSolver.method'/);
  });

  it('round-trips engine through getConfig', () => {
    const layer = nm.layers.neuralModule({ units: 4, engine: 'tensor' });
    const copy = nm.layers.NeuralModuleLayer.fromConfig(nm.layers.NeuralModuleLayer, layer.getConfig()) as nm.layers.NeuralModuleLayer;
    expect(copy.options.engine).toBe('tensor');
    expect(copy.getConfig()).toEqual({ ...layer.getConfig(), name: copy.name });
  });
});
