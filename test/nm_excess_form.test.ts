/**
 * The NM regularizer's excess form (docs/STRUCTURE.md, DESIGN §2) and the default α:
 * coefficients of the 10-node hand graph written out by hand, multipliers,
 * validation, serialization.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { useBackend } from './helpers/backends.js';
import { MODULE_SIZE, P, handGraph, handLayer } from './helpers/nm_hand_graph.js';

const ALPHA = 0.3;

/**
 * B = max(0, s − t) of the hand graph (modules {0,1,2}, {3}, {4,5}, {6}, {7,8}, {9};
 * edges 0→1→2→0, 2→3→4, 4⇄5, 6→0, 7⇄8, 5→9), worked out by hand. An edge j→k
 * counts when k reaches j; s = z_k inside a module, z_j + z_k across modules.
 * Reachability: {0,1,2} → 3, 4, 5, 9; 3 → 4, 5, 9; {4,5} → 9; 6 → everything but
 * 7, 8; 7 ⇄ 8 only.
 */
function handExcess(t: number): Map<string, number> {
  const b = new Map<string, number>();
  const put = (j: number, k: number, s: number) => {
    if (s > t) b.set(`${j},${k}`, s - t);
  };
  for (const j of [0, 1, 2]) for (const k of [0, 1, 2]) if (j !== k) put(j, k, 3); // inside {0,1,2}
  put(4, 5, 2); // inside {4,5}
  put(5, 4, 2);
  put(7, 8, 2); // inside {7,8}
  put(8, 7, 2);
  for (const k of [0, 1, 2]) {
    put(3, k, 4); // 3 → {0,1,2}: 1 + 3
    put(4, k, 5); // {4,5} → {0,1,2}: 2 + 3
    put(5, k, 5);
    put(9, k, 4); // 9 → {0,1,2}: 1 + 3
    put(k, 6, 4); // {0,1,2} → 6: 3 + 1
  }
  put(4, 3, 3); // {4,5} → 3: 2 + 1
  put(5, 3, 3);
  put(9, 3, 2); // 1 + 1
  put(9, 4, 3); // 9 → {4,5}: 1 + 2
  put(9, 5, 3);
  put(3, 6, 2); // 1 + 1
  put(4, 6, 3); // 2 + 1
  put(5, 6, 3);
  put(9, 6, 2);
  return b;
}

function expectCoefficients(c: Float32Array, t: number, scale: number, mu: (j: number, k: number) => number = () => 1) {
  const ref = handExcess(t);
  for (let j = 0; j < P; j++) {
    for (let k = 0; k < P; k++) {
      const want = scale * (ref.get(`${j},${k}`) ?? 0) * mu(j, k);
      expect(c[j * P + k], `C[${j},${k}] (t = ${t})`).toBeCloseTo(want, 6);
    }
  }
}

