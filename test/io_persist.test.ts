/**
 * Hardening of nm.io.fileSystem (issue #14, items 1–4 and 9): manifest paths stay
 * inside the model directory, journals never shadow newer or foreign files, loads
 * that overlap saves see the old or the new model, a missing weightsManifest is an
 * error, and an unregistered layer class comes with the fix.
 */
import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { link, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/node.js';
import { ModelFileError, fileSystem } from '../src/io/index.js';
import { useBackend } from './helpers/backends.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const INPUT = [
  [0.1, -0.2, 0.3, 0.4, -0.5, 0.6],
  [1.5, 0.25, -1.0, 0.0, 2.0, -0.75],
];

let root: string;
beforeAll(async () => {
  await useBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'nm-persist-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
const freshDir = () => join(root, `m${counter++}`);

/** The models of test/helpers/save_loop.ts (same seeds, same weights). */
function loopModel(units: number, seed = 0): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [6], units, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + units }) }));
  m.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + units + 1 }) }));
  return m;
}

function makeModel(seed: number): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [6], units: 5, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  model.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  return model;
}

const predict = (model: tf.LayersModel) => Array.from((model.predict(tf.tensor2d(INPUT)) as tf.Tensor).dataSync());

async function artifactsOf(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return captured!;
}

/** Writes `model` the way tfjs-node's file:// handler does: plain writeFile of both files, no journal. */
async function writeLikeTfjsNode(dir: string, model: tf.LayersModel, paths = ['weights.bin']): Promise<void> {
  const a = await artifactsOf(model);
  await writeFile(join(dir, paths[0]), Buffer.from(tf.io.CompositeArrayBuffer.join(a.weightData!)));
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths, weights: a.weightSpecs }],
      format: a.format,
      generatedBy: a.generatedBy,
      convertedBy: a.convertedBy,
    }),
  );
}

async function loadOutcome(dir: string): Promise<tf.LayersModel | Error> {
  return tf.loadLayersModel(fileSystem(dir)).then(
    (m) => m,
    (e: Error) => e,
  );
}

describe('item 1: weight paths stay inside the model directory', () => {
  it('refuses .., absolute, backslash and symlinked paths without telling anything about the target', async () => {
    const base = freshDir();
    const dir = join(base, 'model');
    await mkdir(dir, { recursive: true });
    const model = makeModel(1);
    const a = await artifactsOf(model);
    const bytes = Buffer.from(tf.io.CompositeArrayBuffer.join(a.weightData!));
    await writeFile(join(base, 'private.bin'), bytes); // outside, exactly the right size
    await symlink(join(base, 'private.bin'), join(dir, 'link.bin'));
    const cases = [
      '../private.bin',
      '../../etc/shadow',
      join(base, 'private.bin'),
      '/etc/shadow',
      'sub/../../private.bin',
      '..\\private.bin',
      'C:\\private.bin',
      'link.bin',
      './../private.bin',
    ];
    for (const p of cases) {
      await writeLikeTfjsNode(dir, model, ['weights.bin']);
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      json.weightsManifest[0].paths = [p];
      await writeFile(join(dir, 'model.json'), JSON.stringify(json));
      const out = await loadOutcome(dir);
      expect(out, p).toBeInstanceOf(ModelFileError);
      const msg = (out as Error).message;
      expect(msg, p).toContain('weightsManifest[0].paths[0]');
      expect(msg, p).toContain(JSON.stringify(p));
      expect(msg, p).toMatch(/inside the model directory/);
      expect(msg, p).not.toMatch(/bytes|does not exist|cannot be read|ENOENT|EACCES/);
      expect((out as ModelFileError).file, p).toBe(join(dir, 'model.json'));
    }
  });

  it('still loads nested in-directory paths and a model directory reached through a symlink', async () => {
    const dir = freshDir();
    await mkdir(join(dir, 'sub', 'deeper'), { recursive: true });
    const model = makeModel(2);
    await writeLikeTfjsNode(dir, model, ['sub/deeper/w.bin']);
    const loaded = await loadOutcome(dir);
    expect(loaded).not.toBeInstanceOf(Error);
    expect(predict(loaded as tf.LayersModel)).toEqual(predict(model));
    const alias = freshDir();
    await symlink(dir, alias);
    expect(predict((await loadOutcome(alias)) as tf.LayersModel)).toEqual(predict(model));
  });
});

