/**
 * The non-convergence message of a layer whose solve runs over several condensation
 * levels gives per-solve figures: the iterations and residual of the worst level's
 * solve next to `maxIter`, then the level and the iterations summed over the levels.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as nm from '../src/index.js';
import { useBackend } from './helpers/backends.js';
import { setKernelAndGraph } from './helpers/nm_weights.js';

const MAX_ITER = 20;

/**
 * Level 0: module {0, 1} (2-cycle of gain 0.3, converges); level 1: module {2, 3}
 * (2-cycle of gain 3, linear: grows without converging but stays finite for 20
 * iterations), fed by the edge 1 → 2. With `divergent` false the second module has no
 * edges (two singletons), so the layer solves level 0 alone.
 */
function twoLevelLayer(engine: 'host' | 'tensor', mode: 'throw' | 'warn', divergent: boolean) {
  const layer = nm.layers.neuralModule({
    units: 4,
    density: 0.5,
    activation: 'linear',
    engine,
    onNonConvergence: mode,
    solver: { method: 'picard', tol: 1e-4, maxIter: MAX_ITER },
    backwardSolver: { method: 'picard', tol: 1e-4, maxIter: MAX_ITER },
    // The default contraction would rescale the divergent 2-cycle this test needs.
    graphConstraint: null,
  });
  layer.build([null, 2]);
  const g = divergent ? 3 : 0;
  const kernel = tf.ones([2, 4]);
  const graph = tf.tensor2d([
    [0, 0.3, 0, 0],
    [0.3, 0, 1, 0],
    [0, 0, 0, g],
    [0, 0, g, 0],
  ]);
  setKernelAndGraph(layer, kernel, graph);
  tf.dispose([kernel, graph]);
  return layer;
}

const x = () => tf.tensor2d([[0.5, -0.25]]);

beforeAll(async () => useBackend('cpu'));
afterEach(() => vi.restoreAllMocks());
afterAll(() => tf.disposeVariables());

describe.each(['host', 'tensor'] as const)('non-convergence over several levels, %s engine', (engine) => {
  it('reports the worst level’s iterations and residual against maxIter, then the level and the total', () => {
    // Reference: the iterations level 0 takes on its own (same module, same input).
    const alone = twoLevelLayer(engine, 'throw', false);
    const input = x();
    tf.dispose(alone.apply(input) as tf.Tensor);
    const first = alone.solverStats().forward;
    expect(first.converged).toBe(true);
    expect(first.iterativeLevels).toBe(1);
    const level0 = first.iterations;
    expect(level0).toBeGreaterThan(1);
    expect(level0).toBeLessThan(MAX_ITER);

    const layer = twoLevelLayer(engine, 'throw', true);
    const s = layer.structure();
    expect(s.levels).toHaveLength(2);
    expect(s.levels[1].map((m) => s.modules[m].slice().sort())).toEqual([[2, 3]]);
    let error: unknown = null;
    try {
      layer.apply(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(nm.NonConvergenceError);
    const stats = layer.solverStats().forward;
    expect(stats).toMatchObject({ converged: false, worstLevel: 1, worstLevelIterations: MAX_ITER, iterativeLevels: 2, iterations: level0 + MAX_ITER });
    const err = error as nm.NonConvergenceError;
    expect(err.iterations).toBe(MAX_ITER);
    expect(err.residual).toBe(stats.residual);
    expect(err.message).toContain(
      `forward solve did not converge: residual ${stats.residual.toExponential(3)} > tol 0.0001 at row 0 of 1, ` +
        `after ${MAX_ITER} iterations (method 'picard', maxIter ${MAX_ITER}) in the solve of condensation level 1 (structure().levels[1]); ` +
        `2 levels were solved iteratively, ${level0 + MAX_ITER} iterations in all. `,
    );
    tf.dispose(input);
  });

  it('the backward warning reads the same way', () => {
    const layer = twoLevelLayer(engine, 'warn', true);
    const input = x();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const g = tf.grad((u: tf.Tensor) => tf.sum(layer.apply(u) as tf.Tensor))(input);
    const back = layer.solverStats().backward;
    expect(back).toMatchObject({ converged: false, worstLevel: 1, worstLevelIterations: MAX_ITER, iterativeLevels: 2 });
    const lines = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('backward solve did not converge'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `after ${MAX_ITER} iterations (method 'picard', maxIter ${MAX_ITER}) in the solve of condensation level 1 (structure().levels[1]); ` +
        `2 levels were solved iteratively, ${back.iterations} iterations in all.`,
    );
    expect(back.iterations).toBeGreaterThan(MAX_ITER);
    tf.dispose([input, g]);
  });
});