describe('nm regularizer, excess form', () => {
  beforeAll(async () => useBackend('cpu'));

  it('targetSize 2: C = α·max(0, s − t) on cycle-closing edges, 0 on feed-forward edges and the diagonal', () => {
    const reg = nm.regularizers.nm({ alpha: ALPHA, form: 'excess', targetSize: 2 });
    handLayer({ graphRegularizer: reg });
    expect(Array.from(reg.moduleSizes()!)).toEqual(MODULE_SIZE);
    const c = reg.coefficients()!;
    expectCoefficients(c, 2, ALPHA);
    // Spot checks of the hand table: an internal edge of the 3-module, a cross edge that
    // would merge {4,5} with {0,1,2}, and a feed-forward edge.
    expect(c[1 * P + 0]).toBeCloseTo(ALPHA * 1, 6);
    expect(c[4 * P + 0]).toBeCloseTo(ALPHA * 3, 6);
    expect(c[0 * P + 4]).toBe(0);
    // The penalty is Σ C·|W| with those coefficients.
    const w = handGraph();
    let ref = 0;
    for (let i = 0; i < P * P; i++) ref += c[i] * Math.abs(w[i]);
    expect(reg.apply(tf.tensor2d(Float32Array.from(w), [P, P])).dataSync()[0]).toBeCloseTo(ref, 4);
  });

  it('default targetSize ⌈√p⌉ = 4: only merges beyond 4 nodes cost', () => {
    const reg = nm.regularizers.nm({ alpha: ALPHA, form: 'excess' });
    handLayer({ graphRegularizer: reg });
    const c = reg.coefficients()!;
    expectCoefficients(c, 4, ALPHA);
    const nonZero = Array.from(c).filter((v) => v !== 0).length;
    expect(nonZero).toBe(6); // {4,5} → {0,1,2}: 2 + 3 = 5 > 4
    expect(reg.getConfig()).toEqual({ alpha: ALPHA, form: 'excess', norm: 'l1', targetSize: null, proximal: false });
  });

  it('per-node multipliers scale edge j→k by max(m_j, m_k)', () => {
    const reg = nm.regularizers.nm({ alpha: ALPHA, form: 'excess', targetSize: 2 });
    handLayer({ graphRegularizer: reg });
    const m = Array.from({ length: P }, (_, i) => 1 + i / 4);
    reg.setNodeMultipliers(m);
    expectCoefficients(reg.coefficients()!, 2, ALPHA, (j, k) => Math.max(m[j], m[k]));
  });

  it('validates targetSize with a ConfigError naming the argument, value and expectation', () => {
    expect(() => nm.regularizers.nm({ form: 'excess', targetSize: 0 })).toThrow(/nm regularizer: 'targetSize' must be an integer >= 1; received 0/);
    expect(() => nm.regularizers.nm({ form: 'excess', targetSize: 2.5 })).toThrow(/'targetSize' must be an integer >= 1; received 2.5/);
    expect(() => nm.regularizers.nm({ form: 'repulsion', targetSize: 3 })).toThrow(
      /'targetSize' must be unset unless form is 'excess'; received 3\. It only applies to form: 'excess' \(form is 'repulsion'\)/,
    );
    expect(() => nm.regularizers.nm({ form: 'excess', targetSize: -1 })).toThrow(nm.ConfigError);
    expect(nm.regularizers.nm({ form: 'excess', targetSize: 3 }).targetSize).toBe(3);
  });

  it('every argument is optional: α = NM_DEFAULT_ALPHA = 1e-2, the excess form, l1, t = ⌈√p⌉', () => {
    const reg = nm.regularizers.nm();
    expect(reg.getConfig()).toEqual({ alpha: 1e-2, form: 'excess', norm: 'l1', targetSize: null, proximal: false });
    expect(reg.alpha).toBe(nm.regularizers.NM_DEFAULT_ALPHA);
    expect(nm.regularizers.NM_DEFAULT_ALPHA).toBe(1e-2);
    expect(reg.getConfig()).toMatchObject({ alpha: 1e-2 });
    expect(nm.regularizers.nm({}).alpha).toBe(1e-2);
    expect(() => nm.regularizers.nm({ alpha: null as never })).toThrow(/'alpha' must be a finite number in \[0, inf\); received null/);
  });

  it('getConfig / fromConfig round trip keeps form and targetSize', () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    const reg = nm.regularizers.nm({ alpha: 0.02, form: 'excess', norm: 'l2', targetSize: 6 });
    const [cls, fromConfig] = map[reg.getClassName()];
    const back = fromConfig(cls, JSON.parse(JSON.stringify(reg.getConfig()))) as nm.regularizers.NMRegularizer;
    expect(back.getConfig()).toEqual({ alpha: 0.02, form: 'excess', norm: 'l2', targetSize: 6, proximal: false });
    expect(back.targetSize).toBe(6);
    // A config saved before targetSize existed still loads.
    const old = fromConfig(cls, { alpha: 0.1, form: 'size', norm: 'l1' }) as nm.regularizers.NMRegularizer;
    expect(old.getConfig()).toEqual({ alpha: 0.1, form: 'size', norm: 'l1', targetSize: null, proximal: false });
  });

  afterAll(() => tf.disposeVariables());
});
