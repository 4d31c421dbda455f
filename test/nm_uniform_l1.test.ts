/**
 * The NM regularizer's uniform L1 term (`l1: λ`): λ·Σ_{j≠k} |W[j,k]| on top of the
 * form's penalty, in the loss and as a second proximal soft threshold. References are
 * float64 computations from the form's own coefficients C (`coefficients()`).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { useBackend } from './helpers/backends.js';
import { P, handGraph, handLayer } from './helpers/nm_hand_graph.js';
import { proximalOffDiagonal } from '../src/regularizers/proximal.js';
import { Random } from '../src/utils/random.js';

const ALPHA = 0.3;
const LAMBDA = 0.05;

describe('nm({ l1 }): a uniform L1 term on every off-diagonal entry', () => {
  beforeAll(async () => useBackend('cpu'));
  afterAll(() => tf.disposeVariables());

  for (const norm of ['l1', 'l2'] as const) {
    it(`loss mode (${norm}): penalty = Σ C·norm(W) + λ·Σ_{j≠k} |W| (float64 reference)`, () => {
      const reg = nm.regularizers.nm({ alpha: ALPHA, form: 'excess', targetSize: 2, norm, l1: LAMBDA });
      handLayer({ graphRegularizer: reg });
      const c = reg.coefficients()!;
      const w = handGraph(1);
      let ref = 0;
      for (let j = 0; j < P; j++) {
        for (let k = 0; k < P; k++) {
          if (j === k) continue;
          const v = Math.fround(w[j * P + k]);
          ref += c[j * P + k] * (norm === 'l1' ? Math.abs(v) : v * v) + LAMBDA * Math.abs(v);
        }
      }
      const x = tf.tensor2d(Float32Array.from(w), [P, P]);
      const got = reg.apply(x);
      expect(got.dataSync()[0]).toBeCloseTo(ref, 5);
      expect(ref).toBeGreaterThan(LAMBDA * 0.3); // the λ term is not negligible here
      // Later evaluations reuse the λ tensor: no tensor is added per step, and dispose frees it.
      const held = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) reg.apply(x).dispose();
      expect(tf.memory().numTensors).toBe(held);
      tf.dispose([x, got]);
      reg.dispose();
      expect(tf.memory().numTensors).toBe(held - 2 - 2); // x, got, the coefficient and λ tensors
    });
  }

  it('proximal mode: soft threshold by η·(C + λ) off the diagonal, exact zeros counted, diagonal kept', () => {
    const reg = nm.regularizers.nm({ alpha: ALPHA, form: 'excess', targetSize: 2, proximal: true, l1: LAMBDA });
    handLayer({ graphRegularizer: reg });
    const c = reg.coefficients()!;
    const eta = 0.1;
    const before = Float32Array.from(handGraph(1));
    const w = before.slice();
    const zeroed = reg.proximalStep(w, P, eta);
    let refZeroed = 0;
    for (let i = 0; i < P * P; i++) {
      const v = before[i];
      if (i % (P + 1) === 0) {
        expect(w[i]).toBe(v);
        continue;
      }
      const a = Math.max(0, Math.abs(v) - eta * (c[i] + LAMBDA));
      if (v !== 0 && a === 0) refZeroed++;
      expect(w[i]).toBeCloseTo(Math.sign(v) * a, 6);
    }
    expect(zeroed).toBe(refZeroed);
    // an entry the form does not charge (C = 0) still shrinks, by exactly η·λ
    const weak = before.findIndex((v, i) => i % (P + 1) !== 0 && c[i] === 0 && Math.abs(v) > eta * LAMBDA);
    expect(Math.abs(w[weak])).toBeCloseTo(Math.abs(before[weak]) - eta * LAMBDA, 6);
    reg.dispose();
  });

  it("the one-pass step equals the form's step followed by the L1 step, bit for bit (both norms)", () => {
    const p = 23;
    const r = new Random(3);
    const eta = 0.5;
    // Magnitudes around the thresholds, some exact zeros, per-entry coefficients with zeros.
    const w0 = Float32Array.from({ length: p * p }, () => (r.next() < 0.1 ? 0 : (r.next() - 0.5) * 0.2));
    const c = Float32Array.from({ length: p * p }, () => (r.next() < 0.3 ? 0 : r.next() * 0.1));
    for (const norm of ['l1', 'l2'] as const) {
      const two = w0.slice();
      const zeroedTwo = proximalOffDiagonal(two, p, eta, c, norm) + proximalOffDiagonal(two, p, eta, LAMBDA, 'l1');
      const one = w0.slice();
      const zeroedOne = proximalOffDiagonal(one, p, eta, c, norm, LAMBDA);
      expect(Array.from(one), norm).toEqual(Array.from(two));
      expect(zeroedOne, norm).toBe(zeroedTwo);
      expect(zeroedOne, norm).toBeGreaterThan(0);
    }
  });

  it('defaults to 0 (the form alone), serializes, and old configs load with 0', () => {
    expect(nm.regularizers.nm().l1).toBe(0);
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    const reg = nm.regularizers.nm({ alpha: 0.1, proximal: true, l1: 0.02 });
    expect(reg.getConfig()).toEqual({ alpha: 0.1, form: 'excess', norm: 'l1', targetSize: null, proximal: true, l1: 0.02 });
    const [cls, fromConfig] = map[reg.getClassName()];
    const back = fromConfig(cls, JSON.parse(JSON.stringify(reg.getConfig()))) as nm.regularizers.NMRegularizer;
    expect(back.l1).toBe(0.02);
    const old = fromConfig(cls, { alpha: 0.1, form: 'excess', norm: 'l1', targetSize: null, proximal: true }) as nm.regularizers.NMRegularizer;
    expect(old.l1).toBe(0);
  });

  it('rejects a negative or non-numeric l1 with a ConfigError naming it', () => {
    expect(() => nm.regularizers.nm({ l1: -0.1 })).toThrow(/nm regularizer: 'l1' must be a finite number in \[0, inf\); received -0\.1/);
    expect(() => nm.regularizers.nm({ l1: 'big' as never })).toThrow(nm.ConfigError);
    expect(() => nm.regularizers.nm({ l1: NaN })).toThrow(/'l1'/);
  });
});