describe('item 2: journals never shadow newer or foreign files', () => {
  it('loads model C written by another tool after a killed save of B, not A from the journal', async () => {
    const dir = freshDir();
    const modelA = makeModel(10);
    await modelA.save(fileSystem(dir));
    const crash = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/crash_save.ts'), dir], { cwd: ROOT }).then(
      () => null,
      (e: { signal?: string }) => e,
    );
    expect(crash?.signal).toBe('SIGKILL');
    expect((await readdir(dir)).some((n) => n.startsWith('weights.bin.prev-'))).toBe(true);
    const modelC = makeModel(30); // same shapes as A and B
    await writeLikeTfjsNode(dir, modelC);
    const loaded = await loadOutcome(dir);
    expect(loaded).not.toBeInstanceOf(Error);
    expect(predict(loaded as tf.LayersModel)).toEqual(predict(modelC));
    // A save over it keeps C's files as the base, and ends with the plain layout.
    const modelD = makeModel(40);
    await modelD.save(fileSystem(dir));
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expect(predict((await loadOutcome(dir)) as tf.LayersModel)).toEqual(predict(modelD));
  });
});

describe('item 2: interrupted saves of version 0.1.0 (no journal file)', () => {
  it('are recovered while nothing newer was written, and ignored once another tool wrote the files', async () => {
    const dir = freshDir();
    const modelA = makeModel(50);
    await modelA.save(fileSystem(dir));
    // The state 0.1.0 left when killed before its commit: tmp files written, prev linked, weights swapped.
    const b = await artifactsOf(makeModel(51));
    const X = '4242-legacy-x';
    await writeFile(join(dir, `weights.bin.tmp-${X}`), Buffer.from(tf.io.CompositeArrayBuffer.join(b.weightData!)));
    await writeFile(
      join(dir, `model.json.tmp-${X}`),
      JSON.stringify({
        modelTopology: b.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: b.weightSpecs }],
        format: b.format,
      }),
    );
    await link(join(dir, 'weights.bin'), join(dir, `weights.bin.prev-${X}`));
    await rename(join(dir, `weights.bin.tmp-${X}`), join(dir, 'weights.bin'));
    expect(predict((await loadOutcome(dir)) as tf.LayersModel)).toEqual(predict(modelA));

    await new Promise((done) => setTimeout(done, 20));
    const modelC = makeModel(52);
    await writeLikeTfjsNode(dir, modelC);
    expect(predict((await loadOutcome(dir)) as tf.LayersModel)).toEqual(predict(modelC));
    const modelD = makeModel(53);
    await modelD.save(fileSystem(dir));
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expect(predict((await loadOutcome(dir)) as tf.LayersModel)).toEqual(predict(modelD));
  });

  it('a journal that does not parse or names another generation is ignored', async () => {
    const dir = freshDir();
    const modelA = makeModel(60);
    await modelA.save(fileSystem(dir));
    await link(join(dir, 'weights.bin'), join(dir, 'weights.bin.prev-7-x-y'));
    await writeFile(join(dir, 'model.json.journal-7-x-y'), '{"format":"tfjs-neural-modules/save-journal","version":1,"generation":"other"');
    const modelC = makeModel(61);
    await writeLikeTfjsNode(dir, modelC);
    expect(predict((await loadOutcome(dir)) as tf.LayersModel)).toEqual(predict(modelC));
  });
});

