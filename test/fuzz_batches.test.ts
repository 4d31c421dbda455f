/**
 * Seeded fuzz over batch compositions: empty batches, single rows, and batches with
 * outlier rows (scaled by 1e3 or 1e6, or all zeros). Whatever else is in the batch,
 * each row's output equals the output of that row solved alone (within the solver
 * tolerance), or the call fails with a documented error; no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { Random } from '../src/utils/random.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { expectClose } from './helpers/close.js';

const CASES_PER_BACKEND = 40;

describe.each(BACKENDS)('batch-composition fuzz on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it(`${CASES_PER_BACKEND} random batches: every row as if alone, or a documented error`, () => {
    const r = new Random(Number(process.env.NM_FUZZ_SEED ?? 0) + (backend === 'cpu' ? 303 : 404));
    const outcomes: Record<string, number> = {};
    for (let c = 0; c < CASES_PER_BACKEND; c++) {
      const p = 2 + r.int(20);
      const n = 1 + r.int(5);
      const method = (['picard', 'anderson', 'broyden', 'newton'] as const)[r.int(4)];
      const engine = (method === 'picard' || method === 'anderson') && r.next() < 0.5 ? 'host' : 'tensor';
      const activation = (['tanh', 'sigmoid', 'relu', 'elu', 'swish'] as const)[r.int(5)];
      const density = 0.05 + 0.5 * r.next();
      const batch = [0, 1, 2 + r.int(30)][r.int(3)];
      const desc = JSON.stringify({ p, n, method, engine, activation, density: +density.toFixed(3), batch });
      const before = tf.memory().numTensors;
      const seed = r.int(1 << 30);
      const layer = nm.layers.neuralModule({
        units: p,
        density,
        activation,
        engine,
        onNonConvergence: 'throw',
        solver: { method, tol: 1e-5, maxIter: 200 },
        inputInitializer: tf.initializers.glorotUniform({ seed }),
        graphInitializer: new nm.layers.ContractiveGraph({ density, seed, gain: 0.7 }),
      });
      const rows = Array.from({ length: batch }, () => {
        const kind = r.int(4);
        const scale = kind === 0 ? 1e3 : kind === 1 ? 1e6 : kind === 2 ? 0 : 1;
        return Array.from({ length: n }, () => scale * r.normal());
      });
      try {
        const out = tf.tidy(() => (layer.apply(tf.tensor2d(rows, [batch, n])) as tf.Tensor).arraySync() as number[][]);
        expect(out.length, desc).toBe(batch);
        const pick = batch === 0 ? -1 : r.int(batch);
        if (pick >= 0) {
          const alone = tf.tidy(() => (layer.apply(tf.tensor2d([rows[pick]])) as tf.Tensor).arraySync() as number[][]);
          expectClose(out[pick], alone[0], { atol: 2e-4, rtol: 2e-4 }, `${desc} row ${pick}`);
        }
        outcomes.ok = (outcomes.ok ?? 0) + 1;
      } catch (e) {
        // Saturated or unbounded activations with huge rows may not converge: that must be said, never silent.
        expect(e, desc).toSatisfy((err: unknown) => err instanceof nm.NonConvergenceError || err instanceof nm.NonFiniteError);
        outcomes[(e as Error).name] = (outcomes[(e as Error).name] ?? 0) + 1;
      }
      layer.dispose();
      expect(tf.memory().numTensors, `${desc} leaked`).toBe(before);
    }
    expect(outcomes.ok ?? 0).toBeGreaterThan(CASES_PER_BACKEND / 2);
  });
});
