/**
 * Kernel threads by default in Node (src/backend/default_threads.ts): a layer large
 * enough to split starts them in the background and a fit then gives the same bytes as
 * on one thread; small layers, an explicit setThreads, NM_THREADS=1 and non-Node
 * runtimes start nothing; a script that trains with no opt-in exits by itself.
 *
 * The suite runs with NM_THREADS=1 (vitest.config.ts): every test here sets its own
 * surroundings with resetDefaultThreads.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as nm from '../src/index.js';
import { defaultThreadsSettled, defaultThreadsState, offerThreads, resetDefaultThreads } from '../src/backend/default_threads.js';
import { currentTeam } from '../src/kernels/threads/current.js';
import { ConfigError } from '../src/utils/errors.js';
import { useBackend } from './helpers/backends.js';
import { EXIT_LIMIT_MS, exitOf } from './helpers/exit_of.js';

const ROOT = resolve(import.meta.dirname, '..');

/** Node with 2 cores and no NM_THREADS, plus `replace`. */
const node2 = (replace: Parameters<typeof resetDefaultThreads>[0] = {}) => resetDefaultThreads({ env: () => ({}), cores: () => 2, ...replace });

/** A seeded NM(units) → Dense(3) model with tf.train.adam (no opt-in). */
function model(units: number): tf.Sequential {
  const m = tf.sequential();
  m.add(
    nm.layers.neuralModule({
      inputShape: [6],
      units,
      density: 0.05,
      graphInitializer: new nm.layers.ContractiveGraph({ density: 0.05, seed: 3 }),
      inputInitializer: tf.initializers.glorotUniform({ seed: 4 }),
    }),
  );
  m.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }));
  m.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  return m;
}

/** One epoch at batch 96 (400 nodes: two column blocks of 48 on 2 threads) on seeded data; the loss. */
async function epoch(m: tf.Sequential, batchSize = 96): Promise<number> {
  const [x, y] = [tf.randomNormal([192, 6], 0, 1, 'float32', 6), tf.randomNormal([192, 3], 0, 1, 'float32', 7)];
  const h = await m.fit(x, y, { epochs: 1, batchSize, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
  return h.history.loss[0] as number;
}

const bytes = (m: tf.Sequential) => m.getWeights().map((t) => Buffer.from((t.dataSync() as Float32Array).slice().buffer));

afterEach(async () => {
  await defaultThreadsSettled();
  await nm.backend.setThreads(1);
  resetDefaultThreads({ env: () => ({ NM_THREADS: '1' }) });
});

describe('kernel threads by default in Node', () => {
  it.each(['cpu', 'wasm'])('%s: a large layer starts one thread per core in the background; two epochs give the bytes of setThreads(1)', async (backend) => {
    await useBackend(backend);
    node2();
    const byDefault = model(400);
    expect(defaultThreadsState()).toBe('idle');
    const losses = [await epoch(byDefault)];
    expect(defaultThreadsState()).toMatch(/starting|started/);
    await defaultThreadsSettled();
    expect(defaultThreadsState()).toBe('started');
    expect(nm.backend.threads()).toBe(2);
    const team = currentTeam()!;
    const chunks = team.chunksTotal;
    losses.push(await epoch(byDefault));
    expect(team.chunksTotal, 'kernel calls were split across the team').toBeGreaterThan(chunks);

    expect(await nm.backend.setThreads(1)).toBe(1);
    const oneThread = model(400);
    const reference = [await epoch(oneThread), await epoch(oneThread)];
    expect(losses).toEqual(reference);
    const [a, b] = [bytes(byDefault), bytes(oneThread)];
    a.forEach((w, i) => expect(w.equals(b[i]), `weight ${i}`).toBe(true));
    byDefault.dispose();
    oneThread.dispose();
  });

  it('a training loop that never yields to the event loop takes the team too; the steps give the bytes of setThreads(1)', async () => {
    await useBackend('wasm');
    node2();
    const run = (m: tf.Sequential) => {
      const opt = tf.train.adam(0.01);
      const [x, y] = [tf.randomNormal([96, 6], 0, 1, 'float32', 8), tf.randomNormal([96, 3], 0, 1, 'float32', 9)];
      const step = () => opt.minimize(() => tf.losses.meanSquaredError(y, m.apply(x) as tf.Tensor) as tf.Scalar, true)!.dataSync()[0];
      return { step, dispose: () => (tf.dispose([x, y]), opt.dispose()) };
    };
    const byDefault = model(400);
    const a = run(byDefault);
    const losses: number[] = [];
    // A hang detector, not a timing: the workers are ready long before.
    const limit = performance.now() + 60_000;
    while (nm.backend.threads() === 1 && performance.now() < limit) losses.push(a.step());
    expect(defaultThreadsState()).toBe('started');
    expect(nm.backend.threads()).toBe(2);
    const chunks = currentTeam()!.chunksTotal;
    for (let i = 0; i < 3; i++) losses.push(a.step());
    expect(currentTeam()!.chunksTotal, 'kernel calls were split across the team').toBeGreaterThan(chunks);

    await nm.backend.setThreads(1);
    const oneThread = model(400);
    const b = run(oneThread);
    const reference = losses.map(() => b.step());
    expect(losses).toEqual(reference);
    const [wa, wb] = [bytes(byDefault), bytes(oneThread)];
    wa.forEach((w, i) => expect(w.equals(wb[i]), `weight ${i}`).toBe(true));
    a.dispose();
    b.dispose();
    byDefault.dispose();
    oneThread.dispose();
  });

  it('a layer too small to split starts nothing', async () => {
    await useBackend('cpu');
    node2();
    const m = model(16);
    await epoch(m, 16);
    await defaultThreadsSettled();
    expect(defaultThreadsState()).toBe('idle');
    expect(nm.backend.threads()).toBe(1);
    expect(currentTeam()).toBeNull();
    m.dispose();
  });

  it('an explicit setThreads(1) sticks, before the first step and while the start is under way', async () => {
    await useBackend('cpu');
    node2();
    await nm.backend.setThreads(1);
    const m = model(400);
    await epoch(m);
    expect(defaultThreadsState()).toBe('off');
    expect(nm.backend.threads()).toBe(1);

    node2();
    offerThreads(() => true);
    expect(defaultThreadsState()).toBe('starting');
    await nm.backend.setThreads(1);
    await defaultThreadsSettled();
    expect(defaultThreadsState()).toBe('off');
    expect(currentTeam(), 'the team that started meanwhile was stopped, not installed').toBeNull();
    m.dispose();
  });

  it('a setThreads(n) while the start is under way keeps its own team', async () => {
    node2({ cores: () => 3 });
    offerThreads(() => true);
    expect(defaultThreadsState()).toBe('starting');
    expect(await nm.backend.setThreads(2)).toBe(2);
    const chosen = currentTeam();
    await defaultThreadsSettled();
    expect(currentTeam()).toBe(chosen);
    expect(nm.backend.threads()).toBe(2);
  });

  it('NM_THREADS: 1 turns the default off, n starts n threads, anything else is a ConfigError naming it', async () => {
    node2({ env: () => ({ NM_THREADS: '1' }) });
    offerThreads(() => true);
    expect(defaultThreadsState()).toBe('off');

    node2({ env: () => ({ NM_THREADS: ' 3 ' }) });
    let asked = 0;
    offerThreads((n) => ((asked = n), true));
    expect(asked).toBe(3);
    await defaultThreadsSettled();
    expect(nm.backend.threads()).toBe(3);
    await nm.backend.setThreads(1);

    for (const bad of ['two', '0', '65', '1.5']) {
      node2({ env: () => ({ NM_THREADS: bad }) });
      expect(() => offerThreads(() => true)).toThrow(ConfigError);
      expect(() => offerThreads(() => true)).toThrow(
        new RegExp(`environment variable NM_THREADS must be 'auto' or an integer in \\[1, 64\\].*received "${bad.replace('.', '\\.')}"`),
      );
    }
    // In a fit the error reaches the caller.
    await useBackend('cpu');
    node2({ env: () => ({ NM_THREADS: 'all' }) });
    const m = model(400);
    await expect(epoch(m)).rejects.toThrow(/NM_THREADS must be .*received "all"/);
    m.dispose();
  });

  it('outside Node, or on one core, nothing starts', () => {
    node2({ node: () => false });
    offerThreads(() => true);
    expect(defaultThreadsState()).toBe('off');
    node2({ cores: () => 1 });
    offerThreads(() => true);
    expect(defaultThreadsState()).toBe('off');
    expect(currentTeam()).toBeNull();
  });

  it('a start that fails warns once and leaves the kernels on the caller', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    node2({ start: () => ({ poll: () => null, ready: Promise.reject(new Error('no workers here')) }) });
    offerThreads(() => true);
    await defaultThreadsSettled();
    expect(defaultThreadsState()).toBe('failed');
    offerThreads(() => true);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/kernel threads could not start \(Error: no workers here\).*NM_THREADS=1/);
    expect(nm.backend.threads()).toBe(1);
    warn.mockRestore();
  });
});