describe('item 3: loads that overlap saves', () => {
  it('a reader sees the old or the new model, never an error, while another process saves', async () => {
    const dir = freshDir();
    const small = loopModel(5);
    const large = loopModel(40);
    await small.save(fileSystem(dir));
    const expected = [JSON.stringify(predict(small)), JSON.stringify(predict(large))];
    const writer = run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/save_loop.ts'), dir, '300'], { cwd: ROOT });
    let done = false;
    const finished = writer.then((r) => {
      done = true;
      return JSON.parse(r.stdout.trim().split('\n').pop()!);
    });
    const failures: string[] = [];
    let loads = 0;
    const deadline = Date.now() + 40_000;
    while (!done && Date.now() < deadline) {
      const out = await loadOutcome(dir);
      loads++;
      if (out instanceof Error) failures.push(out.message);
      else {
        const p = JSON.stringify(predict(out));
        if (!expected.includes(p)) failures.push(`loaded a mix of both models: ${p}`);
        out.dispose();
      }
    }
    const result = await finished;
    console.info(`loads during saves: ${failures.length} of ${loads} failed; writer saved ${result.saved}`);
    expect(result.errors).toEqual([]);
    expect(loads).toBeGreaterThan(20);
    expect(failures.slice(0, 3)).toEqual([]);
  });

  it('two concurrent writers: every save either commits or fails with a clear error, and the result loads', async () => {
    const dir = freshDir();
    await loopModel(5).save(fileSystem(dir));
    const writer = (seed: number) =>
      run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/save_loop.ts'), dir, '60', String(seed)], { cwd: ROOT }).then(
        (r) => JSON.parse(r.stdout.trim().split('\n').pop()!) as { saved: number; errors: string[] },
      );
    const [w1, w2] = await Promise.all([writer(100), writer(200)]);
    const errors = [...w1.errors, ...w2.errors];
    console.info(`two writers: ${w1.saved} + ${w2.saved} saved, ${errors.length} refused`);
    for (const e of errors) expect(e).toMatch(/another save into '.*' is in progress/);
    expect(w1.saved + w2.saved).toBeGreaterThan(0);
    const loaded = await loadOutcome(dir);
    expect(loaded).not.toBeInstanceOf(Error);
    const candidates = [100, 200].flatMap((s) => [loopModel(5, s), loopModel(40, s)]).map((m) => JSON.stringify(predict(m)));
    expect(candidates).toContain(JSON.stringify(predict(loaded as tf.LayersModel)));
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
  });
});

describe('item 4: a model.json without weightsManifest', () => {
  it('is an error when the topology has weights, and loads when it has none', async () => {
    const dir = freshDir();
    const model = makeModel(3);
    await model.save(fileSystem(dir));
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    delete json.weightsManifest;
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    const out = await loadOutcome(dir);
    expect(out).toBeInstanceOf(ModelFileError);
    expect((out as ModelFileError).file).toBe(join(dir, 'model.json'));
    expect((out as Error).message).toMatch(/has no 'weightsManifest' but its topology has 4 weights/);

    const plain = tf.sequential();
    plain.add(tf.layers.activation({ inputShape: [6], activation: 'relu' }));
    const dir2 = freshDir();
    await plain.save(fileSystem(dir2));
    const json2 = JSON.parse(await readFile(join(dir2, 'model.json'), 'utf8'));
    delete json2.weightsManifest;
    await writeFile(join(dir2, 'model.json'), JSON.stringify(json2));
    const loaded = await loadOutcome(dir2);
    expect(loaded).not.toBeInstanceOf(Error);
    expect(predict(loaded as tf.LayersModel)).toEqual(predict(plain));
  });
});

describe('item 9: an unregistered layer class', () => {
  it('names the fix, keeping tfjs message, through nm.io.fileSystem and the file:// router', async () => {
    const dir = freshDir();
    const model = tf.sequential();
    model.add(nm.layers.neuralModule({ inputShape: [4], units: 8, density: 0.3 }));
    await model.save(fileSystem(dir));
    for (const mode of ['fs', 'router']) {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/load_io_only.ts'), mode, dir], { cwd: ROOT });
      const out = JSON.parse(stdout.trim().split('\n').pop()!);
      expect(out.error, mode).toBeDefined();
      const msg: string = out.error.message;
      expect(msg, mode).toContain('Unknown layer: NeuralModule');
      expect(msg, mode).toContain('npm ls @tensorflow/tfjs-layers');
      expect(msg, mode).toMatch(/import .*tfjs-neural-modules.* before loading/);
    }
  });
});
