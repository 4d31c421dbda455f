import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { expectClose } from './helpers/close.js';
import { MODULE_SIZE, N, P, floydWarshall, handGraph, handLayer, refRepulsion, rng, toyData } from './helpers/nm_hand_graph.js';

const ALPHA = 0.3;

/** Σ_{j≠k} c[j,k]·norm(w[j,k]) in float64. */
function refPenalty(c: ArrayLike<number>, w: ArrayLike<number>, norm: 'l1' | 'l2'): number {
  let s = 0;
  for (let j = 0; j < P; j++) for (let k = 0; k < P; k++) if (j !== k) s += c[j * P + k] * (norm === 'l1' ? Math.abs(w[j * P + k]) : w[j * P + k] ** 2);
  return s;
}

function attachedNm(args: nm.regularizers.NMRegularizerArgs) {
  const reg = nm.regularizers.nm(args);
  const layer = handLayer({ graphRegularizer: reg });
  return { reg, layer };
}

describe.each(BACKENDS)('graph regularizers on %s', (backend) => {
  beforeAll(async () => useBackend(backend));
  const w = handGraph();
  const wT = () => tf.tensor2d(Float32Array.from(w), [P, P]);
  const value = (reg: { apply(x: tf.Tensor): tf.Scalar }) => reg.apply(wT()).dataSync()[0];

  it('size form: α·Σ_k z_k·Σ_{j≠k} norm(W[j,k]) with the hand-built modules', () => {
    for (const norm of ['l1', 'l2'] as const) {
      const { reg } = attachedNm({ alpha: ALPHA, form: 'size', norm });
      expect(Array.from(reg.moduleSizes()!)).toEqual(MODULE_SIZE);
      let ref = 0;
      for (let k = 0; k < P; k++) {
        let col = 0;
        for (let j = 0; j < P; j++) if (j !== k) col += norm === 'l1' ? Math.abs(w[j * P + k]) : w[j * P + k] ** 2;
        ref += ALPHA * MODULE_SIZE[k] * col;
      }
      expect(value(reg)).toBeCloseTo(ref, 4);
    }
  });

  it('repulsion form: R from hop distances (checked entries), mean 1 over non-zeros, diagonal free', () => {
    const { reg, layer } = attachedNm({ alpha: ALPHA, form: 'repulsion', norm: 'l1' });
    const mask = layer.edges().mask;
    const R = refRepulsion(mask, MODULE_SIZE, P);
    const c = reg.coefficients()!;
    // Unnormalised values by hand: 2→0 closes 0→1→2 (D = 2): 3·3/3 = 3; 3→2 closes 2→3 (D = 1): 1·3/2 = 1.5;
    // 6→0, 5→9 and 7→0 are feed-forward (no path back): 0; 9→5 closes 5→9: 1·2/2 = 1;
    // 9→2 closes 2→3→4→5→9 (D = 4): 1·3/5.
    const d = floydWarshall(mask, P);
    expect(d[0 * P + 2]).toBe(2);
    const scale = R[2 * P + 0] / 3;
    expect(R[3 * P + 2] / scale).toBeCloseTo(1.5, 10);
    expect(R[9 * P + 5] / scale).toBeCloseTo(1, 10);
    expect(R[9 * P + 2] / scale).toBeCloseTo(3 / 5, 10);
    for (const [j, k] of [
      [6, 0],
      [5, 9],
      [7, 0],
    ])
      expect(c[j * P + k]).toBe(0);
    expect(c[0 * P + 6]).toBeGreaterThan(0); // 0→6 would close 6→0
    let nz = 0;
    let sum = 0;
    expectClose(
      c,
      Float64Array.from(R, (r) => ALPHA * r),
      { atol: 5e-6 },
      'coefficients vs α·R',
    );
    for (let i = 0; i < P * P; i++) {
      if (R[i] > 0) {
        nz++;
        sum += R[i];
      }
    }
    expect(sum / nz).toBeCloseTo(1, 10);
    for (let k = 0; k < P; k++) expect(c[k * P + k]).toBe(0);
    expect(value(reg)).toBeCloseTo(
      refPenalty(
        Float64Array.from(R, (r) => ALPHA * r),
        w,
        'l1',
      ),
      4,
    );
    const l2 = attachedNm({ alpha: ALPHA, form: 'repulsion', norm: 'l2' }).reg;
    expect(value(l2)).toBeCloseTo(
      refPenalty(
        Float64Array.from(R, (r) => ALPHA * r),
        w,
        'l2',
      ),
      5,
    );
  });

  it('per-node multipliers: m_k (size form), max(m_j, m_k) (repulsion form)', () => {
    const m = Array.from({ length: P }, (_, i) => 1 + i / 4);
    for (const form of ['size', 'repulsion'] as const) {
      const { reg, layer } = attachedNm({ alpha: ALPHA, form });
      const before = reg.coefficients()!;
      reg.setNodeMultipliers(m);
      const after = reg.coefficients()!;
      for (let j = 0; j < P; j++) {
        for (let k = 0; k < P; k++) {
          const mu = form === 'size' ? m[k] : Math.max(m[j], m[k]);
          expect(after[j * P + k]).toBeCloseTo(before[j * P + k] * mu, 5);
        }
      }
      expect(value(reg)).toBeCloseTo(refPenalty(after, w, 'l1'), 4);
      // A re-partition keeps the multipliers.
      layer.repartition();
      expect(Array.from(reg.nodeMultipliers()!)).toEqual(m);
      reg.setNodeMultipliers(null);
      expect(Array.from(reg.coefficients()!)).toEqual(Array.from(before));
    }
  });

  it('offDiagonalL1: λ·Σ_{j≠k}|W[j,k]|, diagonal free', () => {
    const reg = nm.regularizers.offDiagonalL1({ l1: 0.07 });
    let ref = 0;
    for (let j = 0; j < P; j++) for (let k = 0; k < P; k++) if (j !== k) ref += 0.07 * Math.abs(w[j * P + k]);
    expect(value(reg)).toBeCloseTo(ref, 5);
    const rect = tf.tensor2d([
      [1, -2, 3],
      [4, 5, -6],
    ]);
    expect(reg.apply(rect).dataSync()[0]).toBeCloseTo(0.07 * (2 + 3 + 4 + 6), 5);
    reg.dispose();
  });

  it('gradients match central differences (coefficients held fixed)', () => {
    const regs: Array<[string, { apply(x: tf.Tensor): tf.Scalar }]> = [
      ['size l1', attachedNm({ alpha: ALPHA, form: 'size', norm: 'l1' }).reg],
      ['repulsion l1', attachedNm({ alpha: ALPHA, form: 'repulsion', norm: 'l1' }).reg],
      ['repulsion l2', attachedNm({ alpha: ALPHA, form: 'repulsion', norm: 'l2' }).reg],
      ['offDiagonalL1', nm.regularizers.offDiagonalL1({ l1: 0.07 })],
    ];
    // Keep every entry away from 0 so |·| is smooth within ±eps.
    const rand = rng(5);
    const w0 = Float64Array.from(w, (v) => (Math.abs(v) < 0.05 ? Math.sign(v || 1) * (0.05 + 0.05 * Math.abs(rand())) : v));
    const eps = 1e-2;
    for (const [name, reg] of regs) {
      const g = tf
        .grad((x: tf.Tensor) => reg.apply(x))(tf.tensor2d(Float32Array.from(w0), [P, P]))
        .dataSync();
      const f = (ww: Float64Array) => reg.apply(tf.tensor2d(Float32Array.from(ww), [P, P])).dataSync()[0];
      const fd = new Float64Array(P * P);
      for (let i = 0; i < P * P; i++) {
        const wp = w0.slice();
        wp[i] += eps;
        const wm = w0.slice();
        wm[i] -= eps;
        fd[i] = (f(wp) - f(wm)) / (2 * eps);
        if (Math.floor(i / P) === i % P) expect(Math.abs(g[i]), `${name} diagonal ${i}`).toBe(0);
      }
      expectClose(g, fd, { atol: 2e-3, rtol: 2e-3 }, `${name}: gradient vs finite differences`);
    }
  });

  it('getConfig / fromConfig round trip', () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    for (const reg of [nm.regularizers.nm({ alpha: 0.02, form: 'size', norm: 'l2' }), nm.regularizers.offDiagonalL1({ l1: 0.004 })]) {
      const [cls, fromConfig] = map[reg.getClassName()];
      const back = fromConfig(cls, reg.getConfig()) as tf.serialization.Serializable;
      expect(back.getClassName()).toBe(reg.getClassName());
      expect(back.getConfig()).toEqual(reg.getConfig());
    }
    expect(nm.regularizers.nm({ alpha: 0.1 }).getConfig()).toEqual({ alpha: 0.1, form: 'excess', norm: 'l1', targetSize: null, proximal: false });
  });

  it('a model with NM- and L1-regularized layers survives model.save / tf.loadLayersModel', async () => {
    for (const graphRegularizer of [nm.regularizers.nm({ alpha: 0.01, form: 'repulsion', norm: 'l2' }), nm.regularizers.offDiagonalL1({ l1: 0.003 })]) {
      const model = tf.sequential();
      model.add(nm.layers.neuralModule({ inputShape: [N], units: 12, density: 0.1, graphRegularizer }));
      model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
      model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
      const { x, y } = toyData(16, N, 3);
      await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0, callbacks: [nm.callbacks.modulePartition()] });
      let artifacts: tf.io.ModelArtifacts | undefined;
      await model.save(
        tf.io.withSaveHandler(async (a) => {
          artifacts = a;
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
      const before = (model.predict(x) as tf.Tensor).dataSync();
      const after = (loaded.predict(x) as tf.Tensor).dataSync();
      expectClose(after, before, { atol: 5e-7 }, 'predictions after save/load');
      const reg = (loaded.layers[0] as nm.layers.NeuralModuleLayer).options.graphRegularizer!;
      expect(reg.getClassName()).toBe(graphRegularizer.getClassName());
      expect(reg.getConfig()).toEqual(graphRegularizer.getConfig());
      if (reg instanceof nm.regularizers.NMRegularizer) expect(reg.attachedTo()).toBe(loaded.layers[0].name);
      // The loaded regularizer works in training.
      loaded.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
      const h = await loaded.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 });
      expect(Number.isFinite(h.history.loss[0] as number)).toBe(true);
    }
  });

  it('tensor count is unchanged across a training epoch (nm + partition + α schedule + L1)', async () => {
    const model = tf.sequential();
    model.add(nm.layers.neuralModule({ inputShape: [N], units: 12, density: 0.1, graphRegularizer: nm.regularizers.nm({ alpha: 0.01 }) }));
    model.add(nm.layers.neuralModule({ units: 8, density: 0.1, graphRegularizer: nm.regularizers.offDiagonalL1({ l1: 0.01 }) }));
    model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const { x, y } = toyData(32, N, 4);
    const callbacks = [nm.callbacks.modulePartition({ every: 'batch' }), nm.callbacks.nmAlphaSchedule({ targetSize: 2 }), nm.callbacks.structureLogger()];
    await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0, callbacks }); // warm-up: optimizer slots, cached masks
    const before = tf.memory().numTensors;
    await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, callbacks });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad arguments and misuse with messages that name the problem', () => {
    expect(() => nm.regularizers.nm({ alpha: -1 })).toThrow(/nm regularizer: 'alpha' must be a finite number in \[0, inf\); received -1/);
    expect(() => nm.regularizers.nm({ alpha: 'big' as never })).toThrow(/'alpha' must be a finite number in \[0, inf\); received "big"/);
    expect(() => nm.regularizers.nm({ alpha: 1, form: 'big' as never })).toThrow(/'form' must be one of 'size', 'repulsion', 'excess'; received "big"/);
    expect(() => nm.regularizers.nm({ alpha: 1, norm: 'l3' as never })).toThrow(/'norm' must be one of 'l1', 'l2'; received "l3"/);
    expect(() => nm.regularizers.nm({ alpha: 1, alhpa: 2 } as never)).toThrow(/unknown option 'alhpa'/);
    expect(() => nm.regularizers.offDiagonalL1({ l1: NaN })).toThrow(/offDiagonalL1: 'l1' must be a finite number in \[0, inf\); received NaN/);
    expect(() => nm.regularizers.offDiagonalL1({ l1: 1 }).apply(tf.zeros([3]))).toThrow(/must have rank 2; received shape \[3\]/);
    const loose = nm.regularizers.nm({ alpha: 1, form: 'repulsion' });
    expect(() => loose.apply(tf.zeros([3, 3]))).toThrow(/no partition yet.*graphRegularizer of a NeuralModule layer.*setPartition/);
    expect(() => loose.setNodeMultipliers([1])).toThrow(/needs a partition first/);
    loose.setPartition({ p: 3, rowPtr: Int32Array.of(0, 1, 2, 3), colIdx: Int32Array.of(1, 2, 0), modules: [[0, 1, 2]] });
    expect(loose.apply(tf.ones([3, 3])).dataSync()[0]).toBeCloseTo(6, 5); // R mean 1 over the 6 off-diagonal entries
    expect(() => loose.apply(tf.zeros([4, 4]))).toThrow(/must be the 3 × 3 graph of its partition; received shape \[4, 4\]/);
    expect(() => loose.setNodeMultipliers([1, 2])).toThrow(/'multipliers' must be an array of 3 numbers/);
    expect(() => loose.setNodeMultipliers([1, -2, 1])).toThrow(/'multipliers\[1\]' must be a finite number in \[0, inf\); received -2/);
    expect(() => loose.setPartition({ p: 3, rowPtr: Int32Array.of(0, 0, 0, 0), colIdx: new Int32Array(0), modules: [[0, 1]] })).toThrow(
      /node 2 is in no module/,
    );
    const shared = nm.regularizers.nm({ alpha: 1 });
    handLayer({ graphRegularizer: shared, name: 'first_nm' });
    expect(() => handLayer({ graphRegularizer: shared, name: 'second_nm' })).toThrow(/already regularizes layer 'first_nm'.*one nm\(\) regularizer per layer/);
  });

  afterAll(() => tf.disposeVariables());
});
