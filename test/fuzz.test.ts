/**
 * Seeded fuzz over random valid configurations: each either trains a few steps with
 * a finite loss and gradients that match central differences of the float64
 * reference on a sample of entries, or fails with one of the documented errors.
 * Every loop is bounded by maxIter; no tensor may leak on a clean run.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { type Act, refForward, refMask } from './helpers/reference.js';
import * as solvers from '../src/solvers/index.js';
import { Random } from '../src/utils/random.js';
import { expectClose } from './helpers/close.js';

const CONFIGS_PER_BACKEND = 60;

describe.each(BACKENDS)('fuzz on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it(`${CONFIGS_PER_BACKEND} random configs train or fail with a documented error`, async () => {
    const r = new Random(Number(process.env.NM_FUZZ_SEED ?? 0) + (backend === 'cpu' ? 101 : 202));
    const outcomes: string[] = [];
    for (let c = 0; c < CONFIGS_PER_BACKEND; c++) {
      const p = 1 + r.int(24);
      const n = 1 + r.int(6);
      const batch = r.next() < 0.3 ? 1 : 2 + r.int(12);
      const density = Math.max(0.01, r.next());
      const topology = r.next() < 0.3 ? 'dag' : 'graph';
      const method = solvers.SOLVER_NAMES[r.int(4)];
      const activation = (['tanh', 'sigmoid', 'softplus', 'linear', 'relu'] as const)[r.int(5)];
      const scale = [0.1, 1, 100][r.int(3)];
      const onNonConvergence = r.next() < 0.5 ? 'throw' : 'ignore';
      const engine = (method === 'picard' || method === 'anderson') && r.next() < 0.5 ? 'host' : 'tensor';
      let threw = false;
      const desc = JSON.stringify({ p, n, batch, density: +density.toFixed(3), topology, method, engine, activation, scale, onNonConvergence });
      const before = tf.memory().numTensors;
      const model = tf.sequential();
      const seed = r.int(1 << 30);
      const layer = nm.layers.neuralModule({
        inputShape: [n],
        units: p,
        density,
        topology,
        activation,
        onNonConvergence,
        engine,
        solver: { method, tol: 1e-6, maxIter: 60 },
        inputInitializer: tf.initializers.glorotUniform({ seed }),
        graphInitializer: new nm.layers.ContractiveGraph({ density, topology, seed }),
      });
      model.add(layer);
      model.add(tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
      // Absolute error keeps SGD steps bounded for inputs of scale 100 with a linear activation.
      model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanAbsoluteError' });
      const xs = Array.from({ length: batch }, () => Array.from({ length: n }, () => scale * r.normal()));
      const x = tf.tensor2d(xs);
      const y = tf.tensor2d(xs.map((row) => [Math.tanh(row[0])]));
      try {
        const h = await model.fit(x, y, {
          epochs: 2,
          batchSize: batch,
          shuffle: false,
          verbose: 0,
          callbacks: [nm.callbacks.modulePartition({ every: 'batch' })],
        });
        const loss = h.history.loss as number[];
        expect(loss.every(Number.isFinite), desc).toBe(true);
        // Gradient of Σ h·R w.r.t. a sample of graph entries vs central differences of the reference.
        const stats = layer.solverStats().forward;
        const w = Float64Array.from(layer.getWeights()[1].dataSync());
        const kernel = Float64Array.from(layer.getWeights()[0].dataSync());
        const mask = refMask(w, p, density, topology);
        const R = xs.map(() => Array.from({ length: p }, () => r.normal()));
        const rT = tf.tensor2d(R);
        const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, rT)) as tf.Scalar);
        const gW = grads[layer.weights[1].name].dataSync();
        tf.dispose([rT, value, ...Object.values(grads)]);
        let ref: ((aa: Float64Array, ww: Float64Array) => number) | null = null;
        const a0 = Float64Array.from(w, (v, i) => (mask[i] ? v : 0));
        try {
          ref = (aa, ww) =>
            refForward(xs, kernel, ww, mask, p, activation as Act, aa).reduce((s, row, b) => s + row.reduce((t, v, k) => t + v * R[b][k], 0), 0);
          ref(a0, w);
        } catch {
          ref = null; // the float64 reference itself did not converge (e.g. relu kinks); values are still finite
        }
        const smooth = activation !== 'relu' && scale < 100;
        if (ref && stats.converged && smooth) {
          const eps = 1e-6;
          for (let s = 0; s < 6; s++) {
            const j = r.int(p);
            const k = r.int(p);
            const onDiag = j === k;
            if (topology === 'dag' && k < j) continue;
            const plus = onDiag ? [a0, w.map((v, i) => (i === j * p + k ? v + eps : v))] : [a0.map((v, i) => (i === j * p + k ? v + eps : v)), w];
            const minus = onDiag ? [a0, w.map((v, i) => (i === j * p + k ? v - eps : v))] : [a0.map((v, i) => (i === j * p + k ? v - eps : v)), w];
            const fd = (ref(plus[0], plus[1]) - ref(minus[0], minus[1])) / (2 * eps);
            expectClose([gW[j * p + k]], [fd], { atol: 5e-3, rtol: 5e-3 }, `${desc} entry ${j},${k}`);
          }
          outcomes.push('trained+checked');
        } else {
          outcomes.push('trained');
        }
      } catch (e) {
        const ok = e instanceof nm.NonConvergenceError || e instanceof nm.NonFiniteError;
        if (!ok) throw new Error(`${desc}: undocumented failure ${(e as Error).stack}`);
        expect((e as Error).message).toMatch(/NeuralModule '.*': /);
        outcomes.push((e as Error).name);
        threw = true;
      }
      tf.dispose([x, y]);
      model.optimizer.dispose(); // SGD keeps its learning-rate scalar
      model.dispose();
      // tfjs itself leaks the tape's saved tensors when any op throws inside
      // variableGrads (reproduced with plain tfjs ops), so only clean runs are counted.
      if (!threw) expect(tf.memory().numTensors, desc).toBe(before);
    }
    const count = (k: string) => outcomes.filter((o) => o === k).length;
    console.info(
      `fuzz ${backend}: ${count('trained+checked')} trained + gradient-checked, ${count('trained')} trained, ${count('NonConvergenceError')} non-convergence errors, ${count('NonFiniteError')} non-finite errors`,
    );
    expect(count('trained+checked')).toBeGreaterThan(CONFIGS_PER_BACKEND / 4);
  });
});

describe('fuzz: manifest weight paths (nm.io.fileSystem)', () => {
  it('loads exactly the in-directory paths among seeded valid, .., absolute, backslash and encoded ones', async () => {
    const { mkdtemp, mkdir, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { dirname, join, relative, resolve, isAbsolute, sep } = await import('node:path');
    await useBackend('cpu');
    const r = new Random(Number(process.env.NM_FUZZ_SEED ?? 0) + 303);
    const base = await mkdtemp(join(tmpdir(), 'nm-fuzz-paths-'));
    try {
      const model = tf.sequential();
      model.add(tf.layers.dense({ inputShape: [3], units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }));
      let artifacts: tf.io.ModelArtifacts | undefined;
      await model.save(
        tf.io.withSaveHandler(async (a) => {
          artifacts = a;
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
      const bytes = Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts!.weightData!));
      const x = tf.tensor2d([[0.5, -1, 2]]);
      const expected = Array.from((model.predict(x) as tf.Tensor).dataSync());
      const seg = () => {
        const chars = 'abcdefghijklmnopqrstuvwxyz0123456789_-.%';
        let s = '';
        for (let k = 1 + r.int(8); k > 0; k--) s += chars[r.int(chars.length)];
        return s === '.' || s === '..' ? `${s}x` : s;
      };
      const nested = () => Array.from({ length: 1 + r.int(3) }, seg).join('/') + '.bin';
      const draws: Array<() => string> = [
        nested,
        () => `./${nested()}`,
        () => `../${nested()}`,
        () => `${seg()}/../../${nested()}`,
        () => `${seg()}/../${nested()}`,
        () => `/${nested()}`,
        () => `${join(base, 'outside', nested())}`,
        () => `..\\${seg()}.bin`,
        () => `${seg()}\\${seg()}.bin`,
        () => `C:\\${seg()}.bin`,
        () => `c:${seg()}.bin`,
        () => `%2e%2e%2f${seg()}.bin`,
        () => `..%2f${seg()}.bin`,
        () => `%2e%2e/${seg()}.bin`,
      ];
      const outcomes = { loaded: 0, refused: 0 };
      for (let c = 0; c < 42; c++) {
        const dir = join(base, `case${c}`, 'model');
        await mkdir(dir, { recursive: true });
        const p = draws[c < draws.length ? c : r.int(draws.length)]();
        // The oracle: a relative name, no '..' segment, no backslash or drive letter, resolving below dir.
        const target = resolve(dir, p);
        const rel = relative(dir, target);
        const inside =
          !p.includes('\\') &&
          !/^[A-Za-z]:/.test(p) &&
          !isAbsolute(p) &&
          !p.split('/').includes('..') &&
          rel !== '' &&
          rel !== '..' &&
          !rel.startsWith(`..${sep}`) &&
          !isAbsolute(rel);
        // Put the right bytes wherever the path points (inside the case directory or the temp root),
        // so that a loader that follows a refused path would succeed.
        if (target.startsWith(base) && !p.includes('\\')) {
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, bytes);
        }
        await writeFile(
          join(dir, 'model.json'),
          JSON.stringify({
            modelTopology: artifacts!.modelTopology,
            weightsManifest: [{ paths: [p], weights: artifacts!.weightSpecs }],
            format: artifacts!.format,
          }),
        );
        const out = await tf.loadLayersModel(nm.io.fileSystem(dir)).then(
          (m) => m,
          (e: Error) => e,
        );
        if (inside) {
          expect(out, p).not.toBeInstanceOf(Error);
          const m = out as tf.LayersModel;
          expect(Array.from((m.predict(x) as tf.Tensor).dataSync()), p).toEqual(expected);
          m.dispose();
          outcomes.loaded++;
        } else {
          expect(out, p).toBeInstanceOf(nm.io.ModelFileError);
          expect((out as Error).message, p).toContain(`weightsManifest[0].paths[0] of '${join(dir, 'model.json')}' is ${JSON.stringify(p)}`);
          expect((out as Error).message, p).not.toMatch(/bytes|does not exist/);
          outcomes.refused++;
        }
      }
      x.dispose();
      model.dispose();
      console.info(`fuzz paths: ${outcomes.loaded} in-directory paths loaded, ${outcomes.refused} refused`);
      expect(outcomes.loaded).toBeGreaterThan(5);
      expect(outcomes.refused).toBeGreaterThan(10);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
