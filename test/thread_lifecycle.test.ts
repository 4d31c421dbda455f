/**
 * The kernel threads' lifecycle: a Node script that trains on them exits by itself; a
 * worker that ends is reported at once (never a long wait in Atomics); a disposed
 * optimizer's memory is let go by the workers; setThreads names a bad count as it is.
 */
import * as tf from '@tensorflow/tfjs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as nm from '../src/index.js';
import { arenaBytes, createWasmKernels, sparseWasmBytes, useKernelTeam } from '../src/kernels/index.js';
import { gemmWasmBytes } from '../src/kernels/gemm.js';
import { currentTeam } from '../src/kernels/threads/current.js';
import { KernelTeam } from '../src/kernels/threads/team.js';
import { kernelWorkerSource } from '../src/kernels/threads/worker_source.js';
import { useBackend } from './helpers/backends.js';
import { EXIT_LIMIT_MS, exitOf } from './helpers/exit_of.js';

const ROOT = resolve(import.meta.dirname, '..');

describe('a Node script that trains on 2 kernel threads and does nothing else', () => {
  it(
    'exits by itself with code 0',
    async () => {
      const { code, out } = await exitOf(['--import', 'tsx', join(ROOT, 'test/helpers/train_with_threads.ts')], ROOT);
      expect(out).toMatch(/trained on 2 threads/);
      expect(code, `exit code (null: still running after ${EXIT_LIMIT_MS} ms, killed)\n${out}`).toBe(0);
    },
    EXIT_LIMIT_MS + 30_000,
  );
});

/**
 * Runs in each worker before its script: wraps the kernel instances so that `tanh` of
 * length 77 marks int 0 of the memory and ends the thread with code 7 (mid-chunk), and
 * attaching a memory of exactly 3 pages ends it with code 9 (mid-attach).
 */
const DYING_WORKER = `'use strict';
const RealInstance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  const memory = imports.env.memory;
  if (memory.buffer.byteLength === 3 * 65536) process.exit(9);
  const exports = Object.assign({}, new RealInstance(module, imports).exports);
  const tanh = exports.tanh;
  if (typeof tanh === 'function') {
    exports.tanh = (x, out, n) => {
      if (n === 77) {
        const flag = new Int32Array(memory.buffer);
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
        process.exit(7);
      }
      return tanh(x, out, n);
    };
  }
  return { exports };
};
`;

const sparseModule = new WebAssembly.Module(sparseWasmBytes('shared'));
const gemmModule = new WebAssembly.Module(gemmWasmBytes('shared'));

/** A shared memory of `pages` pages and the caller's tanh over it. */
function callerKernels(pages: number) {
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 4, shared: true });
  const local = new WebAssembly.Instance(gemmModule, { env: { memory } }).exports as unknown as { tanh(x: number, o: number, n: number): void };
  return { memory, tanh: (a: number[]) => local.tanh(a[0], a[1], a[2]) };
}

const LOST_HINT = /The workers are stopped and the kernels run on the calling thread from now on/;

describe('a kernel worker that ends is reported at once', () => {
  // The limits below are hang detectors: unnoticed, a lost worker would hold the caller for 120 s.
  it('in the middle of a chunk: that run throws, naming the exit code; the team stops and later runs use the caller', { timeout: 60_000 }, async () => {
    const team = await KernelTeam.start(2, DYING_WORKER + kernelWorkerSource());
    const { memory, tanh } = callerKernels(1);
    const id = team.attach(memory, [sparseModule, gemmModule]);
    const flag = new Int32Array(memory.buffer);
    // Both chunks have length 77: the worker ends on the one it claims. The caller runs
    // its own only once the worker has marked the memory, so the worker always takes one.
    const waitForWorker = (a: number[]) => {
      Atomics.wait(flag, 0, 0, 30_000);
      tanh(a);
    };
    const chunks = [
      [64, 1024, 77],
      [512, 2048, 77],
    ];
    let error: unknown = null;
    try {
      team.run(id, 'tanh', chunks, waitForWorker);
    } catch (e) {
      error = e;
    }
    expect(String(error)).toMatch(/a kernel worker exited with code 7 while the team was running \(noticed in 'tanh'\)/);
    expect(String(error)).toMatch(LOST_HINT);
    expect(Atomics.load(flag, 0)).toBe(1);
    expect(team.size).toBe(1);
    expect(team.lost).toMatch(/exited with code 7/);
    // From now on the caller runs every chunk itself.
    const x = new Float32Array(memory.buffer, 4096, 80).fill(0.5);
    team.run(
      id,
      'tanh',
      [
        [4096, 8192, 40],
        [4096 + 160, 8192 + 160, 40],
      ],
      tanh,
    );
    expect(Array.from(new Float32Array(memory.buffer, 8192, 80))).toEqual(Array.from(x, () => Math.fround(Math.tanh(0.5))));
    team.stop();
  });

  it('while attaching a memory: attach throws, naming the exit code', { timeout: 60_000 }, async () => {
    const team = await KernelTeam.start(2, DYING_WORKER + kernelWorkerSource());
    const { memory } = callerKernels(3);
    expect(() => team.attach(memory, [sparseModule, gemmModule])).toThrow(
      /a kernel worker exited with code 9 while the team was running \(noticed in 'attach'\)/,
    );
    expect(team.size).toBe(1);
    team.stop();
  });

  it(
    'while idle, without a word (terminated): a detach (dispose) goes on, the next run throws; setThreads then starts a new team',
    { timeout: 60_000 },
    async () => {
      const team = await KernelTeam.start(2);
      useKernelTeam(team);
      const { memory, tanh } = callerKernels(1);
      const id = team.attach(memory, [sparseModule, gemmModule]);
      const other = team.attach(callerKernels(1).memory, [sparseModule, gemmModule]);
      const chunks = [
        [0, 1024, 64],
        [256, 2048, 64],
      ];
      team.run(id, 'tanh', chunks, tanh);
      const worker = (team as unknown as { members: Array<{ worker: { terminate(): void }; exitCode: number | null }> }).members[0];
      worker.worker.terminate();
      // Its 'exit' event arrives between calls.
      await vi.waitFor(() => expect(worker.exitCode).toBe(1), { timeout: 30_000, interval: 5 });
      // Detaching runs in dispose(): it forgets the memory and leaves the report to the next run.
      expect(() => team.detach(other)).not.toThrow();
      expect(team.attachedCount).toBe(1);
      expect(() => team.run(id, 'tanh', chunks, tanh)).toThrow(/a kernel worker exited with code 1 while the team was running \(noticed in 'tanh'\)/);
      expect(() => team.run(id, 'tanh', chunks, tanh)).not.toThrow();
      expect(nm.backend.threads()).toBe(1);
      expect(await nm.backend.setThreads(2)).toBe(2);
      expect(currentTeam()).not.toBe(team);
      expect(await nm.backend.setThreads(1)).toBe(1);
      expect(currentTeam()).toBeNull();
    },
  );
});