describe('a Node script that trains with no opt-in', () => {
  /** This process's environment without the suite's NM_THREADS=1. */
  const env = { ...process.env };
  delete env.NM_THREADS;
  const script = join(ROOT, 'test/helpers/train_by_default.ts');

  it(
    'trains on one thread per core and exits by itself with code 0',
    async () => {
      const { code, out } = await exitOf(['--import', 'tsx', script, 'train'], ROOT, EXIT_LIMIT_MS, env);
      expect(code, `exit code (null: still running after ${EXIT_LIMIT_MS} ms, killed)\n${out}`).toBe(0);
      const cores = Math.min(64, availableParallelism());
      expect(out).toMatch(cores > 1 ? new RegExp(`trained on ${cores} threads \\(started\\)`) : /trained on 1 threads \(off\)/);
    },
    EXIT_LIMIT_MS + 30_000,
  );

  it(
    'exits by itself with code 0 when it returns while the threads are still starting',
    async () => {
      const { code, out } = await exitOf(['--import', 'tsx', script, 'start-only'], ROOT, EXIT_LIMIT_MS, env);
      expect(code, `exit code (null: still running after ${EXIT_LIMIT_MS} ms, killed)\n${out}`).toBe(0);
      expect(out).toMatch(availableParallelism() > 1 ? /returned while starting/ : /returned while off/);
    },
    EXIT_LIMIT_MS + 30_000,
  );

  it(
    'exits by itself with code 0 when a worker of the background start never gets ready (its time limit does not hold Node)',
    async () => {
      const { code, out } = await exitOf(['--import', 'tsx', script, 'never-ready'], ROOT, EXIT_LIMIT_MS, env);
      expect(code, `exit code (null: still running after ${EXIT_LIMIT_MS} ms, killed)\n${out}`).toBe(0);
      expect(out).toMatch(/returned/);
    },
    EXIT_LIMIT_MS + 30_000,
  );
});
