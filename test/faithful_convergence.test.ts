/**
 * A faithful layer reports what its solves did: divergence is never reported as
 * convergence, non-convergence warnings are re-armed per fit, and a row whose norms
 * overflow float32 has a non-finite residual, never 0.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { positiveFeedbackLayer, setKernelAndGraph } from './helpers/nm_weights.js';
import * as graph from '../src/graph/index.js';
import { Random } from '../src/utils/random.js';
import { classifier, data } from './helpers/small_classifier.js';

describe.each(BACKENDS)('divergence is never reported as convergence (%s)', (backend) => {
  beforeAll(async () => useBackend(backend));

  for (const activation of ['relu', 'linear'] as const) {
    it(`tensor-engine Picard on positive feedback (${activation}) throws or says not converged`, () => {
      const layer = positiveFeedbackLayer({
        density: 0.5,
        activation,
        engine: 'tensor',
        onNonConvergence: 'ignore',
        solver: { method: 'picard', maxIter: 50 },
      });
      let threw: unknown = null;
      try {
        layer.apply(tf.ones([1, 2]));
      } catch (e) {
        threw = e;
      }
      if (threw) expect(threw).toBeInstanceOf(nm.NonFiniteError);
      else expect(layer.solverStats().forward.converged).toBe(false);
    });
  }

  it.each(['host', 'tensor'] as const)('Anderson on non-contractive linear graphs (%s engine): "converged" means the true residual is below tol', (engine) => {
    const p = 12;
    let convergedCount = 0;
    for (let trial = 0; trial < 40; trial++) {
      const r = new Random(100 + trial);
      const layer = nm.layers.neuralModule({
        units: p,
        density: 0.4,
        activation: 'linear',
        engine,
        onNonConvergence: 'ignore',
        solver: { method: 'anderson', tol: 1e-4, maxIter: 60 },
      });
      layer.build([null, 3]);
      const w = Float32Array.from({ length: p * p }, () => 0.45 * r.normal());
      setKernelAndGraph(
        layer,
        tf.tensor2d(
          Float32Array.from({ length: 3 * p }, () => r.normal()),
          [3, p],
        ),
        tf.tensor2d(w, [p, p]),
      );
      const u = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => r.normal()));
      let h: number[][];
      try {
        h = (layer.apply(tf.tensor2d(u)) as tf.Tensor).arraySync() as number[][];
      } catch (e) {
        expect(e).toBeInstanceOf(nm.NonFiniteError);
        continue;
      }
      if (!layer.solverStats().forward.converged) continue;
      convergedCount++;
      // Independent float64 residual of the returned rows: ‖z + h·(M∘W) − h‖ / ‖h‖ per row.
      const [k, g] = layer.getWeights().map((t) => t.dataSync());
      const mask = layer.edges().mask;
      for (let b = 0; b < u.length; b++) {
        let rr = 0;
        let hh = 0;
        for (let j = 0; j < p; j++) {
          let z = g[j * p + j];
          for (let i = 0; i < 3; i++) z += u[b][i] * k[i * p + j];
          for (let i = 0; i < p; i++) if (mask[i * p + j]) z += h[b][i] * g[i * p + j];
          rr += (z - h[b][j]) ** 2;
          hh += h[b][j] ** 2;
        }
        expect(Math.sqrt(rr) / (Math.sqrt(hh) + 1e-8)).toBeLessThan(1e-3);
      }
    }
    expect(convergedCount).toBeGreaterThan(0);
  });

  it('the spectral estimate does not miss a graph whose rows sum to zero; the constraint then applies', () => {
    const p = 6;
    const w = new Float32Array(p * p);
    for (let j = 0; j < p; j++) {
      w[j * p + ((j + 1) % p)] = 1.2;
      w[j * p + ((j + 2) % p)] = -1.2;
    }
    // A circulant: its singular values are 2.4·|sin(πk/6)|, so ‖A‖₂ = 2.4 (a start vector of ones sees 0).
    const free = nm.layers.neuralModule({ units: p, density: 1, graphConstraint: null });
    free.build([null, 2]);
    setKernelAndGraph(free, tf.ones([2, p]), tf.tensor2d(w, [p, p]));
    expect(free.structure().spectralNorm).toBeCloseTo(2.4, 4);
    const layer = nm.layers.neuralModule({ units: p, density: 1, graphConstraint: nm.constraints.contractive({ bound: 0.5 }) });
    layer.build([null, 2]);
    setKernelAndGraph(layer, tf.ones([2, p]), tf.tensor2d(w, [p, p]));
    const s = layer.structure();
    expect(s.spectralNorm).toBeCloseTo(0.5, 2);
    expect(s.contractionRescales).toBeGreaterThan(0);
  });

  it('a re-partition reports the mask and spectral norm of the graph it installs, rescaled or not', () => {
    const p = 12;
    const density = 0.3;
    const r = new Random(5);
    for (const scale of [0.05, 3]) {
      // scale 0.05: within the bound (no projection); 3: projected onto it
      const w = Float32Array.from({ length: p * p }, () => scale * (r.next() - 0.5));
      const layer = nm.layers.neuralModule({ units: p, density, graphConstraint: nm.constraints.contractive({ bound: 0.8 }) });
      layer.build([null, 2]);
      setKernelAndGraph(layer, tf.ones([2, p]), tf.tensor2d(w, [p, p]));
      const s = layer.repartition();
      const installed = layer.graphValues();
      const edges = layer.edges();
      const ref = graph.magnitudeMask(installed, p, density, 'graph');
      expect(Array.from(edges.mask), `scale ${scale}`).toEqual(Array.from(ref.mask));
      expect(s.spectralNorm, `scale ${scale}`).toBe(graph.spectralNormEstimate(installed, ref));
      expect(s.spectralNorm, `scale ${scale}`).toBeLessThanOrEqual(0.8 + 1e-6);
      expect(s.contractionRescales > 0, `scale ${scale}`).toBe(scale === 3);
    }
  });
});

describe('non-convergence warnings', () => {
  beforeAll(async () => useBackend('cpu'));

  it('are shown again at every fit, forward and backward separately, with advice for the method in use', async () => {
    const { x, y } = data(32, 6);
    const model = classifier({ solver: { method: 'anderson', tol: 1e-12, maxIter: 2 } });
    const warns: string[] = [];
    const orig = console.warn;
    console.warn = (m: string) => warns.push(m);
    try {
      for (let i = 0; i < 3; i++) await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0 });
      model.predict(x);
      model.predict(x);
    } finally {
      console.warn = orig;
    }
    const fwdFit = warns.filter((w) => /forward solve did not converge/.test(w) && /once per fit call/.test(w));
    const bwdFit = warns.filter((w) => /backward solve did not converge/.test(w) && /once per fit call/.test(w));
    expect(fwdFit).toHaveLength(3);
    expect(bwdFit).toHaveLength(3);
    expect(warns.filter((w) => /\(predict\)/.test(w))).toHaveLength(1);
    expect(warns[0]).toMatch(/Raise maxIter \(2\)/);
    expect(warns[0]).not.toMatch(/Use solver 'anderson'/);
    model.dispose();
  });
});

describe('the residual of a row whose norms overflow float32 is non-finite, never 0', () => {
  beforeAll(async () => useBackend('cpu'));

  it('tensor and host row residuals: a small step on huge values is NaN; a NaN row is NaN; a normal row is its ratio', async () => {
    const { tensorRowResiduals } = await import('../src/solvers/tensor_state.js');
    const { hostRowResiduals } = await import('../src/solvers/host_types.js');
    const { sparseKernels } = await import('../src/kernels/index.js');
    const { blocked } = await import('../src/kernels/blocked.js');
    // Rows: x ~ 1e20 with a residual of 1 (the old batch rule read 0 here); a NaN; an ordinary row.
    const x = [
      [1e20, -1e20, 1e20],
      [NaN, 1, 1],
      [3, 4, 0],
    ];
    const r = [
      [1, 0, 0],
      [0, 0, 0],
      [0.3, 0.4, 0],
    ];
    const out = new Float64Array(3);
    tensorRowResiduals(tf.tensor2d(r), tf.tensor2d(x), out);
    expect(Number.isNaN(out[0]) && Number.isNaN(out[1])).toBe(true);
    expect(out[2]).toBeCloseTo(0.5 / (5 + 1e-8), 6);
    const k = sparseKernels();
    k.arena.reset(1 << 12);
    const nodeMajor = (rows: number[][]) => {
      const a = k.arena.f32(9);
      for (let b = 0; b < 3; b++) for (let j = 0; j < 3; j++) a[j * 3 + b] = rows[b][j];
      return a;
    };
    const ra = nodeMajor(r);
    const xa = nodeMajor(x);
    const small = [k.arena.f32(3), k.arena.f32(3)];
    const hostOut = new Float64Array(3);
    hostRowResiduals({ kernels: blocked(k, 3, 3), n: 3, batch: 3, arrays: [], small }, ra, xa, hostOut);
    expect(Number.isNaN(hostOut[0]) && Number.isNaN(hostOut[1])).toBe(true);
    expect(hostOut[2]).toBeCloseTo(0.5 / (5 + 1e-8), 6);
  });
});