describe('kernels.release()', () => {
  it('detaches the memory from the workers; the kernels and the team then refuse it', async () => {
    const team = await KernelTeam.start(2);
    const k = createWasmKernels({ team });
    expect(team.attachedCount).toBe(1);
    k.arena.reset(arenaBytes([64, 64]));
    const x = k.arena.f32(64).fill(0.25);
    const out = k.arena.f32(64);
    k.tanh(x, out);
    expect(out[63]).toBe(Math.fround(Math.tanh(0.25)));
    k.release();
    k.release();
    expect(team.attachedCount).toBe(0);
    expect(() => k.tanh(x, out)).toThrow(/sparse kernels: 'tanh' called after release\(\); create new kernels/);
    const { tanh } = callerKernels(1);
    expect(() =>
      team.run(
        0,
        'tanh',
        [
          [0, 1024, 64],
          [256, 2048, 64],
        ],
        tanh,
      ),
    ).toThrow(/kernel threads: instance 0 is not attached/);
    team.stop();
  });
});

describe('a disposed fused optimizer lets go of its memory in every worker (cpu backend, 2 threads)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    await nm.backend.setThreads(2);
  });
  afterAll(async () => {
    await nm.backend.setThreads(1);
  });

  it.each(['adam', 'sgd'] as const)('15 create/step/dispose cycles of nm.optimizers.%s: no memory stays attached, RSS stays bounded', (name) => {
    const team = currentTeam()!;
    // 1M weights: the optimizer's memory holds about 16 MB (state, and scratch for w and g).
    const v = tf.variable(tf.randomNormal([1000, 1000], 0, 1, 'float32', 3));
    const loss = () => tf.sum(tf.square(v)) as tf.Scalar;
    const attachedBefore = team.attachedCount;
    const rss: number[] = [];
    for (let cycle = 0; cycle < 15; cycle++) {
      const opt = name === 'adam' ? nm.optimizers.adam() : nm.optimizers.sgd({ momentum: 0.9 });
      opt.minimize(loss, false, [v]);
      expect(opt.kernelName).toBe('wasm-simd');
      expect(team.attachedCount, 'attached while the optimizer lives').toBe(attachedBefore + 1);
      opt.dispose();
      expect(team.attachedCount, `attached after dispose (cycle ${cycle})`).toBe(attachedBefore);
      rss.push(process.memoryUsage().rss);
    }
    // Kept attached, 14 more memories would add over 200 MB.
    const growthMb = (rss[14] - rss[0]) / 2 ** 20;
    console.log(`${name}: RSS growth over 14 cycles ${growthMb.toFixed(0)} MB`);
    expect(growthMb).toBeLessThan(120);
    v.dispose();
  });
});

describe('nm.backend.setThreads: a bad count is named as it is', () => {
  it.each([
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [null, 'null'],
  ])('%s', async (count, shown) => {
    await expect(nm.backend.setThreads(count as number)).rejects.toThrow(
      new RegExp(`^setThreads: 'count' must be 'auto' or an integer in \\[1, 64\\]; received ${shown}\\.$`),
    );
    await expect(nm.backend.setThreads(count as number)).rejects.toBeInstanceOf(nm.ConfigError);
  });
});
