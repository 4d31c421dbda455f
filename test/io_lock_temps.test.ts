/**
 * A save killed while creating its lock leaves `model.json.lock.new-<pid>-…` (the
 * lock's temporary, see src/io/save_lock.ts). The next save removes such files when
 * their owner process is dead, and never those of a live process. The kills are real
 * (a child process SIGKILLed at the two points of the lock's creation).
 */
import * as tf from '@tensorflow/tfjs';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { fileSystem } from '../src/io/index.js';
import { useBackend } from './helpers/backends.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const INPUT = [[0.1, -0.2, 0.3, 0.4, -0.5, 0.6]];

let root: string;
beforeAll(async () => {
  await useBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'nm-lock-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function makeModel(seed: number): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [6], units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  return model;
}

const predict = (model: tf.LayersModel) => tf.tidy(() => Array.from((model.predict(tf.tensor2d(INPUT)) as tf.Tensor).dataSync()));

/** Runs test/helpers/crash_lock.ts; returns the pid of the killed child. */
async function crashWhileLocking(dir: string, when: 'before-link' | 'after-link'): Promise<number> {
  const p = run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/crash_lock.ts'), dir, when], { cwd: ROOT });
  const pid = p.child.pid!;
  const outcome = await p.then(
    () => null,
    (e: { signal?: string }) => e,
  );
  expect(outcome?.signal, `child killed ${when}`).toBe('SIGKILL');
  return pid;
}

const lockTemps = async (dir: string) => (await readdir(dir)).filter((n) => n.startsWith('model.json.lock')).sort();

describe('lock temporaries of saves killed while taking the lock', () => {
  it('are removed by the next save when their process is dead; those of a live process are kept', async () => {
    const dir = join(root, 'm');
    const modelA = makeModel(1);
    await modelA.save(fileSystem(dir));

    const before = await crashWhileLocking(dir, 'before-link');
    expect(await lockTemps(dir)).toEqual([expect.stringMatching(new RegExp(`^model\\.json\\.lock\\.new-${before}-[0-9a-z]+-[0-9a-z]+$`))]);
    const after = await crashWhileLocking(dir, 'after-link');
    const left = await lockTemps(dir);
    expect(left).toHaveLength(3);
    expect(left).toContain('model.json.lock');
    expect(left.filter((n) => n.startsWith(`model.json.lock.new-${after}-`))).toHaveLength(1);

    // A live process's temporary (a save creating its lock right now), in both name forms,
    // and a dead one of version 0.1.x (no pid in the name; the body names the owner).
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
    onTestFinished(() => void sleeper.kill('SIGKILL'));
    const live = sleeper.pid!;
    const body = (pid: number) => JSON.stringify({ pid, generation: `${pid}-x-y`, since: new Date().toISOString() });
    const liveNew = `model.json.lock.new-${live}-lz0abc-1x2y3z`;
    const liveOld = 'model.json.lock.new-lz0abd-4x5y6z';
    const deadOld = 'model.json.lock.new-lz0abe-7x8y9z';
    const unknownOld = 'model.json.lock.new-lz0abf-0a0b0c'; // empty body: owner unknown
    await writeFile(join(dir, liveNew), body(live));
    await writeFile(join(dir, liveOld), body(live));
    await writeFile(join(dir, deadOld), body(before));
    await writeFile(join(dir, unknownOld), '');

    const modelB = makeModel(2);
    await modelB.save(fileSystem(dir));
    expect(await lockTemps(dir)).toEqual([liveOld, unknownOld, liveNew].sort());
    const loadedB = await tf.loadLayersModel(fileSystem(dir));
    expect(predict(loadedB)).toEqual(predict(modelB));

    // Once that process is gone, its files go with the next save.
    const exited = new Promise((done) => sleeper.once('exit', done));
    sleeper.kill('SIGKILL');
    await exited;
    const modelC = makeModel(3);
    await modelC.save(fileSystem(dir));
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['model.json', 'weights.bin']));
    expect(await lockTemps(dir)).toEqual([unknownOld]);
    const loadedC = await tf.loadLayersModel(fileSystem(dir));
    expect(predict(loadedC)).toEqual(predict(modelC));
    for (const m of [loadedB, loadedC, modelA, modelB, modelC]) m.dispose();
  });
});
